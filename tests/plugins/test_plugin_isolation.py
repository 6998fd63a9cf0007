"""A plugin that raises never takes the shop down — for every hook shape."""
from decimal import Decimal

import pytest
from flask import render_template_string
from markupsafe import Markup

from storefront.money import Money
from storefront.plugins import (Address, Line, OrderSummary, PaymentRef, PaymentResult,
                                PaymentUnavailable, PluginFailure, SearchQuery, SearchUnavailable,
                                ShippingQuote, TaxRequest, TaxResult, UnknownProvider, hookimpl)
from storefront.plugins import manager
from storefront.plugins.slots import render_slot

EUR = "EUR"
ORDER = OrderSummary(id=7, number="SF-7", email="a@example.com", status="paid", total=Money(1000, EUR))


def shipping_request(make_shipping_request):
    return make_shipping_request(country="DE", subtotal="10.00")


class Named:
    """Throwaway plugins name themselves after their class."""

    @property
    def PLUGIN_NAME(self):  # noqa: N802 - the attribute the manager reads
        return type(self).__name__.lower()


class Boom(RuntimeError):
    """What a broken plugin raises."""


# --- events ----------------------------------------------------------------------------------


class Listener(Named):
    def __init__(self):
        self.told = []

    @hookimpl
    def storefront_order_paid(self, order, payment):
        self.told.append(order.number)


class BrokenListener(Named):
    @hookimpl
    def storefront_order_paid(self, order):
        raise Boom("mail server down")


@pytest.fixture
def contained(make_app):
    """Build an app that contains plugin failures as production does."""
    def build(*plugins, **config):
        app = make_app(plugins=plugins, PLUGINS_AUTOLOAD=False, PLUGINS_RAISE_ERRORS=False, **config)
        context = app.app_context()
        context.push()
        built.append(context)
        return app

    built = []
    yield build
    for context in built:
        context.pop()


def test_an_event_reaches_every_plugin_even_when_one_raises(contained, caplog):
    listener = Listener()
    contained(BrokenListener(), listener)

    manager.notify("storefront_order_paid", order=ORDER, payment=PaymentRef("p1", "manual", ORDER.total))

    assert listener.told == ["SF-7"]
    assert "plugin 'brokenlistener' failed in storefront_order_paid (event ignored)" in caplog.text
    assert manager.state().failures[("brokenlistener", "storefront_order_paid")] == 1


def test_tests_see_a_plugins_event_failure_by_default(make_app):
    app = make_app(plugins=(BrokenListener(),), PLUGINS_AUTOLOAD=False)

    with app.app_context(), pytest.raises(Boom):
        manager.notify("storefront_order_paid", order=ORDER, payment=None)


def test_an_event_must_be_fired_with_exactly_its_arguments(contained):
    contained(Listener())

    with pytest.raises(TypeError, match=r"takes \['order', 'payment'\]"):
        manager.notify("storefront_order_paid", order=ORDER)


# --- contributions -----------------------------------------------------------------------------


class Courier(Named):
    @hookimpl
    def storefront_shipping_quotes(self, request):
        return [ShippingQuote("courier:next_day", "Next day", Money(990, request.subtotal.currency))]


class BrokenCourier(Named):
    @hookimpl
    def storefront_shipping_quotes(self, request):
        raise Boom("rate table missing")


class SloppyCourier(Named):
    @hookimpl
    def storefront_shipping_quotes(self, request):
        return ShippingQuote("sloppycourier:x", "Not in a list", Money(1, EUR))


def test_a_raising_shipping_plugin_is_left_out_and_the_others_still_quote(
        contained, make_shipping_request, caplog):
    contained(BrokenCourier(), Courier())

    quotes = manager.collect("storefront_shipping_quotes", request=shipping_request(make_shipping_request))

    assert [quote.id for quote in quotes] == ["courier:next_day"]
    assert "plugin 'brokencourier' failed in storefront_shipping_quotes (left out)" in caplog.text
    assert manager.state().failures[("brokencourier", "storefront_shipping_quotes")] == 1


def test_a_contribution_that_is_not_a_list_is_left_out(contained, make_shipping_request):
    contained(SloppyCourier(), Courier())

    quotes = manager.collect("storefront_shipping_quotes", request=shipping_request(make_shipping_request))

    assert [quote.id for quote in quotes] == ["courier:next_day"]
    assert manager.state().failures[("sloppycourier", "storefront_shipping_quotes")] == 1


