"""The flat-rate plugin, driven through a real app as checkout would drive it."""
import pytest

import storefront_flatrate
from storefront.money import Money
from storefront.plugins import ShippingQuote
from storefront.plugins.conformance import check_shipping_plugin, quotes_from


@pytest.fixture
def app(make_plugin_app):
    application = make_plugin_app(storefront_flatrate)
    with application.app_context():
        yield application


def quotes(request) -> list[ShippingQuote]:
    return quotes_from("flatrate", request)


def test_flatrate_keeps_the_shipping_contract(app):
    check_shipping_plugin(app, "flatrate")


def test_default_is_one_standard_rate_to_every_country(app, make_shipping_request):
    for country in ("DE", "US", "JP"):
        assert quotes(make_shipping_request(country=country)) == [
            ShippingQuote("flatrate:standard", "Standard shipping", Money(490, "EUR"))]


def test_countries_outside_the_zone_get_no_quote_without_a_rate_for_them(
        app, configure_plugin, make_shipping_request):
    configure_plugin("flatrate", countries="DE, at")

    assert [q.id for q in quotes(make_shipping_request(country="AT"))] == ["flatrate:standard"]
    assert quotes(make_shipping_request(country="US")) == []


def test_countries_outside_the_zone_pay_the_other_rate(app, configure_plugin, make_shipping_request):
    configure_plugin("flatrate", countries="DE", other_rate_minor="1500")

    assert quotes(make_shipping_request(country="US")) == [
        ShippingQuote("flatrate:international", "Standard shipping", Money(1500, "EUR"))]


def test_carts_reaching_the_threshold_ship_free(app, configure_plugin, make_shipping_request):
    configure_plugin("flatrate", free_above_minor=5000)

    assert quotes(make_shipping_request(subtotal="49.99"))[0].price == Money(490, "EUR")
    assert quotes(make_shipping_request(subtotal="50.00"))[0].price == Money(0, "EUR")


def test_quotes_are_in_the_currency_of_the_cart(app, make_shipping_request):
    assert quotes(make_shipping_request(currency="JPY", subtotal="1200"))[0].price == Money(490, "JPY")


def test_label_and_delivery_estimate_come_from_the_settings(app, configure_plugin, make_shipping_request):
    configure_plugin("flatrate", label="DHL Paket", eta_days="2")

    quote, = quotes(make_shipping_request())
    assert (quote.label, quote.eta_days) == ("DHL Paket", 2)


def test_a_config_value_overrides_the_saved_setting(make_plugin_app, make_shipping_request):
    app = make_plugin_app(storefront_flatrate, PLUGIN_FLATRATE_RATE_MINOR=990)
    with app.app_context():
        assert quotes(make_shipping_request())[0].price == Money(990, "EUR")


