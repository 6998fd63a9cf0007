"""``flask plugins new KIND NAME``: a plugin package whose tests pass as generated.

The package is ``storefront-<kind>-<name>/`` with ``setup.cfg`` (the entry point),
``pyproject.toml``, ``README.md``, ``storefront_<name>/__init__.py`` (hook
implementations and declared settings) and ``tests/`` (a conftest using
``storefront.testing`` and a test running the conformance check for its kind).
"""
from __future__ import annotations

import os
from string import Template

from .manager import DISTRIBUTION_PREFIX, ENTRY_POINT_GROUP, PACKAGE_PREFIX, PLUGIN_NAME_PATTERN

KINDS = ("shipping", "payment", "search")


class ScaffoldError(ValueError):
    """The package cannot be created; the message says why."""


SETUP_CFG = Template("""\
[metadata]
name = $distribution
version = 0.1.0
description = $title $kind for Storefront.
long_description = file: README.md
long_description_content_type = text/markdown

[options]
packages = find:
python_requires = >=3.11
install_requires =
    storefront>=0.1,<1

[options.packages.find]
include = $package, $package.*

[options.entry_points]
$group =
    $name = $package

[tool:pytest]
testpaths = tests
addopts = --strict-markers
filterwarnings =
    error
""")

PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"
"""

README = Template("""\
# $distribution

$title $kind for Storefront.

    pip install -e .            # then restart the shop; it shows up in `flask plugins list`
    flask plugins settings $name
    pytest tests                # runs the conformance check for $kind plugins

The plugin's name is `$name` (the entry point in `setup.cfg`): it is the key of its
settings (`flask plugins settings $name key=value`, or `PLUGIN_${upper}_<KEY>` in the
config) and the prefix of anything it registers. Import only from `storefront.plugins`
and `storefront.money`; `docs/plugins.md` of Storefront lists every hook.
""")

CONFTEST = """\
pytest_plugins = ["storefront.testing"]
"""

MODULES = {
    "shipping": Template('''\
"""$title: shipping quotes for Storefront."""
from __future__ import annotations

from storefront.money import Money
from storefront.plugins import Setting, ShippingQuote, ShippingRequest, get_settings, hookimpl

NAME = "$name"
STOREFRONT_REQUIRES = ">=0.1,<1"

SETTINGS = [
    Setting("label", "str", default="$title shipping", help="What the shopper sees at checkout."),
    Setting("rate_minor", "int", default=500, min=0,
            help="Price in minor units of the cart's currency (500 = 5.00)."),
    Setting("countries", "list", optional=True, help="Countries you ship to; empty means all."),
]


@hookimpl
def storefront_shipping_quotes(request: ShippingRequest) -> list[ShippingQuote] | None:
    """One flat quote for every destination we ship to."""
    settings = get_settings(NAME)
    if settings["countries"] and request.destination.country not in settings["countries"]:
        return None
    price = Money(settings["rate_minor"], request.subtotal.currency)
    return [ShippingQuote(f"{NAME}:standard", settings["label"], price)]
'''),
    "payment": Template('''\
"""$title: a payment gateway for Storefront.

Replace the bodies of the gateway's methods with calls to your provider; keep the
return types (see ``PaymentGateway`` in storefront.plugins).
"""
from __future__ import annotations

from flask import current_app
from markupsafe import Markup

from storefront.money import Money
from storefront.plugins import (PaymentCallback, PaymentRef, PaymentRequest, PaymentResult,
                                PaymentStep, Setting, get_settings, hookimpl)

NAME = "$name"
STOREFRONT_REQUIRES = ">=0.1,<1"

SETTINGS = [
    Setting("instructions", "str", default="We will e-mail you how to pay.",
            help="Shown to the shopper after placing the order."),
    Setting("api_key", "str", optional=True, secret=True, help="Your provider's secret key."),
]


class ${classname}Gateway:
    id = NAME
    name = "$title"

    def is_available(self, amount: Money, country: str) -> bool:
        return amount.minor > 0

    def start(self, request: PaymentRequest) -> PaymentStep:
        instructions = get_settings(NAME)["instructions"]
        return PaymentStep.render(Markup("<p>{}</p>").format(instructions))

    def handle_callback(self, callback: PaymentCallback) -> PaymentResult:
        """Verify the request first (raise InvalidCallback when it is not authentic),
        then ask your provider; never report money for a payment it does not know."""
        if callback.payment is None:
            return PaymentResult("failed", Money(0, current_app.config["STORE_CURRENCY"]), message="Unknown payment.")
        return PaymentResult("pending", callback.payment.amount, callback.payment.psp_reference)

    def capture(self, payment: PaymentRef, amount: Money) -> PaymentResult:
        if amount.minor <= 0:
            return PaymentResult("failed", amount, message="Nothing to capture.")
        return PaymentResult("paid", amount, payment.psp_reference or payment.payment_id)

    def refund(self, payment: PaymentRef, amount: Money) -> PaymentResult:
        if amount.minor <= 0:
            return PaymentResult("failed", amount, message="Nothing to refund.")
        return PaymentResult("refunded", amount, payment.psp_reference or payment.payment_id)


@hookimpl
def storefront_payment_gateways() -> list[${classname}Gateway]:
    return [${classname}Gateway()]
'''),
    "search": Template('''\
"""$title: a search backend for Storefront.

