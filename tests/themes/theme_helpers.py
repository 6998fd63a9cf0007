"""Plain helpers for the theme tests (fixtures are in this folder's conftest.py)."""
from __future__ import annotations

import os
import re
from pathlib import Path

from storefront.config import DEFAULTS

#: The repository's own themes (default, harbour).
SHIPPED_THEMES = DEFAULTS["THEMES_PATH"][0]


def write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    # Two writes within one filesystem timestamp tick must still look like a change.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def without_csrf_token(html: str) -> str:
    """Pages differ only by their per-session CSRF token; drop it to compare two renders."""
    return re.sub(r'<meta name="csrf-token" content="[^"]*">', "", html)


class FakeClock:
    """A monotonic clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
