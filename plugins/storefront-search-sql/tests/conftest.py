import pytest
from sqlalchemy import text

import storefront_search_sql

pytest_plugins = ["storefront.testing"]


@pytest.fixture
def app(make_plugin_app):
    """An app with only this plugin loaded, its full-text table emptied (the fixtures of
    storefront.testing empty the tables they know; this one is hand-made). Products:
    ``make_search_product``; searching: ``search_page`` (both from storefront.testing)."""
    from storefront.extensions import db

    application = make_plugin_app(storefront_search_sql)
    with application.app_context():
        db.session.execute(text("DELETE FROM search_sql_fts"))
        db.session.commit()
        yield application
