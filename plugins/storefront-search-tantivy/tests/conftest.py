import pytest

import storefront_search_tantivy

pytest_plugins = ["storefront.testing"]


@pytest.fixture
def app(make_plugin_app):
    """An app with only this plugin loaded and chosen; its index lives in the test's own
    instance folder, so every test starts without one. Products: ``make_search_product``;
    searching: ``search_page`` (both from storefront.testing)."""
    application = make_plugin_app(storefront_search_tantivy, SEARCH_BACKEND="tantivy")
    with application.app_context():
        yield application