def test_checkout_problems_are_collected_from_every_plugin(contained):
    class NoIslands(Named):
        @hookimpl
        def storefront_validate_checkout(self, checkout):
            return ["We do not ship to islands."] if checkout.destination.country == "IS" else None

    class BrokenValidator(Named):
        @hookimpl
        def storefront_validate_checkout(self):
            raise Boom

    contained(NoIslands(), BrokenValidator())
    from storefront.plugins import CheckoutSnapshot

    checkout = CheckoutSnapshot(lines=(), destination=Address("IS"), subtotal=Money(0, EUR))
    assert manager.collect("storefront_validate_checkout", checkout=checkout) == ["We do not ship to islands."]


# --- decisions ---------------------------------------------------------------------------------------


def tax_request(amount_minor: int = 10000) -> TaxRequest:
    return TaxRequest(lines=(Line("SKU", 1, Money(amount_minor, EUR)),), shipping=Money(500, EUR),
                      destination=Address("DE"), currency=EUR)


class GermanVat(Named):
    @hookimpl
    def storefront_calculate_tax(self, request):
        if request.destination.country != "DE":
            return None
        rate = Decimal("0.19")
        return TaxResult(tuple(line.total.multiply(rate) for line in request.lines),
                         request.shipping.multiply(rate), "VAT 19%")


class BrokenTax(Named):
    @hookimpl
    def storefront_calculate_tax(self, request):
        raise Boom("tax service timeout")


def test_the_core_tax_default_is_zero_unless_configured(contained):
    contained()

    result = manager.decide("storefront_calculate_tax", request=tax_request())

    assert (result.total, result.label) == (Money(0, EUR), "Tax")


def test_the_core_tax_default_applies_the_configured_flat_rate(contained):
    contained(TAX_RATE="0.2")

    result = manager.decide("storefront_calculate_tax", request=tax_request())

    assert (result.lines, result.shipping, result.label) == ((Money(2000, EUR),), Money(100, EUR), "Tax 20%")


def test_a_tax_plugin_that_answers_wins_over_the_core_default(contained):
    contained(GermanVat(), TAX_RATE="0.2")

    assert manager.decide("storefront_calculate_tax", request=tax_request()).total == Money(1995, EUR)


def test_a_tax_plugin_without_an_opinion_leaves_the_decision_to_the_core(contained):
    contained(GermanVat(), TAX_RATE="0.2")
    request = TaxRequest(lines=(), shipping=Money(500, EUR), destination=Address("FR"), currency=EUR)

    assert manager.decide("storefront_calculate_tax", request=request).label == "Tax 20%"


def test_a_raising_tax_plugin_stops_pricing_with_a_domain_error_not_a_wrong_tax(contained):
    contained(BrokenTax())

    with pytest.raises(PluginFailure) as failure:
        manager.decide("storefront_calculate_tax", request=tax_request())

    assert failure.value.plugin == "brokentax" and isinstance(failure.value.__cause__, Boom)
    assert failure.value.status == 503


# --- providers ---------------------------------------------------------------------------------------


class FlakyGateway:
    id = "flaky"
    name = "Flaky Pay"

    def is_available(self, amount, country):
        return True

    def start(self, request):
        raise ConnectionError("provider unreachable")

    def handle_callback(self, callback):
        raise ValueError("bad signature")

    def capture(self, payment, amount):
        return PaymentResult("paid", amount, "psp-1")

    def refund(self, payment, amount):
        raise PaymentUnavailable("Refunds are manual for this method.")


class FlakyPay(Named):
    @hookimpl
    def storefront_payment_gateways(self):
        return [FlakyGateway()]


class Copycat(Named):
    @hookimpl
    def storefront_payment_gateways(self):
        return [FlakyGateway()]


def test_a_failing_gateway_call_becomes_payment_unavailable(contained):
    contained(FlakyPay())
    gateway = manager.provider("storefront_payment_gateways", "flaky", PaymentUnavailable)

    with pytest.raises(PaymentUnavailable) as failure:
        gateway.start(request=None)

    assert failure.value.plugin == "flakypay" and isinstance(failure.value.__cause__, ConnectionError)
    assert "not working right now" in failure.value.message
    assert manager.state().failures[("flakypay", "FlakyGateway.start")] == 1


def test_a_gateway_that_works_answers_through_the_guard(contained):
    contained(FlakyPay())
    gateway = manager.provider("storefront_payment_gateways", "flaky", PaymentUnavailable)

    result = gateway.capture(PaymentRef("p1", "flaky", Money(100, EUR)), Money(100, EUR))

    assert (gateway.name, result.status) == ("Flaky Pay", "paid")


def test_a_domain_error_raised_by_a_gateway_reaches_the_caller_unchanged(contained):
    contained(FlakyPay())
    gateway = manager.provider("storefront_payment_gateways", "flaky", PaymentUnavailable)

    with pytest.raises(PaymentUnavailable, match="Refunds are manual"):
        gateway.refund(None, Money(100, EUR))


