"""What search engines read: canonical links, JSON-LD, sitemap.xml and robots.txt."""
from __future__ import annotations

import json
import re
from xml.etree import ElementTree

import pytest

from storefront.catalog import views

from storefront_factories import make_category, make_product

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.fixture
def app_config():
    return {"PLUGINS_AUTOLOAD": False}


@pytest.fixture
def catalog(app):
    shirts = make_category("Shirts")
    make_category("Hidden", active=False)
    shirt = make_product("Linen Shirt", categories=[shirts], brand="Acme", description="Soft **linen**.",
                         variants=[{"price_minor": 4900, "stock": 0, "options": {"size": "M"}},
                                   {"price_minor": 5250, "stock": 3, "options": {"size": "L"}}])
    make_product("Draft Shirt", categories=[shirts], status="draft")
    return shirt


def canonical(response) -> str:
    return re.search(r'<link rel="canonical" href="([^"]+)">', response.get_data(as_text=True)).group(1)


def test_canonical_links_leave_out_filters_sorts_cursors_and_variants(client, catalog):
    assert canonical(client.get("/c/shirts?sort=price_asc&f.size=M&min=1")) == "http://localhost/c/shirts"
    assert canonical(client.get(f"/p/linen-shirt?variant={catalog.variants[0].id}")) == \
        "http://localhost/p/linen-shirt"
    assert canonical(client.get("/search?q=linen&sort=newest&page=1")) == "http://localhost/search?q=linen"
    assert canonical(client.get("/")) == "http://localhost/"


def json_ld(response) -> dict:
    scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', response.get_data(as_text=True),
                         re.S)
    assert len(scripts) == 1
    return json.loads(scripts[0])


def test_the_product_page_carries_schema_org_product_markup(client, catalog, make_user):
    from storefront.catalog import services

    review = services.add_review(catalog, make_user(name="Ada"), 4, "Nice", "Good shirt")
    services.moderate_review(review.id, "approved")
    data = json_ld(client.get("/p/linen-shirt?size=L"))
    assert data["@context"] == "https://schema.org" and data["@type"] == "Product"
    assert data["name"] == "Linen Shirt" and data["brand"] == {"@type": "Brand", "name": "Acme"}
    assert data["description"] == "Soft linen." and data["url"] == "http://localhost/p/linen-shirt"
    assert data["sku"] == catalog.variants[1].sku
    offers = data["offers"]
    assert (offers["@type"], offers["lowPrice"], offers["highPrice"], offers["priceCurrency"]) == \
        ("AggregateOffer", "49.00", "52.50", "EUR")
    assert [o["availability"] for o in offers["offers"]] == ["https://schema.org/OutOfStock",
                                                             "https://schema.org/InStock"]
    assert data["aggregateRating"] == {"@type": "AggregateRating", "ratingValue": "4.0", "reviewCount": 1,
                                       "bestRating": 5, "worstRating": 1}
    assert data["review"][0]["author"]["name"] == "Ada"


def test_json_ld_cannot_be_broken_out_of_by_a_product_title(client, app):
    make_product("Evil </script><script>alert(1)</script> & Co")
    page = client.get("/p/evil-script-script-alert-1-script-co").get_data(as_text=True)
    block = page.split('<script type="application/ld+json">')[1].split("</script>")[0]
    assert "<" not in block and json.loads(block)["name"] == "Evil </script><script>alert(1)</script> & Co"


def test_the_sitemap_lists_visible_categories_and_active_products_only(client, catalog):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    root = ElementTree.fromstring(response.get_data())
    locations = [loc.text for loc in root.findall("s:url/s:loc", NS)]
    assert locations == ["http://localhost/c/shirts", "http://localhost/p/linen-shirt"]
    assert root.find("s:url[2]/s:lastmod", NS).text == catalog.updated_at.date().isoformat()


def test_a_large_catalog_gets_a_sitemap_index_of_bounded_files(client, catalog, monkeypatch):
    hat, scarf = make_product("Hat"), make_product("Scarf")
    monkeypatch.setattr(views, "SITEMAP_URLS_PER_FILE", 2)
    index = ElementTree.fromstring(client.get("/sitemap.xml").get_data())
    files = [loc.text for loc in index.findall("s:sitemap/s:loc", NS)]
    assert files[0] == "http://localhost/sitemaps/categories.xml"
    assert files[1:] == [f"http://localhost/sitemaps/products-{n}.xml" for n in range(1, (scarf.id + 1) // 2 + 1)]
    products = []
    for number in sorted({(p.id - 1) // 2 + 1 for p in (catalog, hat, scarf)}):   # the files holding them
        urlset = ElementTree.fromstring(client.get(f"/sitemaps/products-{number}.xml").get_data())
        entries = [loc.text for loc in urlset.findall("s:url/s:loc", NS)]
        assert len(entries) <= 2
        products += entries
    assert products == ["http://localhost/p/linen-shirt", "http://localhost/p/hat", "http://localhost/p/scarf"]
    categories = ElementTree.fromstring(client.get("/sitemaps/categories.xml").get_data())
    assert [loc.text for loc in categories.findall("s:url/s:loc", NS)] == ["http://localhost/c/shirts"]


def test_robots_txt_keeps_crawlers_out_of_private_pages_and_points_to_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert {"Disallow: /account", "Disallow: /admin", "Disallow: /search"} <= set(lines)
    assert "Sitemap: http://localhost/sitemap.xml" in lines
