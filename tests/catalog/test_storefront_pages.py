"""What shoppers see on the home, category, product and search pages."""
from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from storefront.catalog import queries, services
from storefront.catalog.models import SlugRedirect
from storefront.extensions import db

from storefront_factories import make_category, make_product, spaced_times


@pytest.fixture
def app_config():
    return {"PLUGINS_AUTOLOAD": False}  # the core's basic search; backends are tested in their plugins


def titles(response) -> list[str]:
    """Product titles in the order the page lists them (cards only)."""
    html = response.get_data(as_text=True)
    return [unescape(re.sub(r"<[^>]+>", "", t)) for t in re.findall(r'<h3 class="card-title"><a [^>]*>(.*?)</a></h3>',
                                                                     html, re.S)]


def next_link(response) -> str | None:
    match = re.search(r'<a class="btn btn-primary" href="([^"]+)" rel="next">', response.get_data(as_text=True))
    return unescape(match.group(1)) if match else None


@pytest.fixture
def shop(app):
    """Clothing > Shirts with products of different prices, stock, sizes and ratings."""
    clothing = make_category("Clothing")
    shirts = make_category("Shirts", parent=clothing)
    hats = make_category("Hats")
    times = spaced_times(5)
    make_product("Linen Shirt", categories=[shirts], created_at=times[0], featured=True,
                 attributes={"material": "linen"},
                 variants=[{"price_minor": 4900, "stock": 0, "options": {"size": "M", "colour": "White"}},
                           {"price_minor": 5200, "stock": 3, "options": {"size": "L", "colour": "White"}}])
    make_product("Oxford Shirt", categories=[shirts], created_at=times[1], attributes={"material": "cotton"},
                 variants=[{"price_minor": 3900, "stock": 8, "options": {"size": "M", "colour": "Blue"}}])
    make_product("Wool Jumper", categories=[clothing], created_at=times[2], price=8900, stock=0,
                 attributes={"material": "wool"})
    make_product("Sun Hat", categories=[hats], created_at=times[3], price=2500)
    make_product("Draft Shirt", categories=[shirts], created_at=times[4], status="draft", price=100)
    return {"clothing": clothing, "shirts": shirts, "hats": hats}


def test_the_home_page_shows_featured_and_new_products_and_top_level_categories(client, shop):
    page = client.get("/").get_data(as_text=True)
    featured, new = page.split('id="featured-title"')[1].split('id="newest-title"')
    assert "Linen Shirt" in featured and "Oxford Shirt" not in featured
    assert new.index("Sun Hat") < new.index("Wool Jumper") < new.index("Oxford Shirt")
    assert "Draft Shirt" not in page
    menu = page.split('class="nav-menu"')[1].split("</details>")[0]
    assert "Clothing" in menu and "Hats" in menu and "Shirts" not in menu   # top level only


def test_a_category_page_includes_products_of_its_subcategories_but_never_drafts(client, shop):
    response = client.get("/c/clothing")
    assert response.status_code == 200
    assert sorted(titles(response)) == ["Linen Shirt", "Oxford Shirt", "Wool Jumper"]
    assert "3 products" in response.get_data(as_text=True)
    assert titles(client.get("/c/shirts")) == ["Linen Shirt", "Oxford Shirt"]   # featured first, then newest


def test_filters_narrow_by_price_attribute_and_stock(client, shop):
    assert titles(client.get("/c/clothing?min=40&max=60")) == ["Linen Shirt"]   # priced from 49.00
    assert sorted(titles(client.get("/c/clothing?f.size=M"))) == ["Linen Shirt", "Oxford Shirt"]
    assert titles(client.get("/c/clothing?f.size=M&f.colour=Blue")) == ["Oxford Shirt"]
    assert sorted(titles(client.get("/c/clothing?f.material=linen&f.material=wool"))) == \
        ["Linen Shirt", "Wool Jumper"]
    assert sorted(titles(client.get("/c/clothing?in_stock=1"))) == ["Linen Shirt", "Oxford Shirt"]
    empty = client.get("/c/clothing?f.size=XS").get_data(as_text=True)
    assert "No products match these filters" in empty


