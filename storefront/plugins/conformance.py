"""Conformance checks a plugin runs against itself, in its own tests.

Each check drives the plugin through a real app, the way checkout or search would,
and raises :class:`ConformanceError` listing *every* broken promise (not only the
first)::

    from storefront.plugins.conformance import check_shipping_plugin

    def test_my_plugin_keeps_the_shipping_contract(app):
        check_shipping_plugin(app, "myplugin")

The checks switch the plugin off and on again (it must then stay silent), so run them
on a test database — the ``app`` / ``make_plugin_app`` fixtures of
:mod:`storefront.testing` provide one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from flask import Flask

from ..money import Money
from . import manager
from .types import (Address, Facet, Line, PaymentGateway, PaymentRequest, PaymentResult,
                    PaymentStep, SearchBackend, SearchPage, SearchQuery, ShippingQuote,
                    ShippingRequest)


class ConformanceError(AssertionError):
    """The plugin breaks the contract; ``problems`` lists every broken promise."""

    def __init__(self, plugin: str, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__(f"plugin {plugin!r} breaks the contract:\n"
                         + "\n".join(f"  - {p}" for p in self.problems))


def sample_lines(currency: str) -> tuple[Line, ...]:
    return (Line("TSHIRT-M", 2, Money.from_decimal("19.90", currency), weight_grams=200),
            Line("MUG", 1, Money.from_decimal("9.50", currency), weight_grams=350))


def sample_shipping_requests(currency: str) -> list[ShippingRequest]:
    """Carts a shop really sees: small and large, near and far, one with a postcode."""
    lines = sample_lines(currency)
    subtotal = Money.sum((line.total for line in lines), currency)
    big = (Line("SOFA", 1, Money.from_decimal("999", currency), weight_grams=40_000),)
    return [
        ShippingRequest(lines, Address("DE", "10115", "Berlin"), subtotal),
        ShippingRequest(lines, Address("US", "94103", "San Francisco", "CA"), subtotal),
        ShippingRequest(big, Address("AT"), big[0].total),
        ShippingRequest(lines, Address("JP"), subtotal),
    ]


def _plugin_problems(app: Flask, name: str) -> list[str]:
    info = manager.state(app).plugins.get(name)
    if info is None:
        return [f"no plugin named {name!r} is known to this app (is it installed, or passed "
                f"to make_plugin_app / create_app(plugins=…)?)"]
    if not info.loaded:
        return [f"not loaded: {info.status}: {info.reason}"]
    if not manager.state(app).is_enabled(name):
        return ["is disabled in this app's database"]
    return []


def _answers_of(name: str, hook_name: str, **kwargs: Any) -> list[Any]:
    return [a.value for a in manager.collect_answers(hook_name, **kwargs) if a.plugin == name]


def _check_silent_when_disabled(name: str, hook_name: str, problems: list[str], **kwargs: Any) -> None:
    manager.set_enabled(name, False)
    try:
        if _answers_of(name, hook_name, **kwargs):
            problems.append(f"still answers {hook_name} while disabled")
    finally:
        manager.set_enabled(name, True)


def check_shipping_plugin(app: Flask, name: str,
                          requests: Sequence[ShippingRequest] | None = None) -> list[ShippingQuote]:
    """Check plugin ``name``'s ``storefront_shipping_quotes`` against the contract:

    quotes are :class:`ShippingQuote`, ids are ``"<name>:<code>"`` and unique per cart,
    prices are non-negative and in the cart's currency, asking twice gives the same
    quotes (checkout re-quotes and matches by id), and a disabled plugin says nothing.
    Returns every quote seen, for further assertions.
    """
    with app.app_context():
        problems = _plugin_problems(app, name)
        if problems:
            raise ConformanceError(name, problems)
        currency = app.config["STORE_CURRENCY"]
        seen: list[ShippingQuote] = []
        for request in requests or sample_shipping_requests(currency):
            where = f"for a cart to {request.destination.country}"
            quotes = _answers_of(name, "storefront_shipping_quotes", request=request)
            ids = []
            for quote in quotes:
                if not isinstance(quote, ShippingQuote):
                    problems.append(f"{where}: returned {quote!r}, not a ShippingQuote")
                    continue
                ids.append(quote.id)
                if not quote.id.startswith(f"{name}:"):
                    problems.append(f"{where}: quote id {quote.id!r} must start with '{name}:'")
                if not isinstance(quote.price, Money):
                    problems.append(f"{where}: price {quote.price!r} is not Money")
                elif quote.price.currency != request.subtotal.currency:
                    problems.append(f"{where}: price in {quote.price.currency}, cart in "
                                    f"{request.subtotal.currency}")
                elif quote.price.minor < 0:
                    problems.append(f"{where}: negative price {quote.price}")
                if not quote.label.strip():
                    problems.append(f"{where}: quote {quote.id!r} has an empty label")
            if len(ids) != len(set(ids)):
                problems.append(f"{where}: quote ids repeat: {ids}")
            again = _answers_of(name, "storefront_shipping_quotes", request=request)
            if again != quotes:
                problems.append(f"{where}: asking twice gave different quotes "
                                f"({quotes!r} then {again!r}); checkout re-quotes by id")
            seen.extend(q for q in quotes if isinstance(q, ShippingQuote))
        sample = (requests or sample_shipping_requests(currency))[0]
        _check_silent_when_disabled(name, "storefront_shipping_quotes", problems, request=sample)
    if problems:
        raise ConformanceError(name, problems)
    return seen


def sample_payment_request(currency: str) -> PaymentRequest:
    return PaymentRequest(payment_id="pay_conformance_1", order_number="SF-CONF-1",
                          amount=Money.from_decimal("49.30", currency), email="shopper@example.com",
                          return_url="http://127.0.0.1/payments/return",
                          cancel_url="http://127.0.0.1/checkout",
                          webhook_url="http://127.0.0.1/payments/webhook",
                          idempotency_key="storefront-pay_conformance_1")


def check_payment_plugin(app: Flask, name: str) -> list[Any]:
    """Check plugin ``name``'s payment gateways against :class:`PaymentGateway`:

    at least one gateway, string ``id`` and ``name``, every method present,
    ``is_available`` answers a bool, ``start`` returns a :class:`PaymentStep` (a
    finished one carries a :class:`PaymentResult` in the request's currency), and a
    disabled plugin offers no gateway. Returns the gateways.
    """
    with app.app_context():
        problems = _plugin_problems(app, name)
        if problems:
            raise ConformanceError(name, problems)
        currency = app.config["STORE_CURRENCY"]
        gateways = _answers_of(name, "storefront_payment_gateways")
        if not gateways:
            problems.append("returns no payment gateway")
        for gateway in gateways:
            label = f"gateway {getattr(gateway, 'id', gateway)!r}"
            if not isinstance(getattr(gateway, "id", None), str) or not gateway.id:
                problems.append(f"{label}: id must be a non-empty str")
            if not isinstance(getattr(gateway, "name", None), str) or not gateway.name:
                problems.append(f"{label}: name must be a non-empty str")
            if not isinstance(gateway, PaymentGateway):
                missing = [m for m in ("is_available", "start", "handle_callback", "capture", "refund")
                           if not callable(getattr(gateway, m, None))]
                problems.append(f"{label}: not a PaymentGateway (missing {', '.join(missing)})")
                continue
            request = sample_payment_request(currency)
            available = gateway.is_available(request.amount, "DE")
            if not isinstance(available, bool):
                problems.append(f"{label}: is_available returned {available!r}, not a bool")
            step = gateway.start(request)
            if not isinstance(step, PaymentStep):
                problems.append(f"{label}: start returned {step!r}, not a PaymentStep")
            elif step.kind == "done":
                result = step.result
                if not isinstance(result, PaymentResult):
                    problems.append(f"{label}: a finished step must carry a PaymentResult")
                elif result.amount.currency != currency:
                    problems.append(f"{label}: result in {result.amount.currency}, asked {currency}")
        _check_silent_when_disabled(name, "storefront_payment_gateways", problems)
    if problems:
        raise ConformanceError(name, problems)
    return gateways


def check_search_plugin(app: Flask, name: str, query: SearchQuery | None = None) -> list[SearchPage]:
    """Check plugin ``name``'s search backends against :class:`SearchBackend`:

    ``search`` returns a :class:`SearchPage` of int product ids, no more than
    ``per_page``, a ``total`` at least that long, well-formed facets, an empty page far
    past the end; ``index([])`` and ``remove([])`` are harmless; a disabled plugin
    offers no backend. Returns the first pages.
    """
    with app.app_context():
        problems = _plugin_problems(app, name)
        if problems:
            raise ConformanceError(name, problems)
        backends = _answers_of(name, "storefront_search_backends")
        pages = []
        if not backends:
            problems.append("returns no search backend")
        for backend in backends:
            label = f"backend {getattr(backend, 'id', backend)!r}"
            if not isinstance(backend, SearchBackend):
                problems.append(f"{label}: not a SearchBackend (needs id, name, search, index, remove)")
                continue
            backend.index([])
            backend.remove([])
            first = query or SearchQuery("", per_page=5)
            page = backend.search(first)
            if not isinstance(page, SearchPage):
                problems.append(f"{label}: search returned {page!r}, not a SearchPage")
                continue
            pages.append(page)
            if not all(isinstance(i, int) and not isinstance(i, bool) for i in page.product_ids):
                problems.append(f"{label}: product_ids must be ints, got {page.product_ids!r}")
            if len(page.product_ids) > first.per_page:
                problems.append(f"{label}: {len(page.product_ids)} ids on a page of {first.per_page}")
            if page.total < len(page.product_ids):
                problems.append(f"{label}: total {page.total} < ids on the page")
            if not all(isinstance(f, Facet) for f in page.facets):
                problems.append(f"{label}: facets must be Facet objects")
            far = backend.search(SearchQuery(first.text, first.filters, page=10**6, per_page=first.per_page))
            if not isinstance(far, SearchPage) or far.product_ids:
                problems.append(f"{label}: a page far past the end must be empty")
        _check_silent_when_disabled(name, "storefront_search_backends", problems)
    if problems:
        raise ConformanceError(name, problems)
    return pages


# --- search: what every backend finds, filters, sorts and counts -------------------------------
#
# The core's search page promises shoppers the same behaviour whichever backend answers.
# :func:`check_search_behaviour` builds a small catalog through the catalog services (so
# the backend indexes it the way it follows a real shop) and asks the questions the
# shop's pages ask. Backend-specific promises (typo tolerance, a SQL fast path …) stay in
# the plugin's own tests, which can use the same helpers: :func:`add_search_product`,
# :func:`add_search_category` and :func:`search_with` (fixtures ``make_search_product``,
# ``make_search_category`` and ``search_page`` in :mod:`storefront.testing`).


def add_search_category(name: str, parent: int | None = None) -> int:
    """A category (current app), committed: ``add_search_category("Shirts", parent=clothing)``
    → its id."""
    from ..catalog.models import Category
    from ..catalog.services import slugify
    from ..extensions import db

    category = Category(name=name, slug=slugify(name), parent_id=parent, description="", active=True)
    db.session.add(category)
    db.session.commit()
    return category.id


def add_search_product(title: str, description: str = "", brand: str = "", price_minor: int = 1000,
                       stock: int = 1, options: dict | None = None, attributes: dict | None = None,
                       categories: Sequence[int] = (), status: str = "active", sku: str | None = None) -> int:
    """A product with one variant, saved through the catalog services, which tell the
    plugins (a backend's index job runs inline without Redis) → its id."""
    from ..catalog import services

    product = services.save_product({"title": title, "description": description, "brand": brand,
                                     "status": status, "attributes": attributes or {},
                                     "category_ids": list(categories)})
    services.save_variant(product, {"sku": sku or f"SKU-{product.id}", "price_minor": price_minor,
                                    "stock": stock, "options": options or {}})
    services.commit_product(product)
    return product.id


def search_with(name: str) -> Callable[..., SearchPage]:
    """``run(text="", sort="relevance", page=1, per_page=24, **filters)`` → the
    :class:`SearchPage` the shop's search gives (current app), refusing an answer from any
    backend but ``name`` (the store's ``SEARCH_BACKEND`` must be ``name``): a fallback to
    the basic search raises :class:`ConformanceError`. Filters are keyword arguments:
    ``run("linen", brand=("Acme",), price_min=("1000",))``."""
    from ..catalog.search import search_products

    def run(text: str = "", sort: str = "relevance", page: int = 1, per_page: int = 24, **filters: Any
            ) -> SearchPage:
        outcome = search_products(SearchQuery(text, filters=filters, page=page, per_page=per_page,
                                              sort=sort))  # type: ignore[arg-type]
        if (outcome.backend, outcome.fell_back) != (name, False):
            raise ConformanceError(name, [f"search {text!r} was answered by {outcome.backend!r} "
                                          f"(fell back: {outcome.fell_back}); is SEARCH_BACKEND {name!r}?"])
        return outcome.page

    return run


def check_search_behaviour(app: Flask, name: str) -> None:
    """Check that backend ``name`` behaves as the shop's search page promises, on an empty
    catalog (the test fixtures give one; the store's ``SEARCH_BACKEND`` must be ``name``):

    words match titles, descriptions, brands and attributes, a title match ranks above a
    description match, every word must match, the start of the last word finds the whole
    word, a two-letter word and a lone stopword still find the titles with them, search
    syntax typed by a shopper is just text, an exact SKU finds its product, drafts and
    archived products are never found; filters on brand, category (with sub-categories),
    attributes, availability and price narrow the result, values of one filter are
    alternatives; facets count the whole result (not the page), in the shop's order and
    labels, a filtered facet counted without its own filter; sorts by price and age, pages,
    an empty page past the end, and a search without words lists every active product,
    newest first. Raises :class:`ConformanceError` listing every difference.
    """
    with app.app_context():
        problems = _plugin_problems(app, name)
        if problems:
            raise ConformanceError(name, problems)
        if _product_count():
            raise ConformanceError(name, ["the catalog must be empty when the check starts"])
        search = search_with(name)
        catalog = _SearchCatalog.build()
        for label, asked, expected in catalog.expectations(search):
            if asked != expected:
                problems.append(f"{label}: expected {expected!r}, got {asked!r}")
    if problems:
        raise ConformanceError(name, problems)


@dataclass
class _SearchCatalog:
    """The products :func:`check_search_behaviour` searches, by role."""

    ids: dict[str, int]

    @classmethod
    def build(cls) -> _SearchCatalog:
        add, ids = add_search_product, {}
        clothing = add_search_category("Clothing")
        shirts = add_search_category("Shirts", parent=clothing)
        for key, title, brand, size, price, stock, where in [
                ("acme_m1", "Linen Shirt Classic", "Acme", "M", 3000, 1, shirts),
                ("acme_m2", "Linen Shirt Slim", "Acme", "M", 3500, 1, shirts),
                ("acme_l", "Linen Shirt Relaxed", "Acme", "L", 4000, 1, shirts),
                ("bolt_l", "Linen Shirt Large", "Bolt", "L", 5000, 0, shirts),
                ("bolt_m", "Linen Trousers", "Bolt", "M", 7000, 1, clothing)]:
            ids[key] = add(title, brand=brand, options={"size": size}, categories=[where], price_minor=price,
                           stock=stock)
        ids["table"] = add("Oak Table", brand="Acme", price_minor=9000)
        ids["mug_middle"] = add("Mug Large", price_minor=2000)
        ids["mug_cheap"] = add("Mug Small", price_minor=1000)
        ids["mug_dear"] = add("Mug Deluxe", price_minor=3000)
        ids["mention"] = add("Desk Organiser", description="Keeps your wireless headphones tidy.")
        ids["headphones"] = add("Wireless Headphones", description="Closed-back, 30 hours of battery.")
        ids["monitors"] = add("Studio Monitors", description="Near-field speakers.")
        ids["tv"] = add("TV Stand", description="Walnut veneer.")
        ids["the_lamp"] = add("The Lamp", description="A lamp.")
        ids["desk_lamp"] = add("Desk Lamp", description="The brass one.")
        ids["boots"] = add("Chelsea Boots", brand="Crockett", sku="CB-7710", options={"colour": "Burgundy"})
        ids["kettle"] = add("Copper Kettle")
        add("Draft Lantern", status="draft")
        add("Archived Lantern", status="archived")
        ids["lantern"] = add("Storm Lantern")
        return cls(ids)

    def __getitem__(self, key: str) -> int:
        return self.ids[key]

    def expectations(self, search: Callable[..., SearchPage]) -> list[tuple[str, Any, Any]]:
        """(what is asked, the answer, the answer the shop promises)."""
        p = self.ids
        linen = {p["acme_m1"], p["acme_m2"], p["acme_l"], p["bolt_l"], p["bolt_m"]}
        checks: list[tuple[str, Any, Any]] = []

        def ids(label: str, page: SearchPage, expected: Any, *, ordered: bool = True) -> None:
            checks.append((label, page.product_ids if ordered else set(page.product_ids), expected))

        # words
        ids("a title match ranks above a description match", search("wireless headphones"),
            (p["headphones"], p["mention"]))
        ids("the start of the last word finds the whole word", search("monit"), (p["monitors"],))
        ids("the start of the last word, after a whole one", search("studio moni"), (p["monitors"],))
        ids("every word must match", search("linen trousers"), (p["bolt_m"],))
        checks.append(("a two-letter word finds the title with it", p["tv"] in search("tv").product_ids, True))
        ids("a stopword alone finds the titles with it", search("the"), (p["the_lamp"],))
        ids("a stopword beside other words is ignored", search("the lamp"), {p["the_lamp"], p["desk_lamp"]},
            ordered=False)
        for typed in ("crockett", "burgundy", "cb-7710", "CB-7710"):
            ids(f"brand, attribute or SKU {typed!r} finds the product", search(typed), (p["boots"],))
        for typed in ('"copper', "copper*", "-copper", "copper) OR ("):
            ids(f"search syntax {typed!r} is just text", search(typed), (p["kettle"],))
        ids("drafts and archived products are never found", search("lantern"), (p["lantern"],))

        # facets
        page = search("linen", per_page=2)
        checks.append(("facets count the whole result, not the page", (page.total, len(page.product_ids),
                                                                     _facet_counts(page)),
                       (5, 2, {"category": {"clothing": 5, "shirts": 4}, "brand": {"Acme": 3, "Bolt": 2},
                               "size": {"M": 3, "L": 2}, "in_stock": {"true": 4, "false": 1}})))
        checks.append(("facets come in the shop's order with its labels",
                       [(f.name, f.label, [v.label for v in f.values]) for f in page.facets],
                       [("category", "Category", ["Clothing", "Shirts"]), ("brand", "Brand", ["Acme", "Bolt"]),
                        ("size", "Size", ["M", "L"]), ("in_stock", "Availability", ["In stock", "Out of stock"])]))
        filtered = _facet_counts(search("linen", brand=("Acme",), size=("M",)))
        checks.append(("a filtered facet is counted without its own filter, within the others",
                       (filtered.get("brand"), filtered.get("size"), filtered.get("category")),
                       ({"Acme": 2, "Bolt": 1}, {"M": 2, "L": 1}, {"clothing": 2, "shirts": 2})))

        # filters
        for label, filters, expected in [
                ("brand", {"brand": ("Acme",)}, {p["acme_m1"], p["acme_m2"], p["acme_l"]}),
                ("brands are alternatives", {"brand": ("Acme", "Bolt")}, linen),
                ("a category finds its sub-categories' products", {"category": ("clothing",)}, linen),
                ("a sub-category", {"category": ("shirts",)}, linen - {p["bolt_m"]}),
                ("an attribute and a brand", {"size": ("M",), "brand": ("Acme",)}, {p["acme_m1"], p["acme_m2"]}),
                ("in stock", {"in_stock": ("true",)}, linen - {p["bolt_l"]}),
                ("out of stock", {"in_stock": ("false",)}, {p["bolt_l"]}),
                ("a price range, inclusive", {"price_min": ("4000",), "price_max": ("5000",)},
                 {p["acme_l"], p["bolt_l"]}),
                ("a price that is no number is ignored", {"price_min": ("not a number",)}, linen)]:
            ids(f"filter: {label}", search("linen", **filters), expected, ordered=False)
        ids("filter without words: brand", search("", brand=("Bolt",)), {p["bolt_l"], p["bolt_m"]}, ordered=False)

        # sorts and pages
        cheap, middle, dear = p["mug_cheap"], p["mug_middle"], p["mug_dear"]
        ids("sort by price, lowest first", search("mug", sort="price_asc"), (cheap, middle, dear))
        ids("sort by price, highest first", search("mug", sort="price_desc"), (dear, middle, cheap))
        ids("sort by age, newest first", search("mug", sort="newest"), (dear, cheap, middle))
        ids("the second page", search("mug", sort="price_asc", per_page=2, page=2), (dear,))
        far = search("mug", page=10**6)
        checks.append(("a page far past the end is empty and keeps the total", (far.product_ids, far.total),
                       ((), 3)))
        everything = search("", per_page=100)
        active = sorted(p.values(), reverse=True)
        checks.append(("a search without words lists every active product, newest first",
                       (everything.product_ids, everything.total), (tuple(active), len(active))))
        return checks


def _product_count() -> int:
    from sqlalchemy import func, select

    from ..catalog.models import Product
    from ..extensions import db

    return db.session.scalar(select(func.count()).select_from(Product)) or 0


def _facet_counts(page: SearchPage) -> dict[str, dict[str, int]]:
    return {facet.name: {value.value: value.count for value in facet.values} for facet in page.facets}


# --- one plugin's answers, for a plugin's own assertions ------------------------------------------


def quotes_from(name: str, request: ShippingRequest) -> list[ShippingQuote]:
    """The shipping quotes plugin ``name`` offers for ``request`` (current app)."""
    return _answers_of(name, "storefront_shipping_quotes", request=request)


def gateways_from(name: str) -> list[Any]:
    """The payment gateways plugin ``name`` offers (current app), unguarded."""
    return _answers_of(name, "storefront_payment_gateways")


def backends_from(name: str) -> list[Any]:
    """The search backends plugin ``name`` offers (current app), unguarded."""
    return _answers_of(name, "storefront_search_backends")


# --- payment gateways: what the payment core relies on ---------------------------------------------
#
# :func:`check_payment_plugin` checks the shape; :func:`check_payment_gateway` drives each
# gateway the way :mod:`storefront.payments.services` does — start, the shopper coming
# back, a notification nobody can read, refusals — inside a request (gateways render forms
# and build URLs). Configure the plugin fully first (keys, webhook secret, a test server).


def check_payment_gateway(app: Flask, name: str) -> list[Any]:
    """Everything :func:`check_payment_plugin` checks, and for every gateway of ``name``:

    * a return for a payment just started (the shopper did nothing yet) reports no money
      taken: not ``"paid"``, ``"authorized"`` or ``"refunded"``;
    * a return naming a payment the provider never saw, and a webhook whose body cannot
      be read, neither crash nor report money — :class:`InvalidCallback` is a fine answer
      (the core turns it into a 400), any other exception is not;
    * a capture or refund of zero is refused (a ``"failed"`` result or a domain error);
    * results are :class:`PaymentResult` objects with :class:`Money` amounts.

    Returns the gateways.
    """
    import secrets
    from dataclasses import replace

    from ..errors import StorefrontError
    from .types import InvalidCallback, PaymentCallback, PaymentRef

    money_statuses = ("paid", "authorized", "refunded")
    with app.test_request_context("/"):
        gateways = check_payment_plugin(app, name)
        problems: list[str] = []
        currency = app.config["STORE_CURRENCY"]
        zero = Money(0, currency)

        def outcome(label: str, call, *, allowed=(InvalidCallback,)) -> PaymentResult | None:
            try:
                result = call()
            except allowed:
                return None
            except Exception as exc:  # noqa: BLE001 - reporting is the point
                problems.append(f"{label}: raised {exc!r}")
                return None
            if not isinstance(result, PaymentResult) or not isinstance(result.amount, Money):
                problems.append(f"{label}: returned {result!r}, not a PaymentResult with a Money amount")
                return None
            return result

        for gateway in gateways:
            label = f"gateway {gateway.id!r}"
            payment_id = f"pay_conformance_{secrets.token_hex(6)}"
            request = replace(sample_payment_request(currency), payment_id=payment_id,
                              idempotency_key=f"storefront-{payment_id}")
            try:
                step = gateway.start(request)
                reference = step.psp_reference if isinstance(step, PaymentStep) else ""
            except Exception as exc:  # noqa: BLE001
                problems.append(f"{label}: start raised {exc!r}")
                reference = ""
            started = PaymentRef(payment_id, gateway.id, request.amount, reference)
            back = outcome(f"{label}: the return of a payment just started", lambda: gateway.handle_callback(
                PaymentCallback("GET", f"/payments/{gateway.id}/return", {"payment": payment_id}, {}, b"",
                                payment=started)))
            if back is not None and back.status in money_statuses:
                problems.append(f"{label}: a payment nobody paid came back {back.status!r}")
            stranger = PaymentRef("pay_conformance_unknown", gateway.id, request.amount, "unknown-reference")
            unknown = outcome(f"{label}: a return naming an unknown payment", lambda: gateway.handle_callback(
                PaymentCallback("GET", f"/payments/{gateway.id}/return", {"payment": stranger.payment_id}, {}, b"",
                                payment=stranger)))
            if unknown is not None and unknown.status in money_statuses:
                problems.append(f"{label}: a return naming an unknown payment came back {unknown.status!r}")
            garbage = outcome(f"{label}: an unreadable webhook", lambda: gateway.handle_callback(
                PaymentCallback("POST", f"/payments/{gateway.id}/webhook", {}, {"Content-Type": "application/json"},
                                b"{not json")))
            if garbage is not None and garbage.status in money_statuses:
                problems.append(f"{label}: an unreadable webhook came back {garbage.status!r}")
            for action, status in (("capture", "paid"), ("refund", "refunded")):
                result = outcome(f"{label}: {action} of zero",
                                 lambda action=action: getattr(gateway, action)(started, zero),
                                 allowed=(StorefrontError,))
                if result is not None and result.status == status:
                    problems.append(f"{label}: a {action} of zero came back {status!r}; refuse it")
    if problems:
        raise ConformanceError(name, problems)
    return gateways
