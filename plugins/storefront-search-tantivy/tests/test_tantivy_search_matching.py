"""The tantivy backend forgives typos and takes a known word as meant; the behaviour every
backend shares is checked in test_tantivy_search_facets.py."""


def test_a_misspelt_word_finds_the_product(make_search_product, search_page):
    headphones = make_search_product("Wireless Headphones")
    make_search_product("Phone Case")

    assert search_page("hedphones").product_ids == (headphones,)
    assert search_page("wireles headphnes").product_ids == (headphones,)
    assert search_page("binocluars").total == 0


def test_the_title_ranks_above_the_body_and_a_known_word_is_taken_as_meant(make_search_product, search_page):
    make_search_product("Lamb Wool Scarf")
    mention = make_search_product("Gift Box", description="Fits a lamp shade.")
    lamp = make_search_product("Desk Lamp")

    assert search_page("lamp").product_ids == (lamp, mention)  # not "lamb": lamp is a word here
    assert search_page("lanp").product_ids == (lamp, mention)  # a typo: forgiven, same order


def test_an_exact_sku_finds_its_product_alone(make_search_product, search_page):
    mug = make_search_product("Stoneware Mug", sku="MUG-2024-1")
    make_search_product("Stoneware Bowl", sku="BOWL-2024-1", description="Matches mug 2024.")

    assert search_page("mug-2024-1").product_ids == (mug,)


def test_typos_are_not_forgiven_when_the_setting_is_off(make_search_product, search_page, configure_plugin):
    make_search_product("Wireless Headphones")

    configure_plugin("tantivy", typo_tolerance=False)

    assert search_page("hedphones").total == 0


def test_query_parser_syntax_typed_by_a_shopper_is_just_words(make_search_product, search_page):
    the_lamp = make_search_product("The Lamp")
    desk_lamp = make_search_product("Desk Lamp", description="The brass one.")

    for typed in ("lamp^", "lamp AND", "+lamp", "lamp:"):
        assert set(search_page(typed).product_ids) == {the_lamp, desk_lamp}, typed