def test_facets_show_counts_and_keep_other_values_of_a_chosen_attribute(client, shop):
    page = client.get("/c/clothing?f.size=L").get_data(as_text=True)

    def facet_value(name: str, value: str) -> str:
        match = re.search(rf'name="f\.{name}" value="{value}"( checked)?>\s*<label [^>]*>{value} '
                          rf'<span class="facet-count">\((\d+)\)', page)
        assert match, f"no facet {name}={value}"
        return f"{value}:{match.group(2)}{' checked' if match.group(1) else ''}"

    assert facet_value("size", "L") == "L:1 checked"
    assert facet_value("size", "M") == "M:2"        # counted without the size filter itself
    assert facet_value("material", "linen") == "linen:1"   # counted within size L
    assert 'value="cotton"' not in page.split('<legend>Material</legend>')[1].split("</fieldset>")[0]
    assert "Size: L" in page and 'href="/c/clothing"' in page   # a chip that removes the filter


@pytest.mark.parametrize("query, message", [
    ("min=cheap", "Lowest price: Enter an amount like"),
    ("max=12.345", "Highest price:"),
    ("min=50&max=10", "The lowest price is above the highest price."),
    ("sort=random", "Sort by one of: relevance, price_asc, price_desc, newest, rating."),
    ("in_stock=maybe", "In stock must be 1 or left out."),
    ("after=not-a-cursor", "That page link is damaged"),
])
def test_bad_list_parameters_get_a_clear_400(client, shop, query, message):
    response = client.get(f"/c/clothing?{query}")
    assert response.status_code == 400
    assert message in unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("sort, expected", [
    ("price_asc", ["Oxford Shirt", "Linen Shirt", "Wool Jumper"]),
    ("price_desc", ["Wool Jumper", "Linen Shirt", "Oxford Shirt"]),
    ("newest", ["Wool Jumper", "Oxford Shirt", "Linen Shirt"]),
    ("relevance", ["Linen Shirt", "Wool Jumper", "Oxford Shirt"]),
])
def test_sorts_order_the_category(client, shop, sort, expected):
    assert titles(client.get(f"/c/clothing?sort={sort}")) == expected


def test_rating_sort_puts_the_best_reviewed_first(client, shop, make_user):
    user = make_user()
    oxford = services.get_product(db.session.scalar(select(services.Product.id)
                                                    .where(services.Product.slug == "oxford-shirt")))
    services.moderate_review(services.add_review(oxford, user, 5, "Great", "Yes").id, "approved")
    assert titles(client.get("/c/clothing?sort=rating"))[0] == "Oxford Shirt"


@pytest.fixture
def many(app):
    """30 products in one category with colliding prices, so ties are broken by id."""
    category = make_category("Everything")
    times = spaced_times(30)
    for n in range(30):
        make_product(f"Item {n:02d}", categories=[category], price=1000 + (n % 4) * 100, created_at=times[n % 10],
                     featured=n % 9 == 0, stock=n % 3, attributes={"material": ["linen", "wool"][n % 2]})
    return category


