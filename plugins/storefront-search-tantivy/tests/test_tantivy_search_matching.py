"""The tantivy backend forgives typos, matches prefixes and ranks titles first."""


def test_a_misspelt_word_finds_the_product(make_product, search):
    headphones = make_product("Wireless Headphones")
    make_product("Phone Case")

    assert search("hedphones").product_ids == (headphones,)
    assert search("wireles headphnes").product_ids == (headphones,)
    assert search("binocluars").total == 0


def test_the_title_ranks_above_the_body_and_a_known_word_is_taken_as_meant(make_product, search):
    make_product("Lamb Wool Scarf")
    mention = make_product("Gift Box", description="Fits a lamp shade.")
    lamp = make_product("Desk Lamp")

    assert search("lamp").product_ids == (lamp, mention)  # not "lamb": lamp is a word here
    assert search("lanp").product_ids == (lamp, mention)  # a typo: forgiven, same order


def test_an_exact_sku_finds_its_product_alone(make_product, search):
    mug = make_product("Stoneware Mug", sku="MUG-2024-1")
    make_product("Stoneware Bowl", sku="BOWL-2024-1", description="Matches mug 2024.")

    assert search("mug-2024-1").product_ids == (mug,)


def test_the_start_of_a_word_finds_the_whole_word(make_product, search):
    headphones = make_product("Studio Headphones")

    assert search("headph").product_ids == (headphones,)
    assert search("studio hea").product_ids == (headphones,)


def test_typos_are_not_forgiven_when_the_setting_is_off(make_product, search, configure_plugin):
    make_product("Wireless Headphones")

    configure_plugin("tantivy", typo_tolerance=False)

    assert search("hedphones").total == 0


def test_short_words_stopwords_skus_and_syntax(make_product, search):
    tv = make_product("TV Stand", sku="TVS-01")
    the_lamp = make_product("The Lamp")
    desk_lamp = make_product("Desk Lamp", description="The brass one.")

    assert search("tv").product_ids == (tv,)
    assert search("the").product_ids == (the_lamp,)
    assert set(search("the lamp").product_ids) == {the_lamp, desk_lamp}
    assert search("tvs-01").product_ids == (tv,)
    for typed in ('"lamp', "lamp*", "-lamp", "lamp) OR (", "lamp^", "lamp AND"):
        assert set(search(typed).product_ids) == {the_lamp, desk_lamp}, typed


def test_drafts_and_archived_products_are_not_found(make_product, search):
    make_product("Draft Lantern", status="draft")
    make_product("Archived Lantern", status="archived")
    active = make_product("Storm Lantern")

    assert search("lantern").product_ids == (active,)
