"""One writer (jobs), many readers: the index follows the catalog, is rebuilt by the CLI,
and a web process sees new commits without reopening anything."""
import os

import pytest
from rq import Queue

import storefront_search_tantivy
from storefront.catalog import services
from storefront.catalog.search import search_products
from storefront.plugins import SearchQuery
from storefront.plugins.conformance import backends_from, check_search_plugin
from storefront_search_tantivy import index_directory, store


def test_the_tantivy_backend_keeps_the_search_contract(app, make_search_product):
    for n in range(7):
        make_search_product(f"Conformance Lamp {n}")
    pages = check_search_plugin(app, "tantivy", SearchQuery("lamp", per_page=5))
    assert pages[0].total == 7


def test_the_index_lives_in_the_instance_folder(app, make_search_product):
    make_search_product("Cork Board")

    directory = index_directory()
    assert directory.startswith(os.path.join(app.instance_path, "search", "tantivy"))
    assert os.path.exists(os.path.join(directory, "meta.json"))


def test_a_renamed_archived_or_deleted_product_follows_through_the_inline_job(make_search_product, search_page):
    kettle, bench, chair = (make_search_product(title) for title in ("Enamel Kettle", "Oak Bench", "Oak Chair"))

    services.save_product({"title": "Enamel Teapot"}, product=services.get_product(kettle))
    services.set_status([bench], "archived")
    services.delete_product(services.get_product(chair))

    assert search_page("kettle").total == 0
    assert search_page("teapot").product_ids == (kettle,)
    assert search_page("oak").total == 0


def test_with_redis_the_web_process_only_queues_and_the_worker_writes(app, make_search_product, queued_jobs,
                                                                      search_page):
    make_search_product("Rattan Lantern")

    assert Queue("search", connection=queued_jobs.connection).count == 2  # saved, then its variant
    with pytest.raises(store.IndexNotBuilt):
        backends_from("tantivy")[0].search(SearchQuery("lantern"))
    queued_jobs()
    assert search_page("lantern").total == 1


def test_a_reader_sees_another_process_commit_without_reopening(app, make_app, make_search_product, search_page):
    make_search_product("Felt Slippers")
    assert search_page("slippers").total == 1
    # Another app on the same index folder and database plays the worker process.
    worker = make_app(plugins=(storefront_search_tantivy,), PLUGINS_AUTOLOAD=False, SEARCH_BACKEND="tantivy",
                      PLUGIN_TANTIVY_INDEX_DIR=os.path.join(app.instance_path, "search", "tantivy"))
    with worker.app_context():
        services.save_product({"title": "Felt Slippers Deluxe", "status": "active"})

    assert search_page("slippers").total == 2


def test_without_an_index_the_basic_search_answers(app):
    app.config["SEARCH_BACKEND"] = "basic"  # saved before tantivy was chosen: nothing indexed
    services.save_product({"title": "Jute Rug", "status": "active"})
    app.config["SEARCH_BACKEND"] = "tantivy"

    outcome = search_products(SearchQuery("jute"))

    assert (outcome.backend, outcome.fell_back, outcome.page.total) == ("basic", True, 1)


def test_a_second_writer_waits_for_the_first_then_gives_up(app, monkeypatch):
    monkeypatch.setattr(store, "LOCK_WAIT_SECONDS", 0.2)
    with store.writer(index_directory(), 20_000_000):
        with pytest.raises(store.IndexBusy):
            with store.writer(index_directory(), 20_000_000):
                pass
    with store.writer(index_directory(), 20_000_000):
        pass  # the lock was released


def test_reindex_builds_the_index_with_a_progress_bar(app, make_search_product, search_page):
    app.config["SEARCH_BACKEND"] = "basic"  # products saved before tantivy was chosen
    ids = [make_search_product(f"Cotton Towel {n}") for n in range(5)]
    services.set_status([ids.pop()], "draft")
    app.config["SEARCH_BACKEND"] = "tantivy"

    result = app.test_cli_runner().invoke(args=["search", "reindex", "--backend", "tantivy", "--batch-size", "2"])

    assert result.exit_code == 0, result.output
    assert "Rebuilding 'tantivy': 4 active products" in result.output and "documents: 4" in result.output
    assert set(search_page("towel").product_ids) == set(ids)
    status = app.test_cli_runner().invoke(args=["search", "status"])
    assert "* tantivy" in status.output and "documents: 4" in status.output


def test_a_panic_inside_tantivy_still_leaves_the_shop_a_search(app, make_search_product, monkeypatch):
    make_search_product("Jute Rug")

    class PanicException(BaseException):  # what pyo3 raises for a Rust panic
        pass

    def panic(directory):
        raise PanicException("Limit must be greater than 0")

    monkeypatch.setattr(store, "searcher", panic)
    outcome = search_products(SearchQuery("jute"))

    assert (outcome.backend, outcome.fell_back, outcome.page.total) == ("basic", True, 1)
