"""Jobs of the SQL search backend (queue ``search``). They take ids, re-read the
catalog and are idempotent: running one twice leaves the same rows."""
from __future__ import annotations

from . import configured_backend


def follow_product_change(product_id: int, deleted: bool) -> None:
    """Bring one product's search rows in line with the catalog."""
    if deleted:
        configured_backend().remove([product_id])
    else:
        configured_backend().index([product_id])
