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