def test_a_second_gateway_with_a_taken_id_is_left_out(contained):
    contained(FlakyPay(), Copycat())

    gateways = manager.providers("storefront_payment_gateways")

    assert len(gateways) == 1
    assert sum(count for (plugin, _hook), count in manager.state().failures.items() if plugin in ("flakypay", "copycat")) == 1


def test_asking_for_an_unknown_gateway_is_a_clean_404(contained):
    contained(FlakyPay())

    with pytest.raises(UnknownProvider) as unknown:
        manager.provider("storefront_payment_gateways", "bitcoin")

    assert unknown.value.status == 404


def test_a_failing_search_backend_becomes_search_unavailable(contained):
    class Engine:
        id = "engine"
        name = "Engine"

        def search(self, query):
            raise TimeoutError

    class Search(Named):
        @hookimpl
        def storefront_search_backends(self):
            return [Engine()]

    contained(Search())
    backend = manager.provider("storefront_search_backends", "engine", SearchUnavailable)

    with pytest.raises(SearchUnavailable):
        backend.search(SearchQuery("mug"))


# --- template slots --------------------------------------------------------------------------------------


class Footers(Named):
    @hookimpl
    def storefront_tpl_footer(self):
        return "Fish & <chips>"


class HtmlFooter(Named):
    @hookimpl(tryfirst=True)
    def storefront_tpl_footer(self):
        return Markup("<b>bold</b>")


class SilentFooter(Named):
    @hookimpl
    def storefront_tpl_footer(self):
        return None


class BrokenFooter(Named):
    @hookimpl
    def storefront_tpl_footer(self):
        raise Boom("template plugin broke")


class ProductBadge(Named):
    @hookimpl
    def storefront_tpl_product_detail(self, product):
        return f"badge for {product}"


def test_a_slot_escapes_text_injects_markup_and_skips_none(contained):
    contained(Footers(), HtmlFooter(), SilentFooter())

    assert render_slot("footer") == Markup("<b>bold</b>Fish &amp; &lt;chips&gt;")


def test_a_raising_slot_plugin_is_left_out_of_the_page(contained, caplog):
    contained(Footers(), BrokenFooter())

    assert render_slot("footer") == Markup("Fish &amp; &lt;chips&gt;")
    assert "plugin 'brokenfooter' failed in storefront_tpl_footer" in caplog.text


def test_an_unknown_slot_name_raises(contained):
    contained()

    with pytest.raises(ValueError, match="unknown template slot 'fooder'"):
        render_slot("fooder")


def test_a_slot_refuses_context_it_does_not_take_and_fills_what_is_missing(contained):
    contained(ProductBadge())

    with pytest.raises(ValueError, match="slot 'product_detail' takes"):
        render_slot("product_detail", prodcut="mug")
    assert render_slot("product_detail") == Markup("badge for None")


def test_templates_render_slots_through_the_slot_global(contained):
    app = contained(ProductBadge(), HtmlFooter())

    with app.test_request_context("/"):
        page = render_template_string('{{ slot("footer") }}|{{ slot("product_detail", product="mug") }}')

    assert page == "<b>bold</b>|badge for mug"


# --- the back-office menu -------------------------------------------------------------------------------------


def test_plugin_menu_items_follow_the_core_pages_and_dead_links_are_left_out(contained):
    from storefront.admin.menu import CORE_MENU, menu_items
    from storefront.plugins import MenuItem

    class Links(Named):
        @hookimpl
        def storefront_admin_menu(self):
            return [MenuItem("Home again", "admin.dashboard"), MenuItem("Nowhere", "links.nowhere")]

    app = contained(Links())

    with app.test_request_context("/admin/"):
        items = menu_items()

    assert items[:len(CORE_MENU)] == list(CORE_MENU)
    assert [(item.label, item.endpoint) for item in items[len(CORE_MENU):]] == [("Home again", "admin.dashboard")]


def test_a_slot_reaches_the_shop_pages_and_leaves_them_when_the_plugin_is_disabled(make_app):
    class Analytics(Named):
        @hookimpl
        def storefront_tpl_head(self):
            return Markup('<meta name="analytics" content="on">')

    app = make_app(plugins=(Analytics(),), PLUGINS_AUTOLOAD=False)
    client = app.test_client()

    assert '<meta name="analytics" content="on">' in client.get("/").get_data(as_text=True)
    with app.app_context():
        manager.set_enabled("analytics", False)
    assert "analytics" not in client.get("/").get_data(as_text=True)
