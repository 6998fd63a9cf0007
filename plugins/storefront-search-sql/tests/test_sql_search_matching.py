"""What shoppers type finds what they mean: ranking, prefixes, short words, stopwords —
on SQLite (FTS5) and on MariaDB (FULLTEXT) alike."""


def test_a_title_match_ranks_above_a_description_match(make_product, search):
    mention = make_product("Desk Organiser", description="Keeps your wireless headphones tidy.")
    headphones = make_product("Wireless Headphones", description="Closed-back, 30 hours of battery.")
    make_product("Teapot", description="Cast iron.")

    page = search("wireless headphones")

    assert page.product_ids == (headphones, mention)
    assert page.total == 2


def test_the_start_of_a_word_finds_the_whole_word(make_product, search):
    headphones = make_product("Studio Headphones")
    make_product("Phone Case")

    assert search("headph").product_ids == (headphones,)
    assert search("studio head").product_ids == (headphones,)


def test_every_word_must_match(make_product, search):
    make_product("Linen Shirt")
    linen_dress = make_product("Linen Dress")

    assert search("linen dress").product_ids == (linen_dress,)


def test_a_two_letter_word_finds_the_product_titled_with_it(make_product, search):
    tv = make_product("TV Stand", description="Walnut veneer.")
    make_product("Bookshelf")

    assert tv in search("tv").product_ids


def test_a_stopword_alone_still_finds_titles_with_it_and_is_ignored_beside_other_words(make_product, search):
    the_lamp = make_product("The Lamp", description="A lamp.")
    desk_lamp = make_product("Desk Lamp", description="The brass one.")

    assert search("the").product_ids == (the_lamp,)
    assert set(search("the lamp").product_ids) == {the_lamp, desk_lamp}


def test_a_sku_brand_or_attribute_finds_the_product(make_product, search):
    boots = make_product("Chelsea Boots", brand="Crockett", sku="CB-7710", options={"colour": "Burgundy"})

    assert search("crockett").product_ids == (boots,)
    assert search("cb-7710").product_ids == (boots,)
    assert search("burgundy").product_ids == (boots,)


def test_search_syntax_typed_by_a_shopper_is_just_text(make_product, search):
    kettle = make_product("Copper Kettle")

    for typed in ('"copper', "copper*", "-copper", "copper) OR (", "+copper +kettle", "copper AND kettle"):
        assert search(typed).product_ids == (kettle,), typed
    assert search("%_'").total == 0


def test_drafts_and_archived_products_are_not_found(make_product, search):
    make_product("Draft Lantern", status="draft")
    make_product("Archived Lantern", status="archived")
    active = make_product("Storm Lantern")

    assert search("lantern").product_ids == (active,)
