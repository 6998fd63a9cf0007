"""Tax: the core default charges a rate per destination country (TAX_RATES, else
TAX_RATE), on top of prices or contained in them (PRICES_INCLUDE_TAX); discounts lower
the taxed amount; a tax plugin that answers wins."""
from __future__ import annotations

import html
from decimal import Decimal

import pytest
from sqlalchemy import select

from storefront.checkout.pricing import price_cart
from storefront.extensions import db
from storefront.testing import create_cart, create_product
from storefront.money import Money
from storefront.orders.models import Order
from storefront.plugins import Address, ShippingQuote, TaxResult, hookimpl
from storefront.plugins.core_defaults import included_tax

from checkout_steps import ADDRESS, add_to_cart, place, review_token, walk_to_review

EUR = "EUR"
STANDARD = ShippingQuote("testship:standard", "Standard", Money(500, EUR))
RATES = {"TAX_RATE": "0.10", "TAX_RATES": {"DE": "0.19", "fr": "0.20"}}


@pytest.fixture
def app_config():
    return dict(RATES)


@pytest.mark.parametrize(("country", "label", "tax"), [("DE", "Tax 19%", 380 + 95), ("FR", "Tax 20%", 400 + 100),
                                                       ("IT", "Tax 10%", 200 + 50)])
def test_each_destination_country_gets_its_rate_or_the_flat_one(app, make_product, make_cart, country, label, tax):
    shirt = make_product("Shirt", price=1000, stock=5)
    cart = make_cart([(shirt.variants[0], 2)])

    totals = price_cart(cart, shipping_quote=STANDARD, destination=Address(country))

    assert (totals.tax_label, totals.tax.minor) == (label, tax)
    assert totals.total.minor == 2000 + 500 + tax and not totals.prices_include_tax


def test_prices_that_include_tax_show_the_part_they_contain_and_the_total_stays(make_app):
    app = make_app(PRICES_INCLUDE_TAX=True, PLUGINS_AUTOLOAD=False, **RATES)
    with app.app_context():
        shirt = create_product("Shirt", price=1190, stock=5)
        cart = create_cart([(shirt.variants[0], 2)])

        totals = price_cart(cart, shipping_quote=STANDARD, destination=Address("DE"))

        assert totals.prices_include_tax
        assert [line.tax.minor for line in totals.lines] == [380]   # 23.80 × 19/119
        assert totals.shipping_tax.minor == 80                       # 5.00 × 19/119 = 0.798…
        assert (totals.tax.minor, totals.total.minor) == (460, 2380 + 500)
        assert totals.lines[0].total.minor == 2380


def test_included_tax_is_rounded_once_half_to_even():
    assert included_tax(Money(119, EUR), Decimal("0.19")) == Money(19, EUR)
    assert included_tax(Money(1000, EUR), Decimal("0.19")) == Money(160, EUR)    # 159.66…
    assert included_tax(Money(105, EUR), Decimal("0.05")) == Money(5, EUR)       # exactly 5.00
    assert included_tax(Money(21, EUR), Decimal("0.05")) == Money(1, EUR)        # exactly 1.00
    assert included_tax(Money(999, EUR), Decimal(0)) == Money(0, EUR)


def test_tax_is_charged_on_the_discounted_amount(app, make_product, make_cart):
    from storefront.checkout.models import Coupon
    from storefront.clock import utcnow

    shirt = make_product("Shirt", price=1000, stock=5)
    coupon = Coupon(code="ONEOFF", kind="fixed", value=100, currency=EUR, created_at=utcnow())
    db.session.add(coupon)
    db.session.commit()
    cart = make_cart([(shirt.variants[0], 3)])

    totals = price_cart(cart, coupon=coupon, destination=Address("DE"))

    # 30.00 − 1.00 = 29.00, not divisible by 3: sent to the tax decision as 2 × 9.67 + 1 × 9.66
    assert (totals.discount.minor, totals.tax.minor) == (100, 551)
    assert totals.total.minor == 2900 + 551


def test_the_review_page_and_the_order_show_the_tax(app, client, make_product):
    shirt = make_product("Shirt", price=1000, stock=5)
    add_to_cart(client, shirt.variants[0].id, 2)
    walk_to_review(client, address={**ADDRESS, "country": "FR", "postal_code": "75001", "city": "Paris"})

    page = html.unescape(client.get("/checkout/review").get_data(as_text=True))
    assert "Tax 20%" in page and "€30.00" in page   # 20.00 + 5.00 + 5.00 tax
    place(client, review_token(client))

    order = db.session.scalar(select(Order))
    assert (order.tax_minor, order.tax_label, order.total_minor, order.prices_include_tax) == (500, "Tax 20%",
                                                                                              3000, False)
    assert (order.lines[0].tax_minor, order.lines[0].total_minor) == (400, 2400)


def test_a_tax_plugin_that_answers_wins(make_app):
    class FlatFive:
        PLUGIN_NAME = "flatfive"

        @hookimpl
        def storefront_calculate_tax(self, request):
            return TaxResult(tuple(Money(5, request.currency) for _ in request.lines), Money(0, request.currency),
                             "Eco levy")

    app = make_app(plugins=(FlatFive(),), PLUGINS_AUTOLOAD=False, **RATES)
    with app.app_context():
        shirt = create_product("Shirt", price=1000, stock=5)
        totals = price_cart(create_cart([(shirt.variants[0], 2)]), destination=Address("DE"))
        assert (totals.tax.minor, totals.tax_label) == (5, "Eco levy")


def test_a_tax_plugin_answering_nonsense_stops_pricing_instead_of_guessing(make_app):
    from storefront.plugins import PluginFailure

    class Sloppy:
        PLUGIN_NAME = "sloppy"

        @hookimpl
        def storefront_calculate_tax(self, request):
            return TaxResult((), Money(0, request.currency))   # no amount for the line

    app = make_app(plugins=(Sloppy(),), PLUGINS_AUTOLOAD=False)
    with app.app_context():
        shirt = create_product("Shirt", price=1000, stock=5)
        with pytest.raises(PluginFailure):
            price_cart(create_cart([(shirt.variants[0], 1)]), destination=Address("DE"))


def test_a_misconfigured_rate_is_refused_with_a_message_naming_the_key(make_app):
    from storefront.config import ConfigurationError
    from storefront.plugins import PluginFailure

    app = make_app(PLUGINS_AUTOLOAD=False, TAX_RATES={"DE": "19%"})
    with app.app_context():
        shirt = create_product("Shirt", price=1000, stock=5)
        with pytest.raises(PluginFailure) as failure:
            price_cart(create_cart([(shirt.variants[0], 1)]), destination=Address("DE"))
    assert isinstance(failure.value.__cause__, ConfigurationError)
    assert "TAX_RATES['DE'] must be a decimal fraction like \"0.19\"" in str(failure.value.__cause__)
