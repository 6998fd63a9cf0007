import pytest
from sqlalchemy import text

import storefront_search_sql

pytest_plugins = ["storefront.testing"]


@pytest.fixture
def app(make_plugin_app):
    """An app with only this plugin loaded, its full-text table emptied (the fixtures of
    storefront.testing empty the tables they know; this one is hand-made)."""
    from storefront.extensions import db

    application = make_plugin_app(storefront_search_sql)
    with application.app_context():
        db.session.execute(text("DELETE FROM search_sql_fts"))
        db.session.commit()
        yield application


@pytest.fixture
def make_category(app):
    """``make_category("Shirts", parent=clothing_id)`` → the new category's id."""
    from storefront.catalog.models import Category
    from storefront.catalog.services import slugify
    from storefront.extensions import db

    def make(name, parent=None):
        category = Category(name=name, slug=slugify(name), parent_id=parent, description="", active=True)
        db.session.add(category)
        db.session.commit()
        return category.id

    return make


@pytest.fixture
def make_product(app):
    """Create an active product with one variant through the catalog services, which tell
    the plugins (the index job runs inline): ``make_product("Lamp", price_minor=2500)``
    → its id."""
    from storefront.catalog import services

    def make(title, description="", brand="", price_minor=1000, stock=1, options=None, attributes=None,
             categories=(), status="active", sku=None):
        product = services.save_product({"title": title, "description": description, "brand": brand,
                                         "status": status, "attributes": attributes or {},
                                         "category_ids": list(categories)})
        services.save_variant(product, {"sku": sku or f"SKU-{product.id}", "price_minor": price_minor,
                                        "stock": stock, "options": options or {}})
        services.commit_product(product)
        return product.id

    return make


@pytest.fixture
def search():
    """``search("headph", sort="price_asc", brand=("Acme",))`` → the SearchPage."""
    from storefront.catalog.search import search_products
    from storefront.plugins import SearchQuery

    def run(text="", sort="relevance", page=1, per_page=24, **filters):
        outcome = search_products(SearchQuery(text, filters=filters, page=page, per_page=per_page, sort=sort))
        assert (outcome.backend, outcome.fell_back) == ("sql", False)
        return outcome.page

    return run
