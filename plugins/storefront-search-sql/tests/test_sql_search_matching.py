"""What shoppers type is never SQL or FTS syntax, on SQLite (FTS5) and MariaDB (FULLTEXT)
alike. Ranking, prefixes, short words and stopwords are checked with every backend's
behaviour (test_sql_search_facets.py)."""


def test_boolean_full_text_operators_typed_by_a_shopper_are_just_words(make_search_product, search_page):
    kettle = make_search_product("Copper Kettle")
    make_search_product("Copper Pan")

    for typed in ("+copper +kettle", "copper AND kettle", "kettle~", "copper (kettle)", "copper kettle<"):
        assert search_page(typed).product_ids == (kettle,), typed
    assert search_page("%_'").total == 0


def test_a_very_broad_search_pages_through_its_most_relevant_hits_and_says_there_are_more(
        make_search_product, search_page, client, monkeypatch):
    from storefront_search_sql import backend

    monkeypatch.setattr(backend, "HIT_LIMIT", 3)
    best = make_search_product("Silver Necklace Silver Necklace", description="Necklace of silver, a necklace.")
    for n in range(4):
        make_search_product(f"Box {n}", description="Fits a necklace.")

    page = search_page("necklace")
    assert page.capped and page.total == 3
    assert page.product_ids[0] == best          # the cap keeps the most relevant, in rank order
    assert "More than 3 results" in client.get("/search?q=necklace").get_data(as_text=True)
    assert not search_page("silver").capped


def word_counts():
    from storefront.extensions import db
    from storefront_search_sql.tables import words

    return dict(db.session.execute(words.select()).all())


def test_the_index_counts_the_documents_holding_each_word(make_search_product):
    from storefront.catalog import services

    oak = make_search_product("Oak Table", description="Made by hand.")
    make_search_product("Pine Chair", description="Made by hand, painted.")
    counts = word_counts()
    assert (counts[""], counts["made"], counts["oak"], counts["painted"]) == (2, 2, 1, 1)

    services.save_product({"title": "Oak Desk"}, product=services.get_product(oak))   # renamed: words move
    services.delete_product(services.get_product(oak))
    counts = word_counts()
    assert (counts[""], counts["made"], counts["oak"], counts["pine"]) == (1, 1, 0, 1)
    assert counts.get("desk", 0) == 0


def test_a_word_most_documents_hold_is_taken_like_a_stopword(make_search_product, search_page, monkeypatch):
    # "made" is in 4 of 5 descriptions: it tells products apart no better than "the", and
    # MariaDB's FULLTEXT would score every document holding it (~180 ms with 100,000).
    from storefront_search_sql import fulltext

    monkeypatch.setattr(fulltext, "COMMON_MIN_DOCUMENTS", 3)
    oak_table = make_search_product("Oak Table", description="Made by hand.")
    oak_shelf = make_search_product("Oak Shelf", description="Sturdy and plain.")
    make_search_product("Pine Chair", description="Made by hand.")
    make_search_product("Walnut Lamp", description="Made in Italy.")
    basket = make_search_product("Basket made of willow", description="Made by hand.")

    assert set(search_page("made oak").product_ids) == {oak_table, oak_shelf}   # "made" left out
    assert search_page("made").product_ids == (basket,)                          # alone: titles only
    assert search_page("mad").product_ids == (basket,)                           # a prefix of it too
    monkeypatch.setattr(fulltext, "COMMON_MIN_DOCUMENTS", 10_000)                # a small catalog:
    assert search_page("made oak").product_ids == (oak_table,)                   # every word counts
    assert len(search_page("made").product_ids) == 4
