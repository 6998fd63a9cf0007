"""A shopper's catalog journey in real Chromium against a real server: home → category
→ filter → product → pick a variant → sign in → add to the wishlist, with no CSP
violation on the way (the product page carries JSON-LD in a <script> element)."""
from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from playwright.sync_api import expect

from storefront.catalog.models import ProductImage
from storefront.extensions import db
from storefront.media import store_image
from storefront.testing import TEST_PASSWORD, serve, watch_page

from storefront_factories import make_category, make_product

pytestmark = [pytest.mark.browser, pytest.mark.slow]

@pytest.fixture
def app_config(tmp_path):
    return {"PLUGINS_AUTOLOAD": False, "MEDIA_ROOT": str(tmp_path / "media")}


def picture(colour: tuple[int, int, int]):
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), colour).save(buffer, "PNG")
    buffer.seek(0)
    return store_image(buffer, filename="picture.png")


@pytest.fixture
def catalog(app):
    clothing = make_category("Clothing")
    shirts = make_category("Shirts", parent=clothing)
    make_category("Garden")
    linen = make_product("Linen Shirt", categories=[shirts], description="Cool in summer.",
                         variants=[{"price_minor": 4900, "stock": 9, "options": {"size": "M"}},
                                   {"price_minor": 5400, "stock": 2, "options": {"size": "L"}}])
    make_product("Wool Jumper", categories=[clothing],
                 variants=[{"price_minor": 8900, "stock": 4, "options": {"size": "L"}}])
    for product, colour in ((linen, (200, 120, 90)),):
        stored = picture(colour)
        product.images.append(ProductImage(path=stored.path, alt="Linen shirt, front", width=stored.width,
                                           height=stored.height))
    db.session.commit()
    return linen


def test_a_shopper_browses_filters_picks_a_variant_and_saves_it_to_the_wishlist(
        app, catalog, make_user, database_url, tmp_path, browser_page):
    page = browser_page
    user = make_user(email="shopper@example.com")
    problems = watch_page(page)
    config = {"DATABASE_URL": database_url, "SECRET_KEY": "catalog-journey-secret", "REDIS_URL": None,
              "LOG_LEVEL": "WARNING", "PLUGINS_AUTOLOAD": False, "MEDIA_ROOT": str(tmp_path / "media")}
    with serve(config, instance_path=str(tmp_path / "instance")) as base:
        page.goto(base + "/")
        assert page.locator("h1").first.inner_text() == "Welcome to Storefront"
        page.click("summary:has-text('Categories')")
        page.click(".nav-menu >> text=Clothing")
        assert page.url == base + "/c/clothing"
        expect(page.locator(".card-title")).to_have_count(2)  # waits for the page, unlike a plain read
        assert sorted(page.locator(".card-title").all_inner_texts()) == ["Linen Shirt", "Wool Jumper"]

        page.check("label:has-text('M') >> xpath=preceding-sibling::input")
        page.click("button:has-text('Apply filters')")
        assert "f.size=M" in page.url
        expect(page.locator(".card-title")).to_have_text(["Linen Shirt"])
        expect(page.locator(".chip:has-text('Size: M')")).to_have_count(1)

        page.click(".card-title >> text=Linen Shirt")
        assert page.url == base + "/p/linen-shirt"
        assert page.inner_text("[data-testid=price]") == "€49.00"
        assert page.inner_text("[data-testid=stock]") == "In stock"
        assert page.locator(".gallery-main img").get_attribute("alt") == "Linen shirt, front"
        ld = json.loads(page.inner_text("script[type='application/ld+json']"))
        assert ld["@type"] == "Product" and ld["offers"]["lowPrice"] == "49.00"
        assert page.evaluate("window.__cspViolations") == []   # ld+json is data, not a blocked script

        with page.expect_navigation():
            page.select_option("select[name=size]", "L")   # catalog.js submits the picker
        assert "size=L" in page.url
        assert page.inner_text("[data-testid=price]") == "€54.00"
        assert page.inner_text("[data-testid=stock]") == "Only 2 left"

        page.click("text=Sign in to save this to your wishlist")
        page.fill("#email", user.email)
        page.fill("#password", TEST_PASSWORD)
        page.click("button:has-text('Sign in')")
        assert page.url == base + "/p/linen-shirt?size=L"   # back where the shopper was
        assert page.inner_text("[data-testid=price]") == "€54.00"

        page.click("button:has-text('Add to wishlist')")
        assert "Linen Shirt is in your wishlist." in page.inner_text(".flashes")
        page.click(".wishlist-action >> text=wishlist")
        expect(page).to_have_url(base + "/account/wishlist")
        expect(page.locator(".card-title")).to_have_text(["Linen Shirt"])
        page.click("button:has-text('Remove')")
        expect(page.locator("main")).to_contain_text("Your wishlist is empty")
        assert page.evaluate("window.__cspViolations") == []
    assert problems == []