Replace the bodies with calls to your search engine; keep the return types (see
``SearchBackend`` in storefront.plugins). Return product ids only: the core renders.
"""
from __future__ import annotations

from storefront.plugins import SearchPage, SearchQuery, Setting, get_settings, hookimpl

NAME = "$name"
STOREFRONT_REQUIRES = ">=0.1,<1"

SETTINGS = [
    Setting("max_per_page", "int", default=100, min=1, max=1000,
            help="Largest page of results a query may ask for."),
]


class ${classname}Search:
    id = NAME
    name = "$title"

    def search(self, query: SearchQuery) -> SearchPage:
        per_page = min(query.per_page, get_settings(NAME)["max_per_page"])
        matches: list[int] = []  # ask your engine here
        start = (query.page - 1) * per_page
        return SearchPage(tuple(matches[start:start + per_page]), total=len(matches))

    def index(self, product_ids: list[int]) -> None:
        """Send these products to your engine (called from a job)."""

    def remove(self, product_ids: list[int]) -> None:
        """Delete these products from your engine."""


@hookimpl
def storefront_search_backends() -> list[${classname}Search]:
    return [${classname}Search()]
'''),
}

TESTS = {
    "shipping": Template('''\
import pytest

import $package
from storefront.plugins.conformance import check_shipping_plugin, quotes_from


@pytest.fixture
def app(make_plugin_app):
    application = make_plugin_app($package)
    with application.app_context():
        yield application


def test_${name}_keeps_the_shipping_contract(app):
    check_shipping_plugin(app, "$name")


def test_the_rate_is_a_setting(app, configure_plugin, make_shipping_request):
    configure_plugin("$name", rate_minor=750)

    quote, = quotes_from("$name", make_shipping_request())
    assert quote.price.minor == 750


def test_countries_not_listed_get_no_quote(app, configure_plugin, make_shipping_request):
    configure_plugin("$name", countries="DE")

    assert quotes_from("$name", make_shipping_request(country="FR")) == []
'''),
    "payment": Template('''\
import pytest

import $package
from storefront.plugins.conformance import check_payment_gateway, gateways_from, sample_payment_request


@pytest.fixture
def app(make_plugin_app):
    application = make_plugin_app($package)
    with application.app_context():
        yield application


def test_${name}_keeps_the_payment_contract(app):
    check_payment_gateway(app, "$name")


def test_the_shopper_sees_the_instructions(app, configure_plugin):
    configure_plugin("$name", instructions="Pay <soon>")

    gateway, = gateways_from("$name")
    step = gateway.start(sample_payment_request("EUR"))
    assert step.kind == "render" and "Pay &lt;soon&gt;" in step.html
'''),
    "search": Template('''\
import pytest

import $package
from storefront.plugins import SearchQuery
from storefront.plugins.conformance import backends_from, check_search_plugin


@pytest.fixture
def app(make_plugin_app):
    application = make_plugin_app($package)
    with application.app_context():
        yield application


def test_${name}_keeps_the_search_contract(app):
    check_search_plugin(app, "$name")


def test_an_empty_index_finds_nothing(app):
    backend, = backends_from("$name")
    assert backend.search(SearchQuery("mug")).product_ids == ()
'''),
}


def scaffold(kind: str, name: str, directory: str = ".") -> str:
    """Write the package for plugin ``name`` of ``kind`` under ``directory``; returns its path."""
    if kind not in KINDS:
        raise ScaffoldError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not PLUGIN_NAME_PATTERN.fullmatch(name):
        raise ScaffoldError(f"{name!r} is not a valid plugin name: use lower-case letters, digits "
                            f"and _, starting with a letter")
    distribution = f"{DISTRIBUTION_PREFIX}{kind}-{name.replace('_', '-')}"
    package = f"{PACKAGE_PREFIX}{name}"
    root = os.path.join(directory, distribution)
    if os.path.exists(root):
        raise ScaffoldError(f"{root} already exists; choose another name or --path")
    words = {
        "name": name, "kind": kind, "package": package, "distribution": distribution,
        "group": ENTRY_POINT_GROUP, "title": name.replace("_", " ").title(),
        "classname": "".join(part.title() for part in name.split("_")), "upper": name.upper(),
    }
    files = {
        "setup.cfg": SETUP_CFG.substitute(words),
        "pyproject.toml": PYPROJECT,
        "README.md": README.substitute(words),
        os.path.join(package, "__init__.py"): MODULES[kind].substitute(words),
        os.path.join("tests", "conftest.py"): CONFTEST,
        os.path.join("tests", f"test_{name}_{kind}.py"): TESTS[kind].substitute(words),
    }
    for relative, content in files.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(content)
    return root
