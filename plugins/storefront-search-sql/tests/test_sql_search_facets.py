"""Filters, sorts, pages and facet counts of the SQL backend: the behaviour every backend
shares, and the SQL fast path of a search without words."""
from storefront.plugins.conformance import check_search_behaviour


def test_the_sql_backend_finds_filters_sorts_and_counts_as_the_shop_promises(app):
    check_search_behaviour(app, "sql")


def test_a_search_without_words_filters_in_sql_and_counts_facets_up_to_a_limit(make_search_product, search_page,
                                                                              monkeypatch):
    from storefront_search_sql import backend

    red = make_search_product("Scarf", brand="Acme", options={"colour": "Red_%"})
    make_search_product("Beanie", brand="Bolt", options={"colour": "Blue"})
    make_search_product("Gloves", brand="Acme", options={"colour": "Blue"})

    page = search_page("", colour=("Red_%",))
    assert (page.product_ids, page.total) == ((red,), 1)
    assert {f.name: {v.value: v.count for v in f.values} for f in page.facets}["colour"] == {"Red_%": 1, "Blue": 2}

    monkeypatch.setattr(backend, "BROWSE_FACET_LIMIT", 1)
    page = search_page("", brand=("Acme",))
    assert (page.total, len(page.product_ids), page.facets) == (2, 2, ())
