"""What plugin authors get: a scaffold whose tests pass, docs that match the hookspecs,
a tutorial that works, and conformance checks that catch broken plugins."""
import ast
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from storefront.money import Money
from storefront.plugins import PaymentStep, SearchPage, ShippingQuote, SLOT_PREFIX, hookimpl, hookspecs
from storefront.plugins.conformance import (ConformanceError, check_payment_plugin, check_search_behaviour,
                                            check_search_plugin, check_shipping_plugin)
from storefront.plugins.docs import GUIDE_PATH, hook_sections, update_guide
from storefront.plugins.scaffold import KINDS, ScaffoldError, scaffold

REPOSITORY = Path(__file__).resolve().parents[2]
SLOTS = {"head", "header_nav", "footer", "product_detail", "cart_summary", "checkout",
         "order_confirmation", "account_menu"}


def run_package_tests(package: Path) -> subprocess.CompletedProcess:
    """Run a plugin package's own tests the way its author would, importable from its folder."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(package), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=package,
                          env=env, capture_output=True, text=True, timeout=120)


# --- the scaffold --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_a_scaffolded_plugin_passes_its_own_tests_as_generated(kind, tmp_path):
    package = Path(scaffold(kind, f"my_{kind}", str(tmp_path)))

    result = run_package_tests(package)

    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\d+ passed", result.stdout)


def test_flask_plugins_new_writes_an_installable_package(runner, tmp_path):
    result = runner.invoke(args=["plugins", "new", "shipping", "parcels", "--path", str(tmp_path)])

    package = tmp_path / "storefront-shipping-parcels"
    assert result.exit_code == 0 and str(package) in result.output
    assert sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file()) == [
        "README.md", "pyproject.toml", "setup.cfg", "storefront_parcels/__init__.py",
        "tests/conftest.py", "tests/test_parcels_shipping.py"]
    setup = (package / "setup.cfg").read_text()
    assert "[options.entry_points]\nstorefront.plugins =\n    parcels = storefront_parcels" in setup
    assert 'pytest_plugins = ["storefront.testing"]' in (package / "tests/conftest.py").read_text()


def test_the_scaffold_refuses_a_bad_name_or_an_existing_folder(runner, tmp_path):
    bad = runner.invoke(args=["plugins", "new", "shipping", "Parcels!", "--path", str(tmp_path)])
    scaffold("search", "finder", str(tmp_path))

    with pytest.raises(ScaffoldError, match="already exists"):
        scaffold("search", "finder", str(tmp_path))
    assert bad.exit_code == 1 and "'Parcels!' is not a valid plugin name" in bad.output


# --- the documentation ------------------------------------------------------------------------------


def test_the_hook_reference_in_docs_matches_the_hookspec_docstrings():
    assert update_guide(GUIDE_PATH, write=False) is False, "run `flask plugins docs`"


def test_every_hookspec_is_grouped_documented_and_exampled():
    specs = {name for name in vars(hookspecs) if name.startswith("storefront_")}
    grouped = [name for _title, names in hook_sections() for name in names]
    guide = Path(GUIDE_PATH).read_text()

    assert sorted(grouped) == sorted(specs)
    for name in specs:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert "Example::" in doc and len(doc.splitlines()) >= 3, f"{name} is not documented"
        assert f"#### `{name}(" in guide


def test_every_template_slot_of_the_issue_has_a_spec():
    slots = {name[len(SLOT_PREFIX):] for name in vars(hookspecs) if name.startswith(SLOT_PREFIX)}

    assert slots == SLOTS


@pytest.mark.slow
def test_the_tutorial_plugin_in_the_docs_works_as_written(tmp_path):
    guide = Path(GUIDE_PATH).read_text()
    tutorial = guide[guide.index("## From zero"):guide.index("## What a plugin declares")]
    blocks = re.findall(r"```(\w+)\n(.*?)```", tutorial, re.DOTALL)
    code = [body for language, body in blocks if language in ("ini", "toml", "python")]
    package = tmp_path / "storefront-shipping-parcels"
    files = ["setup.cfg", "pyproject.toml", "storefront_parcels/__init__.py", "tests/conftest.py",
             "tests/test_parcels_shipping.py"]
    assert len(code) == len(files)
    for name, body in zip(files, code):
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(body)

    result = run_package_tests(package)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


# --- conformance checks ---------------------------------------------------------------------------------


class SloppyShipping:
    PLUGIN_NAME = "sloppy"

    def __init__(self):
        self.calls = 0

    @hookimpl
    def storefront_shipping_quotes(self, request):
        self.calls += 1
        return [ShippingQuote("other:standard", "Standard", Money(500, "USD")),
                ShippingQuote("sloppy:cheap", " ", Money(-1, request.subtotal.currency)),
                ShippingQuote("sloppy:random", "Dice", Money(self.calls, request.subtotal.currency))]


def test_the_shipping_check_lists_every_broken_promise(make_plugin_app):
    app = make_plugin_app(SloppyShipping())

    with pytest.raises(ConformanceError) as broken:
        check_shipping_plugin(app, "sloppy")

    problems = "\n".join(broken.value.problems)
    assert "quote id 'other:standard' must start with 'sloppy:'" in problems
    assert "price in USD, cart in EUR" in problems
    assert "negative price" in problems and "empty label" in problems
    assert "asking twice gave different quotes" in problems


def test_the_shipping_check_notices_a_plugin_that_is_not_loaded(make_plugin_app):
    with pytest.raises(ConformanceError, match="no plugin named 'ghost'"):
        check_shipping_plugin(make_plugin_app(), "ghost")


def test_the_payment_check_notices_missing_methods_and_wrong_steps(make_plugin_app):
    class HalfGateway:
        id = "half"
        name = "Half"

        def is_available(self, amount, country):
            return "yes"

        def start(self, request):
            return "redirect somewhere"

    class Half:
        PLUGIN_NAME = "half"

        @hookimpl
        def storefront_payment_gateways(self):
            return [HalfGateway()]

    with pytest.raises(ConformanceError, match="missing handle_callback, capture, refund"):
        check_payment_plugin(make_plugin_app(Half()), "half")


def test_the_payment_check_accepts_a_complete_gateway(make_plugin_app):
    class Cash:
        id = "cash"
        name = "Cash on delivery"

        def is_available(self, amount, country):
            return country == "DE"

        def start(self, request):
            return PaymentStep.render("<p>Pay the courier.</p>")

        def handle_callback(self, callback): ...
        def capture(self, payment, amount): ...
        def refund(self, payment, amount): ...

    class CashPlugin:
        PLUGIN_NAME = "cash"

        @hookimpl
        def storefront_payment_gateways(self):
            return [Cash()]

    assert [gateway.id for gateway in check_payment_plugin(make_plugin_app(CashPlugin()), "cash")] == ["cash"]


def test_the_search_check_notices_pages_that_break_the_contract(make_plugin_app):
    class Overflowing:
        id = "overflowing"
        name = "Overflowing"

        def search(self, query):
            return SearchPage(product_ids=tuple(range(query.per_page + 1)), total=1)

        def index(self, product_ids): ...
        def remove(self, product_ids): ...

    class Search:
        PLUGIN_NAME = "overflowing"

        @hookimpl
        def storefront_search_backends(self):
            return [Overflowing()]

    with pytest.raises(ConformanceError) as broken:
        check_search_plugin(make_plugin_app(Search()), "overflowing")

    problems = "\n".join(broken.value.problems)
    assert "6 ids on a page of 5" in problems and "total 1 < ids on the page" in problems
    assert "a page far past the end must be empty" in problems


def test_the_search_behaviour_check_lists_everything_a_backend_gets_wrong(make_plugin_app):
    from storefront.catalog.search import basic_search

    class Substring:  # the core's fallback: no facets, no filters, no stemming
        id = "substring"
        name = "Substring"

        def search(self, query):
            return basic_search(query)

        def index(self, product_ids): ...
        def remove(self, product_ids): ...

    class Search:
        PLUGIN_NAME = "substring"

        @hookimpl
        def storefront_search_backends(self):
            return [Substring()]

    with pytest.raises(ConformanceError) as broken:
        check_search_behaviour(make_plugin_app(Search(), SEARCH_BACKEND="substring"), "substring")

    problems = "\n".join(broken.value.problems)
    assert "facets count the whole result, not the page: expected (5, 2, {'category'" in problems
    assert "filter: brand: expected" in problems and "brand, attribute or SKU 'crockett'" in problems
    assert "drafts and archived products are never found" not in problems  # that it gets right
    assert "sort by price, lowest first" not in problems


# --- dogfooding -------------------------------------------------------------------------------------------


def test_first_party_plugins_import_only_the_public_api():
    allowed = ("storefront.plugins", "storefront.money")
    for source in REPOSITORY.glob("plugins/*/storefront_*/**/*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            modules = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                       else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            for module in modules:
                if module and module.split(".")[0] == "storefront":
                    assert module in allowed, f"{source} imports {module}"
