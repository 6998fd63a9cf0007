"""Catalog data for the storefront page tests: the shipped factories (storefront.testing)
under the names these tests use, and evenly spaced creation times."""
from __future__ import annotations

from datetime import datetime, timedelta

from storefront.testing import create_category as make_category, create_product as make_product  # noqa: F401


def spaced_times(count: int, start: datetime = datetime(2026, 1, 1)) -> list[datetime]:
    """Distinct creation times a minute apart, oldest first (whole seconds, as MariaDB keeps)."""
    return [start + timedelta(minutes=i) for i in range(count)]
