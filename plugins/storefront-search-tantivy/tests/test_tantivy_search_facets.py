"""Filters, sorts, pages and facet counts of the tantivy backend."""


def test_facets_count_the_whole_result_not_only_the_page(make_product, make_category, search):
    clothing = make_category("Clothing")
    shirts = make_category("Shirts", parent=clothing)
    for n in range(3):
        make_product(f"Linen Shirt {n}", brand="Acme", options={"size": "M"}, categories=[shirts])
    make_product("Linen Shirt Large", brand="Bolt", options={"size": "L"}, categories=[shirts], stock=0)
    make_product("Linen Trousers", brand="Bolt", options={"size": "M"}, categories=[clothing])
    make_product("Oak Table", brand="Acme")

    page = search("linen", per_page=2)

    facets = {f.name: {v.value: v.count for v in f.values} for f in page.facets}
    assert page.total == 5 and len(page.product_ids) == 2
    assert facets == {"category": {"clothing": 5, "shirts": 4}, "brand": {"Acme": 3, "Bolt": 2},
                      "size": {"M": 4, "L": 1}, "in_stock": {"true": 4, "false": 1}}
    labels = {f.name: (f.label, [v.label for v in f.values]) for f in page.facets}
    assert labels["category"] == ("Category", ["Clothing", "Shirts"])
    assert labels["in_stock"] == ("Availability", ["In stock", "Out of stock"])
    assert [f.name for f in page.facets] == ["category", "brand", "size", "in_stock"]


def test_filters_narrow_the_result_and_a_filtered_facet_keeps_its_other_values(make_product, make_category,
                                                                                 search):
    clothing = make_category("Clothing")
    shirts = make_category("Shirts", parent=clothing)
    acme_m = make_product("Linen Shirt", brand="Acme", options={"size": "M"}, categories=[shirts], price_minor=3000)
    acme_l = make_product("Linen Shirt", brand="Acme", options={"size": "L"}, categories=[shirts], price_minor=5000,
                          stock=0)
    bolt_m = make_product("Linen Trousers", brand="Bolt", options={"size": "M"}, categories=[clothing],
                          price_minor=7000)

    assert set(search("linen", brand=("Acme",)).product_ids) == {acme_m, acme_l}
    assert set(search("linen", brand=("Acme", "Bolt")).product_ids) == {acme_m, acme_l, bolt_m}
    assert set(search("linen", category=("clothing",)).product_ids) == {acme_m, acme_l, bolt_m}
    assert set(search("linen", category=("shirts",)).product_ids) == {acme_m, acme_l}
    assert search("linen", size=("M",), brand=("Acme",)).product_ids == (acme_m,)
    assert set(search("linen", in_stock=("true",)).product_ids) == {acme_m, bolt_m}
    assert search("linen", price_min=("4000",), price_max=("6000",)).product_ids == (acme_l,)
    assert set(search("", price_min=("not a number",)).product_ids) == {acme_m, acme_l, bolt_m}

    page = search("linen", brand=("Acme",), size=("M",))
    facets = {f.name: {v.value: v.count for v in f.values} for f in page.facets}
    assert facets["brand"] == {"Acme": 1, "Bolt": 1}  # counted without the brand filter, within size M
    assert facets["size"] == {"M": 1, "L": 1}  # counted without the size filter, within Acme
    assert facets["category"] == {"clothing": 1, "shirts": 1}


def test_sorts_by_price_and_age_and_pages_through_the_result(make_product, search):
    middle = make_product("Mug Large", price_minor=2000)
    cheap = make_product("Mug Small", price_minor=1000)
    dear = make_product("Mug Deluxe", price_minor=3000)

    assert search("mug", sort="price_asc").product_ids == (cheap, middle, dear)
    assert search("mug", sort="price_desc").product_ids == (dear, middle, cheap)
    assert search("mug", sort="newest").product_ids == (dear, cheap, middle)
    assert search("", sort="relevance").product_ids == (dear, cheap, middle)
    assert search("mug", sort="price_asc", per_page=2, page=2).product_ids == (dear,)
    far = search("mug", page=10**6)
    assert (far.product_ids, far.total) == ((), 3)
