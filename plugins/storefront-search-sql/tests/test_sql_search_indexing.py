"""The index follows the catalog (event → job), can be rebuilt, and keeps its contract."""
import pytest
from sqlalchemy import func, select, text

import storefront_search_sql
from storefront.catalog import services
from storefront.extensions import db
from storefront.plugins import SearchQuery, load_product_documents
from storefront.plugins.conformance import check_search_plugin
from storefront_search_sql.tables import documents


def test_the_sql_backend_keeps_the_search_contract(app, make_search_product):
    for n in range(7):
        make_search_product(f"Conformance Lamp {n}")
    pages = check_search_plugin(app, "sql", SearchQuery("lamp", per_page=5))
    assert pages[0].total == 7


def test_a_renamed_product_is_found_by_its_new_title_only(make_search_product, search_page):
    product_id = make_search_product("Enamel Kettle")

    services.save_product({"title": "Enamel Teapot"}, product=services.get_product(product_id))

    assert search_page("kettle").total == 0
    assert search_page("teapot").product_ids == (product_id,)


def test_a_deleted_or_archived_product_leaves_the_index(make_search_product, search_page):
    kept, archived, deleted = (make_search_product(title) for title in ("Oak Stool", "Oak Bench", "Oak Chair"))

    services.set_status([archived], "archived")
    services.delete_product(services.get_product(deleted))

    assert search_page("oak").product_ids == (kept,)
    assert db.session.scalar(select(func.count()).select_from(documents)) == 1


def test_stock_changes_reach_the_in_stock_filter(make_search_product, search_page):
    product_id = make_search_product("Wool Blanket", stock=0)
    assert search_page("blanket", in_stock=("true",)).total == 0

    variant = services.get_product(product_id).variants[0]
    services.adjust_stock(variant.id, 4, "restock")

    assert search_page("blanket", in_stock=("true",)).product_ids == (product_id,)


def test_changes_are_queued_on_the_search_queue_when_redis_is_used(app, make_search_product, queued_jobs, search_page):
    from rq import Queue

    product_id = make_search_product("Rattan Lantern")

    assert Queue("search", connection=queued_jobs.connection).count >= 1
    assert search_page("lantern").total == 0
    queued_jobs()
    assert search_page("lantern").product_ids == (product_id,)


def test_reindex_rebuilds_the_index_and_forgets_products_it_missed(app, make_search_product, search_page):
    ids = [make_search_product(f"Cotton Towel {n}") for n in range(5)]
    gone = ids.pop(2)
    # Deleted while the index was not following (another backend was in use): its rows stay.
    app.config["SEARCH_BACKEND"] = "basic"
    services.delete_product(services.get_product(gone))
    app.config["SEARCH_BACKEND"] = "sql"
    db.session.execute(text("DELETE FROM search_sql_fts WHERE rowid <> :gone" if db.engine.dialect.name == "sqlite"
                            else "DELETE FROM search_sql_fts WHERE product_id <> :gone"), {"gone": gone})
    db.session.execute(documents.delete().where(documents.c.product_id != gone))
    db.session.commit()
    assert search_page("cotton").product_ids == (gone,)

    result = app.test_cli_runner().invoke(args=["search", "reindex", "--batch-size", "2"])

    assert result.exit_code == 0, result.output
    assert "Indexing" in result.output and "Done. documents: 4" in result.output
    assert set(search_page("cotton").product_ids) == set(ids)


def test_status_shows_the_backend_in_use_and_its_documents(app, make_search_product):
    make_search_product("Clay Vase")

    result = app.test_cli_runner().invoke(args=["search", "status"])

    assert result.exit_code == 0, result.output
    assert "SEARCH_BACKEND = 'sql'; active products: 1" in result.output
    assert "* sql" in result.output and "documents: 1" in result.output


def test_only_the_chosen_backend_follows_the_catalog(make_plugin_app):
    app = make_plugin_app(storefront_search_sql, SEARCH_BACKEND="basic")
    with app.app_context():
        services.save_product({"title": "Hidden Lamp", "status": "active"})
        assert db.session.scalar(select(func.count()).select_from(documents)) == 0


def test_documents_carry_what_search_needs(app, make_search_product, make_search_category):
    home = make_search_category("Home")
    lamps = make_search_category("Lamps", parent=home)
    product_id = make_search_product("Brass Lamp", description="A **warm** light &amp; a <em>soft</em> glow",
                              brand="Lumen", price_minor=4500, options={"colour": "Gold"},
                              attributes={"material": "brass"}, categories=[lamps], sku="BL-1")

    document, = load_product_documents([product_id, 999_999])

    assert (document.title, document.brand, document.skus, document.price.minor) == ("Brass Lamp", "Lumen",
                                                                                   ("BL-1",), 4500)
    assert document.description_text == "A warm light & a soft glow"
    assert document.category_paths == ("/home/lamps",)
    assert [c.slug for c in document.categories_with_ancestors] == ["home", "lamps"]
    assert dict(document.attributes) == {"colour": ("Gold",), "material": ("brass",)}
    assert document.searchable and document.in_stock and document.created_at > 0


def test_unchanged_words_keep_their_full_text_row_and_optimize_compacts_it(app, make_search_product, search_page):
    product_id = make_search_product("Linen Apron", stock=1)
    key = "rowid" if db.engine.dialect.name == "sqlite" else "product_id"
    before = db.session.execute(text(f"SELECT {key}, title, body FROM search_sql_fts")).all()

    variant = services.get_product(product_id).variants[0]
    services.adjust_stock(variant.id, 5, "restock")  # re-indexes the product, same words

    assert db.session.execute(text(f"SELECT {key}, title, body FROM search_sql_fts")).all() == before
    db.session.rollback()  # MariaDB's rebuild waits for transactions that read the table
    result = app.test_cli_runner().invoke(args=["plugins", "sql", "optimize"])
    assert result.exit_code == 0, result.output
    assert search_page("apron").product_ids == (product_id,)


@pytest.mark.mariadb
def test_optimize_gives_up_rather_than_queue_searches_behind_a_long_transaction(app, make_search_product, monkeypatch):
    from storefront_search_sql import backend

    make_search_product("Linen Apron")
    monkeypatch.setattr(backend, "OPTIMIZE_LOCK_WAIT", 1)
    db.session.execute(text("SELECT count(*) FROM search_sql_fts"))  # an open transaction holds the table

    result = app.test_cli_runner().invoke(args=["plugins", "sql", "optimize"])

    assert result.exit_code == 1
    assert "Could not optimise the search index" in result.output
    db.session.rollback()
