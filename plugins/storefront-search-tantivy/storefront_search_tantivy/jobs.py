"""Jobs of the tantivy backend — the only code that writes the index. They run on the
``search`` queue, take ids, re-read the catalog and are idempotent (delete by id, then
add what is searchable)."""
from __future__ import annotations

from . import configured_backend


def follow_product_change(product_id: int, deleted: bool) -> None:
    """Bring one product's index entry in line with the catalog."""
    if deleted:
        configured_backend().remove([product_id])
    else:
        configured_backend().index([product_id])
