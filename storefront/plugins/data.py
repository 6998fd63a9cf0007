"""Data access for plugins: the catalog as search documents, and the app database for
the tables a plugin owns.

Plugins never import the core's models; what they may read of the catalog comes
through :func:`load_product_documents`, and their own tables (prefixed with the plugin
name) are declared on :data:`db_metadata` and used through :func:`db_session`.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import MetaData
from sqlalchemy.orm import Session

from ..extensions import db
from .types import ProductDocument

#: Declare plugin tables on this ``MetaData`` (the core's): ``flask db check`` and Alembic
#: autogenerate then compare them like the core's, and the test fixtures of
#: :mod:`storefront.testing` create and empty them with everything else.
db_metadata: MetaData = db.metadata


def db_session() -> Session:
    """The database session of the current request or job (the core's own).

    Commit your writes yourself, in your job or service; never leave pending changes
    behind, since the core commits this session for its own reasons too.
    """
    return db.session


def load_product_documents(product_ids: Iterable[int]) -> list[ProductDocument]:
    """The :class:`ProductDocument` of each product with one of these ids, in id order.

    Ids with no product are left out; drafts and archived products come with their
    ``status`` (not :attr:`~ProductDocument.searchable`). Any number of ids is fine: they
    are read in chunks with a fixed number of queries each.
    """
    # Imported here: the catalog package imports the plugin API while it loads.
    from ..catalog.documents import load_product_documents as load

    return load(product_ids)
