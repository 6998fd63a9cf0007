"""Weight-and-zone rates, driven through a real app as checkout would drive it."""
from storefront.money import Money
from storefront.plugins import Line, ShippingQuote
from storefront.plugins.conformance import check_shipping_plugin, quotes_from


def price(request) -> int | None:
    """The one quote's price in minor units, or None when the plugin offers none."""
    quotes = quotes_from("weight", request)
    assert len(quotes) <= 1
    return quotes[0].price.minor if quotes else None


def parcel(make_shipping_request, grams: int, country: str = "DE", **kw):
    return make_shipping_request(country=country, weight_grams=grams, **kw)


def test_the_weight_plugin_keeps_the_shipping_contract(app, rates):
    quotes = check_shipping_plugin(app, "weight")

    # The conformance carts go to DE, US, AT (a 40 kg sofa: above the EU's last bracket) and JP.
    assert [q.id for q in quotes] == ["weight:domestic", "weight:world", "weight:world"]


def test_a_parcel_pays_the_first_bracket_it_fits_in_up_to_and_including_its_weight(
        rates, make_shipping_request):
    for grams, expected in [(1, 490), (999, 490), (1000, 490), (1001, 590), (2000, 590), (2001, 790),
                            (5000, 790)]:
        assert price(parcel(make_shipping_request, grams)) == expected, grams


def test_each_zone_has_its_own_brackets_and_quote_id(rates, make_shipping_request):
    assert quotes_from("weight", parcel(make_shipping_request, 1500)) == [
        ShippingQuote("weight:domestic", "Parcel", Money(590, "EUR"))]
    assert [(q.id, q.price.minor) for q in quotes_from("weight", parcel(make_shipping_request, 1500, "FR"))] == [
        ("weight:eu", 1290)]
    assert [(q.id, q.price.minor) for q in quotes_from("weight", parcel(make_shipping_request, 1500, "AT"))] == [
        ("weight:eu", 1290)]
    assert [(q.id, q.price.minor) for q in quotes_from("weight", parcel(make_shipping_request, 1500, "JP"))] == [
        ("weight:world", 1990)]


def test_a_country_no_zone_lists_gets_no_quote_without_a_catch_all_zone(app, configure_plugin,
                                                                        make_shipping_request):
    configure_plugin("weight", rates="domestic | DE | 1kg=490")

    assert price(parcel(make_shipping_request, 500, "DE")) == 490
    assert price(parcel(make_shipping_request, 500, "US")) is None


def test_heavy_parcels_pay_per_started_step_above_the_last_bracket(rates, make_shipping_request):
    # domestic: 5 kg = 790, then +150 per started kg
    assert price(parcel(make_shipping_request, 5001)) == 940
    assert price(parcel(make_shipping_request, 6000)) == 940
    assert price(parcel(make_shipping_request, 6001)) == 1090
    assert price(parcel(make_shipping_request, 25_000)) == 790 + 20 * 150
    # world: 10 kg = 3990, then +500 per started 500 g
    assert price(parcel(make_shipping_request, 10_500, "US")) == 4490
    assert price(parcel(make_shipping_request, 10_501, "US")) == 4990


def test_parcels_heavier_than_a_zone_without_a_rule_takes_are_not_shipped_there(rates, make_shipping_request):
    assert price(parcel(make_shipping_request, 5000, "BE")) == 1290
    assert price(parcel(make_shipping_request, 5001, "BE")) is None


def test_the_weight_of_every_unit_of_every_line_counts(rates, make_shipping_request):
    lines = (Line("BOOK", 3, Money(1500, "EUR"), weight_grams=400), Line("MUG", 1, Money(900, "EUR"), weight_grams=350))

    assert price(make_shipping_request(lines=lines)) == 590  # 1550 g


def test_a_cart_without_weights_pays_the_first_bracket(rates, make_shipping_request):
    lines = (Line("GIFT-CARD", 2, Money(2500, "EUR")), Line("POSTER", 1, Money(1200, "EUR")))

    assert price(make_shipping_request(lines=lines)) == 490


def test_items_without_a_weight_count_the_weight_set_for_them(rates, configure_plugin, make_shipping_request):
    configure_plugin("weight", unweighed_item_grams="800")
    lines = (Line("POSTER", 1, Money(1200, "EUR")), Line("MUG", 1, Money(900, "EUR"), weight_grams=350))

    assert price(make_shipping_request(lines=lines)) == 590  # 800 + 350 g
    assert price(make_shipping_request(lines=lines[1:])) == 490  # a weighed item keeps its own weight


def test_carts_reaching_the_threshold_ship_free_where_the_zone_takes_them(
        rates, configure_plugin, make_shipping_request):
    configure_plugin("weight", free_above_minor=10000)

    assert price(parcel(make_shipping_request, 3000, subtotal="99.99")) == 790
    assert price(parcel(make_shipping_request, 3000, subtotal="100.00")) == 0
    assert price(parcel(make_shipping_request, 30_000, subtotal="100.00")) == 0
    assert price(parcel(make_shipping_request, 9000, "BE", subtotal="500.00")) is None  # too heavy still


def test_quotes_are_in_the_currency_of_the_cart(rates, make_shipping_request):
    assert quotes_from("weight", parcel(make_shipping_request, 500, currency="JPY", subtotal="1200"))[0].price == (
        Money(490, "JPY"))


def test_label_and_delivery_estimate_come_from_the_settings(rates, configure_plugin, make_shipping_request):
    configure_plugin("weight", label="DHL Paket", eta_days="2")

    quote, = quotes_from("weight", parcel(make_shipping_request, 500))
    assert (quote.label, quote.eta_days) == ("DHL Paket", 2)


def test_a_freshly_installed_plugin_quotes_nothing_until_it_has_a_table(app, make_shipping_request):
    assert quotes_from("weight", parcel(make_shipping_request, 500)) == []


def test_the_table_can_be_set_in_the_config_with_semicolons_between_lines(make_plugin_app, make_shipping_request):
    import storefront_weight

    app = make_plugin_app(storefront_weight, PLUGIN_WEIGHT_RATES="home | DE | 1kg=450; rest | * | 1kg=1500")
    with app.app_context():
        assert price(parcel(make_shipping_request, 800)) == 450
        assert price(parcel(make_shipping_request, 800, "CH")) == 1500

