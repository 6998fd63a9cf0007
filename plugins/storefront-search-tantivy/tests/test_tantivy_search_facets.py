"""Filters, sorts, pages and facet counts of the tantivy backend: the behaviour every
backend shares (storefront.plugins.conformance)."""
from storefront.plugins.conformance import check_search_behaviour


def test_the_tantivy_backend_finds_filters_sorts_and_counts_as_the_shop_promises(app):
    check_search_behaviour(app, "tantivy")
