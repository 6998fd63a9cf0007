"""The one clock: naive UTC, like every timestamp column (MariaDB DATETIME has no zone)."""
from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
