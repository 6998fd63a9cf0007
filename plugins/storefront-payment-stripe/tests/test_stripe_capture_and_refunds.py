"""Authorise-then-capture and refunds, through Stripe (localstripe)."""
import pytest
from sqlalchemy import select

from storefront.errors import InvalidInput
from storefront.extensions import db
from storefront.money import Money
from storefront.orders.models import Order
from storefront.payments import services
from storefront.payments.models import Refund


@pytest.fixture
def staff(make_user):
    return make_user(role="staff")


def reload(order):
    db.session.expire_all()
    return db.session.get(Order, order.id)


@pytest.mark.parametrize("stripe_settings", [{"capture_mode": "manual"}])
def test_in_manual_capture_mode_the_card_is_authorised_and_staff_capture_completes_the_order(
        card_page, order, stripe_api, staff, shopper):
    card_page.open()

    back = card_page.pay_with("pm_card_visa")

    assert back.location.endswith(f"/orders/{order.number}/thanks")
    intent = stripe_api.v1.payment_intents.retrieve(card_page.payment.psp_reference)
    assert (intent.capture_method, intent.status) == ("manual", "requires_capture")
    assert card_page.payment.status == "authorized" and reload(order).status == "pending_payment"
    assert shopper.get(f"/checkout/pay/{order.number}").status_code == 302  # nothing left to pay

    services.capture_payment(reload(order), staff)

    assert reload(order).status == "paid" and card_page.payment.status == "paid"
    assert stripe_api.v1.payment_intents.retrieve(intent.id).status == "succeeded"


@pytest.fixture
def paid(card_page, order):
    card_page.open()
    card_page.pay_with("pm_card_visa")
    assert reload(order).status == "paid"
    return reload(order)


def test_a_partial_and_then_a_full_refund_are_made_in_stripe(paid, card_page, stripe_api, staff):
    intent_id = card_page.payment.psp_reference

    first = services.refund_payment(paid, Money(750, "EUR"), reason="Late delivery", actor=staff)
    rest = services.refund_payment(reload(paid), Money(1250, "EUR"), actor=staff)

    made = stripe_api.v1.refunds.list(params={"payment_intent": intent_id}).data
    assert sorted((r.id, r.amount) for r in made) == sorted([(first.psp_reference, 750), (rest.psp_reference, 1250)])
    assert reload(paid).status == "refunded" and reload(paid).refunded_minor == 2000
    assert [r.status for r in db.session.scalars(select(Refund))] == ["succeeded", "succeeded"]
    with pytest.raises(InvalidInput, match="At most €0.00"):
        services.refund_payment(reload(paid), Money(1, "EUR"), actor=staff)


def test_stripe_refusing_a_refund_books_nothing(paid, card_page, staff, configure_plugin):
    configure_plugin("stripe", api_base="http://127.0.0.1:9")  # Stripe unreachable

    with pytest.raises(services.RefundFailed, match="could not refund right now"):
        services.refund_payment(paid, Money(500, "EUR"), actor=staff)

    assert reload(paid).status == "paid" and card_page.payment.refunded_minor == 0
