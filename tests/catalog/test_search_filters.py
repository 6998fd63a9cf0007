"""The shopper's search filters are read once, by the core, into one typed value that
every backend receives — and backends written against the older plain mapping still work."""
import pytest

from storefront.catalog.search import search_products
from storefront.plugins import SearchFilters, SearchPage, SearchQuery, hookimpl


def test_filters_are_read_into_typed_fields_with_unusable_values_left_out():
    filters = SearchFilters.read({"Brand": "Acme", "category": ["shirts", " shirts "], "SIZE": ["M", ""],
                                  "size": ["L"], "in_stock": ("TRUE",), "price_min": ("ten",),
                                  "price_max": ("5000", "9000"), "colour": ()})

    assert (filters.brands, filters.categories, filters.in_stock, filters.price_min, filters.price_max) == (
        ("Acme",), ("shirts",), True, None, 5000)
    assert dict(filters.attributes) == {"size": ("M", "L")}
    assert dict(filters.by_facet) == {"category": ("shirts",), "brand": ("Acme",), "size": ("M", "L"),
                                      "in_stock": ("true",)}


def test_availability_is_either_only_in_stock_only_out_of_stock_or_both():
    assert SearchFilters.read({"in_stock": "false"}).in_stock is False
    assert SearchFilters.read({"in_stock": ("true", "false")}).in_stock is None
    assert SearchFilters.read({"in_stock": "maybe"}).in_stock is None
    assert SearchFilters.read({"price_min": "-5"}).price_min is None


def test_a_query_holds_its_filters_read_and_they_still_read_as_the_older_mapping():
    query = SearchQuery("lamp", {"brand": ("Acme",), "price_min": ("1000",), "size": "M"})

    assert isinstance(query.filters, SearchFilters) and query.filters.price_min == 1000
    assert dict(query.filters) == {"brand": ("Acme",), "size": ("M",), "price_min": ("1000",)}
    assert query.filters.get("brand") == ("Acme",) and "colour" not in query.filters
    assert query.filters == {"brand": ("Acme",), "size": ("M",), "price_min": ("1000",)}
    assert SearchQuery("lamp", query.filters) == query


@pytest.fixture
def recording_app(make_plugin_app):
    """An app whose search backend records the queries it is asked: ``(app, queries)``."""
    queries = []

    class Recording:
        id = "recording"
        name = "Recording"

        def search(self, query):
            queries.append(query)
            return SearchPage(product_ids=(), total=0)

        def index(self, product_ids): ...
        def remove(self, product_ids): ...

    class Plugin:
        PLUGIN_NAME = "recording"

        @hookimpl
        def storefront_search_backends(self):
            return [Recording()]

    return make_plugin_app(Plugin(), SEARCH_BACKEND="recording"), queries


def test_a_backend_written_against_the_plain_mapping_still_gets_its_filters(recording_app):
    app, queries = recording_app
    with app.app_context():
        outcome = search_products(SearchQuery("lamp", {"f": (), "Colour": ("Red",), "in_stock": ("true",)}))

    assert (outcome.backend, outcome.fell_back) == ("recording", False)
    query, = queries
    # What a backend reading ``query.filters`` as name → values sees:
    assert {name: tuple(values) for name, values in query.filters.items()} == {"colour": ("Red",),
                                                                               "in_stock": ("true",)}


def test_the_search_page_hands_the_shoppers_filters_to_the_backend(recording_app):
    app, queries = recording_app
    response = app.test_client().get("/search?q=lamp&f.brand=Acme&f.in_stock=false&f.price_max=2500&f.size=M")

    assert response.status_code == 200
    assert [query.filters for query in queries] == [
        SearchFilters(brands=("Acme",), in_stock=False, price_max=2500, attributes={"size": ("M",)})]
