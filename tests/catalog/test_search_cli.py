"""`flask search reindex` and `flask search status` as a merchant uses them."""
from storefront.catalog import services
from storefront.catalog.search import product_id_batches
from storefront.plugins import SearchPage, hookimpl


class RecordingEngine:
    id = "recorder"
    name = "Records what it is asked"

    def __init__(self, batches, fail_at=None):
        self.batches = batches
        self.fail_at = fail_at

    def search(self, query):
        return SearchPage(product_ids=(), total=0)

    def index(self, product_ids):
        if self.fail_at is not None and self.fail_at in product_ids:
            raise OSError("disk full")
        self.batches.append(list(product_ids))

    def remove(self, product_ids):
        pass


class Recorder:
    PLUGIN_NAME = "recorder"

    def __init__(self):
        self.batches = []
        self.fail_at = None

    @hookimpl
    def storefront_search_backends(self):
        return [RecordingEngine(self.batches, self.fail_at)]


def make_products(count):
    return [services.save_product({"title": f"Product {n}", "status": "active"}).id for n in range(count)]


def test_reindex_walks_every_id_in_contiguous_batches_with_a_progress_bar(make_app):
    recorder = Recorder()
    app = make_app(plugins=(recorder,), PLUGINS_AUTOLOAD=False, SEARCH_BACKEND="recorder")
    with app.app_context():
        ids = make_products(7)
        services.delete_product(services.get_product(ids[3]))

        # MariaDB never reuses ids, so earlier tests' ids come first: start at this test's.
        result = app.test_cli_runner().invoke(args=["search", "reindex", "--batch-size", "3",
                                                    "--from-id", str(ids[0])])

    assert result.exit_code == 0, result.output
    assert "Rebuilding 'recorder': 6 active products" in result.output
    assert "Indexing" in result.output and "Done. no statistics" in result.output
    # Deleted ids are included: backends forget ids without a document.
    assert [len(b) for b in recorder.batches] == [3, 3, 1]
    assert sum(recorder.batches, []) == list(range(ids[0], ids[-1] + 1))


def test_reindex_names_the_failing_batch_and_how_to_resume(make_app):
    recorder = Recorder()
    app = make_app(plugins=(recorder,), PLUGINS_AUTOLOAD=False, SEARCH_BACKEND="recorder")
    with app.app_context():
        first = make_products(8)[0]
        recorder.fail_at = first + 5

        result = app.test_cli_runner().invoke(args=["search", "reindex", "--batch-size", "2",
                                                    "--from-id", str(first)])
        assert result.exit_code == 1
        assert f"ids {first + 4}–{first + 5} failed" in result.output
        assert f"Resume with --from-id {first + 4}" in result.output

        resumed = app.test_cli_runner().invoke(args=["search", "reindex", "--batch-size", "2", "--from-id",
                                                     str(first + 6)])
    assert resumed.exit_code == 0, resumed.output
    assert recorder.batches[-1] == [first + 6, first + 7]


def test_reindex_of_an_unknown_backend_lists_the_enabled_ones(make_app):
    app = make_app(plugins=(Recorder(),), PLUGINS_AUTOLOAD=False)

    result = app.test_cli_runner().invoke(args=["search", "reindex", "--backend", "elastic"])

    assert result.exit_code == 1
    assert "No enabled search backend is called 'elastic'. Enabled backends: recorder." in result.output


def test_status_warns_when_the_chosen_backend_is_missing(make_app):
    app = make_app(plugins=(Recorder(),), PLUGINS_AUTOLOAD=False, SEARCH_BACKEND="sql")

    result = app.test_cli_runner().invoke(args=["search", "status"])

    assert result.exit_code == 0
    assert "no enabled backend is called 'sql'; the basic search answers" in result.output
    assert "  recorder   Records what it is asked: no statistics" in result.output


def test_an_empty_catalog_has_no_batches(app):
    assert product_id_batches(500) == []