@pytest.mark.parametrize("sort", ["relevance", "price_asc", "price_desc", "newest", "rating"])
@pytest.mark.parametrize("reading", ["members", "index walk"])
def test_keyset_pages_walk_every_product_once_in_order_with_stable_urls(client, many, app, sort, reading,
                                                                        monkeypatch):
    if reading == "index walk":   # how big categories are read
        monkeypatch.setattr(queries, "MEMBERS_READ_LIMIT", 0)
    app.config["CATALOG_PAGE_SIZE"] = 7
    url, seen, pages = f"/c/everything?sort={sort}", [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        page_titles = titles(response)
        assert len(page_titles) <= 7
        assert client.get(url).get_data() == response.get_data()  # the same URL shows the same page
        seen += page_titles
        url, pages = next_link(response), pages + 1
    assert pages == 5 and len(seen) == 30 and len(set(seen)) == 30
    app.config["CATALOG_PAGE_SIZE"] = 30
    assert titles(client.get(f"/c/everything?sort={sort}")) == seen


def test_a_tampered_or_foreign_cursor_is_refused(client, many, app):
    app.config["CATALOG_PAGE_SIZE"] = 7
    link = next_link(client.get("/c/everything?sort=price_asc"))
    token = re.search(r"after=([^&]+)", link).group(1)
    payload, signature = token.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    assert client.get(f"/c/everything?sort=price_asc&after={forged}").status_code == 400
    assert client.get(f"/c/everything?sort=newest&after={token}").status_code == 400   # another sort's cursor
    assert client.get(f"/c/everything?sort=price_asc&after={token}").status_code == 200


def test_counts_stop_at_the_limit_and_then_facets_show_no_numbers(client, many, app):
    app.config["CATALOG_COUNT_LIMIT"] = 12
    page = client.get("/c/everything").get_data(as_text=True)
    assert "More than 12 products" in page
    assert 'value="linen">' in page and "facet-count" not in page   # values to pick, no partial counts
    app.config["CATALOG_COUNT_LIMIT"] = 1000
    page = client.get("/c/everything").get_data(as_text=True)
    assert "30 products" in page and 'linen <span class="facet-count">(15)</span>' in page


def test_pagination_urls_keep_the_filters(client, many, app):
    app.config["CATALOG_PAGE_SIZE"] = 5
    link = next_link(client.get("/c/everything?in_stock=1&sort=newest"))
    assert "in_stock=1" in link and "sort=newest" in link
    assert all(not t.endswith(("00", "03")) for t in titles(client.get(link)))   # stock n % 3 == 0 is 0


def test_drafts_archived_products_and_hidden_categories_are_not_found(client, shop):
    assert client.get("/p/draft-shirt").status_code == 404
    product = services.get_product(db.session.scalar(select(services.Product.id)
                                                     .where(services.Product.slug == "sun-hat")))
    services.set_status([product.id], "archived")
    assert client.get("/p/sun-hat").status_code == 404
    assert "Sun Hat" not in client.get("/c/hats").get_data(as_text=True)
    shop["clothing"].active = False
    db.session.commit()
    assert client.get("/c/clothing").status_code == 404
    assert client.get("/c/shirts").status_code == 404   # under a hidden parent
    assert client.get("/c/no-such-thing").status_code == 404


def test_renamed_products_and_categories_answer_with_a_permanent_redirect(client, shop):
    product = services.get_product(db.session.scalar(select(services.Product.id)
                                                     .where(services.Product.slug == "oxford-shirt")))
    services.save_product({"title": "Oxford Shirt", "slug": "oxford-button-down"}, product=product)
    response = client.get("/p/oxford-shirt?variant=1")
    assert response.status_code == 301 and response.location == "/p/oxford-button-down?variant=1"
    shop["shirts"].slug = "shirts-and-blouses"
    db.session.add(SlugRedirect(kind="category", old_slug="shirts", target_id=shop["shirts"].id))
    db.session.commit()
    response = client.get("/c/shirts?sort=newest")
    assert response.status_code == 301 and response.location == "/c/shirts-and-blouses?sort=newest"


def test_the_product_page_shows_gallery_stock_reviews_and_related_products(client, shop):
    page = client.get("/p/linen-shirt").get_data(as_text=True)
    assert "<h1 id=\"product-title\">Linen Shirt</h1>" in page
    assert "Only 3 left" in page and "€52.00" in page   # the default variant is the one in stock
    assert "No reviews yet." in page and "Sign in to write a review" in page
    related = page.split('id="related-title"')[1]
    assert "Oxford Shirt" in related and "Linen Shirt" not in related
    assert "<dt>Material</dt><dd>linen</dd>" in page


def test_the_variant_picker_works_without_javascript(client, shop):
    page = client.get("/p/linen-shirt").get_data(as_text=True)
    form = re.search(r'<form class="variant-picker" method="get" action="/p/linen-shirt">(.*?)</form>',
                     page, re.S).group(1)
    assert '<select id="option-1" name="size"' in form and '<option value="M">M</option>' in form
    assert 'type="submit"' in form   # a button submits it; JavaScript only auto-submits
    chosen = client.get("/p/linen-shirt?size=M&colour=White").get_data(as_text=True)
    assert "€49.00" in chosen and "Out of stock" in chosen and '<option value="M" selected>' in chosen
    missing = client.get("/p/linen-shirt?size=M&colour=Blue").get_data(as_text=True)
    assert "That combination is not available" in missing and "Out of stock" in missing
    assert client.get("/p/linen-shirt?variant=999999").status_code == 400
    assert client.get("/p/linen-shirt?variant=abc").status_code == 400


def test_a_variant_can_be_chosen_by_id(client, shop):
    product = services.get_product(db.session.scalar(select(services.Product.id)
                                                     .where(services.Product.slug == "linen-shirt")))
    medium = next(v for v in product.variants if v.options["size"] == "M")
    page = client.get(f"/p/linen-shirt?variant={medium.id}").get_data(as_text=True)
    assert "€49.00" in page and "Out of stock" in page and f"SKU {medium.sku}" in page


def test_search_lists_matches_with_the_words_highlighted_and_escaped(client, app):
    make_product("Blue <Linen> Shirt & Tie")
    make_product("Red Shirt")
    make_product("Trousers")
    response = client.get("/search?q=shirt")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "2 results" in page
    assert "Blue &lt;Linen&gt; <mark>Shirt</mark> &amp; Tie" in page
    assert "Red <mark>Shirt</mark>" in page and "Trousers" not in page
    assert 'rel="canonical" href="http://localhost/search?q=shirt"' in page
    assert "<mark>" not in client.get("/search?q=%3Cb%3E").get_data(as_text=True).split("<main")[1]


def test_search_without_words_asks_for_some_and_bad_pages_get_400(client, app):
    assert "What are you looking for?" in client.get("/search").get_data(as_text=True)
    assert client.get("/search?q=shirt&page=0").status_code == 400
    assert client.get("/search?q=shirt&page=x").status_code == 400
    assert client.get("/search?q=shirt&sort=rating").status_code == 400


class RecordingEngine:
    """A search backend that answers with fixed ids and facets and remembers the queries."""

    id = "recording"
    name = "Recording"

    def __init__(self):
        self.queries = []
        self.ids = ()

    def search(self, query):
        from storefront.plugins import Facet, FacetValue, SearchPage

        self.queries.append(query)
        return SearchPage(product_ids=self.ids, total=30,
                          facets=(Facet("colour", "Colour", (FacetValue("red", "Red", 7), FacetValue("blue", "Blue", 3))),))

    def index(self, product_ids):
        pass

    def remove(self, product_ids):
        pass


def test_search_shows_the_backends_results_and_facets_and_passes_filters_sort_and_page(make_app):
    from storefront.plugins import hookimpl

    engine = RecordingEngine()

    class RecordingPlugin:
        PLUGIN_NAME = "recording"

        @hookimpl
        def storefront_search_backends(self):
            return [engine]

    app = make_app(plugins=(RecordingPlugin(),), SEARCH_BACKEND="recording", PLUGINS_AUTOLOAD=False)
    with app.app_context():
        first, second = make_product("Red Linen Shirt"), make_product("Blue Shirt")
        draft = make_product("Hidden Shirt", status="draft")
        engine.ids = (second.id, draft.id, first.id)   # rank order; the draft is never shown
        page = app.test_client().get("/search?q=linen+shirt&f.colour=red&sort=price_asc&page=2")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "30 results" in html
    assert titles(page) == ["Blue Shirt", "Red Linen Shirt"]
    assert "Red <mark>Linen</mark> <mark>Shirt</mark>" in html
    assert re.search(r'name="f\.colour" value="red" checked>\s*<label [^>]*>Red <span class="facet-count">\(7\)',
                     html)
    assert 'rel="prev"' in html and 'rel="next"' not in html   # page 2 of 30 results is the last
    query = engine.queries[-1]
    assert (query.text, dict(query.filters), query.sort, query.page, query.per_page) == \
        ("linen shirt", {"colour": ("red",)}, "price_asc", 2, 24)


def test_plugins_add_to_the_product_page_through_the_product_detail_slot(make_app):
    from markupsafe import Markup

    from storefront.plugins import hookimpl

    class ShippingNote:
        PLUGIN_NAME = "shippingnote"

        @hookimpl
        def storefront_tpl_product_detail(self, product):
            return Markup("<p class='ships'>Ships in 2 days: %s</p>") % product.title

    app = make_app(plugins=(ShippingNote(),), PLUGINS_AUTOLOAD=False)
    with app.app_context():
        make_product("Wool <Hat>")
        page = app.test_client().get("/p/wool-hat").get_data(as_text=True)
    assert "<p class='ships'>Ships in 2 days: Wool &lt;Hat&gt;</p>" in page
