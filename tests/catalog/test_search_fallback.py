"""Search never answers 500: a missing or failing backend hands over to the basic search."""
from storefront.catalog import services
from storefront.catalog.search import search_products
from storefront.plugins import SearchPage, SearchQuery, hookimpl


class BrokenEngine:
    id = "broken"
    name = "Always fails"

    def search(self, query):
        raise ConnectionError("the search cluster is on fire")

    def index(self, product_ids):
        raise ConnectionError("the search cluster is on fire")

    def remove(self, product_ids):
        raise ConnectionError("the search cluster is on fire")


class BrokenSearchPlugin:
    PLUGIN_NAME = "broken"

    @hookimpl
    def storefront_search_backends(self):
        return [BrokenEngine()]


def test_a_failing_backend_falls_back_to_the_basic_search(make_app):
    app = make_app(plugins=(BrokenSearchPlugin(),), SEARCH_BACKEND="broken")
    with app.app_context():
        product = services.save_product({"title": "Merino Sweater", "status": "active"})
        services.save_product({"title": "Merino Socks", "status": "draft"})

        outcome = search_products(SearchQuery("merino"))

        assert (outcome.backend, outcome.fell_back) == ("basic", True)
        assert outcome.page == SearchPage(product_ids=(product.id,), total=1, facets=())


def test_the_search_page_answers_from_the_basic_search_when_the_backend_fails(make_app):
    app = make_app(plugins=(BrokenSearchPlugin(),), SEARCH_BACKEND="broken")
    with app.app_context():
        services.save_product({"title": "Merino Sweater", "status": "active"})

        response = app.test_client().get("/search?q=merino")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "1 result" in page and 'href="/p/merino-sweater"' in page


def test_an_unknown_backend_id_means_the_basic_search(make_app):
    app = make_app(SEARCH_BACKEND="elastic")
    with app.app_context():
        services.save_product({"title": "Walnut Tray", "status": "active"})

        outcome = search_products(SearchQuery("walnut"))

    assert (outcome.backend, outcome.fell_back, outcome.page.total) == ("basic", True, 1)


def test_choosing_the_basic_search_is_not_a_fallback(make_app):
    app = make_app(SEARCH_BACKEND="basic")
    with app.app_context():
        outcome = search_products(SearchQuery("anything"))

    assert (outcome.backend, outcome.fell_back) == ("basic", False)


def test_overlong_search_text_is_cut_before_any_backend_sees_it(make_app):
    seen = []

    class Recording(BrokenEngine):
        id = "recording"

        def search(self, query):
            seen.append(query.text)
            return SearchPage(product_ids=(), total=0)

    class RecordingPlugin:
        PLUGIN_NAME = "recording"

        @hookimpl
        def storefront_search_backends(self):
            return [Recording()]

    app = make_app(plugins=(RecordingPlugin(),), SEARCH_BACKEND="recording")
    with app.app_context():
        search_products(SearchQuery("x" * 5000))

    assert [len(text) for text in seen] == [200]
