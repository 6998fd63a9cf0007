"""Catalog pages stay fast: cached data invalidated on change, HTTP caching for
anonymous shoppers, and a small constant number of SQL statements per page."""
from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from storefront.catalog import cache, services
from storefront.catalog.models import Category, Product, ProductImage
from storefront.extensions import db
from storefront.testing import free_port

from storefront_factories import make_category, make_product

QUIET = {"PLUGINS_AUTOLOAD": False, "PLUGINS_REFRESH_SECONDS": 3600}


@pytest.fixture
def app_config():
    return dict(QUIET)


@contextmanager
def sql_statements():
    """Every SQL statement the app sends while the block runs."""
    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def fill_category(count: int, name: str = "Shirts") -> Category:
    category = make_category(name)
    for n in range(count):
        product = make_product(f"{name} item {n}", categories=[category], featured=n % 5 == 0,
                               attributes={"material": ["linen", "cotton"][n % 2]},
                               variants=[{"price_minor": 1000 + n, "stock": n % 3, "options": {"size": s}}
                                         for s in ("S", "M", "L")])
        product.images = [ProductImage(path=f"ab/{n:064x}.jpg", alt=f"view {i}", position=i) for i in range(3)]
        db.session.commit()
    return category


def statements_for(client, url: str) -> int:
    client.get(url)  # warm up: plugin state, template compilation
    with sql_statements() as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def test_pages_cost_a_small_constant_number_of_queries_whatever_they_show(make_app):
    app = make_app(CATALOG_CACHE_SECONDS=0, **QUIET)   # count the real queries, not cache hits
    client = app.test_client()
    with app.app_context():
        fill_category(3, "Few")
        fill_category(30, "Full")
        counts = {}
        for name in ("few", "full"):
            counts[name] = {
                "category": statements_for(client, f"/c/{name}"),
                "filtered": statements_for(client, f"/c/{name}?f.size=M&f.material=linen&in_stock=1&sort=price_asc"),
                "product": statements_for(client, f"/p/{name}-item-1"),
                "search": statements_for(client, f"/search?q={name}"),
            }
        assert counts["few"] == counts["full"]   # 3 or 24 products on the page: the same statements
        assert counts["full"]["category"] <= 6 and counts["full"]["filtered"] <= 8   # +1 per chosen facet
        assert counts["full"]["product"] <= 9 and counts["full"]["search"] <= 5
        assert statements_for(client, "/") <= 4


def test_a_cached_page_costs_no_query_at_all(client, app):
    fill_category(5)
    for url in ("/", "/c/shirts", "/p/shirts-item-2", "/search?q=shirts"):
        client.get(url)
        with sql_statements() as statements:
            assert client.get(url).status_code == 200
        assert statements == [], url


def test_a_product_change_shows_at_once_on_cached_pages(client, app):
    category = fill_category(2)
    assert "Shirts item 0" in client.get("/c/shirts").get_data(as_text=True)
    product = db.session.scalar(select(Product).where(Product.slug == "shirts-item-0"))
    services.save_product({"title": "Renamed Shirt"}, product=product)
    assert "Renamed Shirt" in client.get("/c/shirts").get_data(as_text=True)
    assert "Renamed Shirt" in client.get("/").get_data(as_text=True)

    variant = product.variants[0]
    services.adjust_stock(variant.id, 7 - variant.stock, "restock")
    assert "In stock" in client.get(f"/p/{product.slug}?variant={variant.id}").get_data(as_text=True)
    services.set_status([product.id], "draft")
    assert client.get(f"/p/{product.slug}").status_code == 404
    db.session.add(Category(name="Hats", slug="hats"))   # a category written by any code path
    db.session.commit()
    assert 'href="/c/hats"' in client.get("/c/shirts").get_data(as_text=True)
    assert category.id


def test_anonymous_pages_carry_an_etag_and_answer_304(client, app):
    fill_category(2)
    for url in ("/", "/c/shirts", "/p/shirts-item-1", "/search?q=shirts"):
        response = client.get(url)
        assert response.headers["Cache-Control"] == "public, max-age=60", url
        assert "Cookie" in response.headers["Vary"] and "Set-Cookie" not in response.headers
        etag = response.headers["ETag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
    etag = client.get("/c/shirts").headers["ETag"]
    product = db.session.scalar(select(Product).where(Product.slug == "shirts-item-1"))
    services.save_product({"title": "New name"}, product=product)
    changed = client.get("/c/shirts", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_pages_for_someone_are_never_stored_by_shared_caches(app, client, make_user, login):
    fill_category(1)
    signed_in = app.test_client()
    login(signed_in, make_user())
    response = signed_in.get("/c/shirts")
    assert response.headers["Cache-Control"] == "private, no-store" and "ETag" not in response.headers
    # An anonymous visitor who already has a session: their browser may keep the page,
    # a proxy may not (the session cookie is refreshed on every response).
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], "an-existing-session")
    response = client.get("/c/shirts")
    assert response.headers["Cache-Control"] == "private, max-age=60" and response.headers["ETag"]
    # A flashed message is shown once: that page is nobody else's.
    client.post("/p/shirts-item-0/wishlist")
    assert client.get("/c/shirts").headers["Cache-Control"] == "private, no-store"


def test_with_redis_every_process_sees_a_change_at_once(make_app, fake_redis):
    first, second = make_app(REDIS_URL="redis://unused", **QUIET), make_app(REDIS_URL="redis://unused", **QUIET)
    for app in (first, second):
        cache.state(app).redis = fake_redis   # two web processes sharing one Redis
    with first.app_context():
        fill_category(2)
    assert "Shirts item 0" in first.test_client().get("/c/shirts").get_data(as_text=True)
    assert any(key.startswith(b"storefront:catalog:") for key in fake_redis.keys())
    with second.app_context():
        product = db.session.scalar(select(Product).where(Product.slug == "shirts-item-0"))
        services.save_product({"title": "Changed elsewhere"}, product=product)
    assert "Changed elsewhere" in first.test_client().get("/c/shirts").get_data(as_text=True)


def test_a_stopped_redis_only_costs_the_cache(make_app):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", **QUIET)
    with app.app_context():
        fill_category(2)
        client = app.test_client()
        assert client.get("/c/shirts").status_code == 200
        assert cache.state(app).redis_resting_until > 0   # Redis is left alone for a while
        product = db.session.scalar(select(Product).where(Product.slug == "shirts-item-0"))
        services.save_product({"title": "Still changes"}, product=product)
        assert "Still changes" in client.get("/c/shirts").get_data(as_text=True)


@pytest.mark.redis
def test_the_cache_works_with_a_real_redis(make_app, redis_url):
    app = make_app(REDIS_URL=redis_url, **QUIET)
    with app.app_context():
        fill_category(2)
        client = app.test_client()
        client.get("/c/shirts")
        with sql_statements() as statements:
            assert "Shirts item 1" in client.get("/c/shirts").get_data(as_text=True)
        assert statements == []
        product = db.session.scalar(select(Product).where(Product.slug == "shirts-item-1"))
        services.save_product({"title": "Fresh"}, product=product)
        assert re.search(r">Fresh</a>", client.get("/c/shirts").get_data(as_text=True))
