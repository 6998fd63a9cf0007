"""Bank transfer and pay on delivery: the shopper sees how to pay, the order waits, staff
mark it paid, refunds are recorded."""
import pytest
from sqlalchemy import select

import storefront_manual
from storefront.extensions import db
from storefront.money import Money
from storefront.orders import services as orders
from storefront.orders.models import Order
from storefront.payments import services as payments
from storefront.payments.models import Payment
from storefront.plugins.conformance import check_payment_gateway, gateways_from


@pytest.fixture
def app(make_plugin_app):
    application = make_plugin_app(storefront_manual)
    with application.app_context():
        yield application


@pytest.fixture
def order(make_order, shopper):
    return make_order(user=shopper.user, gateway="manual")


def test_manual_keeps_the_payment_gateway_contract(app):
    gateway, = check_payment_gateway(app, "manual")

    assert gateway.name == "Bank transfer"


def test_bank_transfer_shows_the_amount_the_order_number_as_reference_and_the_bank_details(
        shopper, order, configure_plugin):
    configure_plugin("manual", bank_details="Holder: Example Shop Ltd\nIBAN: DE89 3704 0044 0532 0130 00")

    page = shopper.get(f"/checkout/pay/{order.number}")

    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Please transfer the amount below" in text
    assert '<dd class="manual-payment-amount">€20.00</dd>' in text
    assert f'<dd class="manual-payment-reference">{order.number}</dd>' in text
    assert "Holder: Example Shop Ltd<br>IBAN: DE89 3704 0044 0532 0130 00" in text
    payment, = db.session.scalars(select(Payment).where(Payment.order_id == order.id))
    assert (payment.gateway_id, payment.status) == ("manual", "pending")
    assert db.session.get(Order, order.id).status == "pending_payment"


def test_pay_on_delivery_has_its_own_name_and_instructions_and_no_bank_details(shopper, order, configure_plugin):
    configure_plugin("manual", method="cash_on_delivery", bank_details="IBAN: DE89")

    text = shopper.get(f"/checkout/pay/{order.number}").get_data(as_text=True)

    assert "you pay the courier on delivery" in text and "IBAN" not in text
    assert "manual-payment-reference" not in text
    gateway, = gateways_from("manual")
    assert gateway.name == "Pay on delivery"


def test_the_merchants_texts_are_shown_as_text_never_as_html(shopper, order, configure_plugin):
    configure_plugin("manual", instructions="Pay <b>now</b> <script>alert(1)</script>",
                     bank_details="<img src=x onerror=alert(1)>")

    text = shopper.get(f"/checkout/pay/{order.number}").get_data(as_text=True)

    assert "Pay &lt;b&gt;now&lt;/b&gt; &lt;script&gt;" in text and "<script>alert" not in text
    assert "&lt;img src=x" in text


def test_the_method_is_offered_only_in_the_countries_chosen(app, configure_plugin):
    configure_plugin("manual", countries="DE, at")

    assert [g.id for g in payments.available_gateways(Money(100, "EUR"), "AT")] == ["manual"]
    assert payments.available_gateways(Money(100, "EUR"), "FR") == []


def test_coming_back_to_a_manual_payment_shows_the_instructions_again(shopper, order):
    shopper.get(f"/checkout/pay/{order.number}")
    payment, = db.session.scalars(select(Payment).where(Payment.order_id == order.id))

    back = shopper.get(f"/payments/manual/return?payment={payment.public_id}")

    assert back.status_code == 302 and back.location.endswith(f"/checkout/pay/{order.number}")
    assert db.session.get(Order, order.id).status == "pending_payment"


def test_staff_mark_the_order_paid_and_later_refund_part_of_it(shopper, order, make_user):
    staff = make_user(role="staff")
    shopper.get(f"/checkout/pay/{order.number}")

    assert orders.mark_paid(order.id, actor=staff, record_payment=True)

    db.session.expire_all()
    payment, = db.session.scalars(select(Payment).where(Payment.order_id == order.id))
    assert payment.status == "paid" and db.session.get(Order, order.id).status == "paid"

    refund = payments.refund_payment(db.session.get(Order, order.id), Money(500, "EUR"), reason="Broken lid",
                                     actor=staff)

    assert refund.status == "succeeded"
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "partially_refunded"
    assert db.session.get(Payment, payment.id).refunded_minor == 500
