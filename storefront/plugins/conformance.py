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

from typing import Any, Sequence

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
