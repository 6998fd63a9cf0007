"""Refunds through the gateway (never more than was paid, nothing booked when the
provider refuses) and capturing authorised payments."""
import pytest
from sqlalchemy import func, select

from storefront.audit import AuditEvent
from storefront.errors import InvalidInput
from storefront.extensions import db
from storefront.mail import OutgoingMail
from storefront.money import Money
from storefront.orders.models import Order
from storefront.payments import services
from storefront.payments.models import Payment, Refund


@pytest.fixture
def paid_order(shopper, testpay_order, provider):
    """An order of 20.00 the shopper paid through Test pay."""
    shopper.get(f"/checkout/pay/{testpay_order.number}")
    payment = db.session.scalars(select(Payment).where(Payment.order_id == testpay_order.id)).one()
    provider.pay(payment.psp_reference, payment.amount_minor)
    shopper.get(f"/payments/testpay/return?payment={payment.public_id}")
    db.session.expire_all()
    order = db.session.get(Order, testpay_order.id)
    assert order.status == "paid" and order.total_minor == 2000
    return order


@pytest.fixture
def staff(make_user):
    return make_user(role="staff")


def refunds():
    return [(r.amount_minor, r.status) for r in db.session.scalars(select(Refund).order_by(Refund.id))]


def payment_of(order):
    db.session.expire_all()
    return db.session.scalars(select(Payment).where(Payment.order_id == order.id)).one()


def test_a_partial_then_a_full_refund_go_through_the_gateway_and_are_booked(paid_order, staff):
    first = services.refund_payment(paid_order, Money(500, "EUR"), reason="Scratched mug", actor=staff)

    assert (first.status, first.psp_reference, first.reason) == ("succeeded", f"tpr_storefront-"
                                                                 f"{payment_of(paid_order).public_id}-refund-"
                                                                 f"{first.id}", "Scratched mug")
    order = db.session.get(Order, paid_order.id)
    assert (order.status, order.refunded_minor) == ("partially_refunded", 500)
    assert payment_of(paid_order).status == "partially_refunded"

    services.refund_payment(order, Money(1500, "EUR"), actor=staff)

    order = db.session.get(Order, paid_order.id)
    assert (order.status, order.refunded_minor) == ("refunded", 2000)
    assert (payment_of(paid_order).status, payment_of(paid_order).refunded_minor) == ("refunded", 2000)
    assert refunds() == [(500, "succeeded"), (1500, "succeeded")]
    assert db.session.scalar(select(func.count()).select_from(OutgoingMail)
                             .where(OutgoingMail.template == "order_refunded")) == 2
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "order.refunded", AuditEvent.actor_id == staff.id)) == 2


@pytest.mark.parametrize("minor, message", [(0, "more than zero"), (-100, "more than zero"),
                                            (2001, "At most €20.00 can be refunded")])
def test_a_refund_of_nothing_or_of_more_than_was_paid_is_refused(paid_order, staff, minor, message):
    with pytest.raises(InvalidInput, match=message):
        services.refund_payment(paid_order, Money(minor, "EUR"), actor=staff)

    assert refunds() == [] and payment_of(paid_order).refunded_minor == 0


def test_a_refund_in_another_currency_is_refused(paid_order, staff):
    with pytest.raises(InvalidInput, match="in EUR"):
        services.refund_payment(paid_order, Money(100, "USD"), actor=staff)


def test_an_order_that_was_never_paid_has_nothing_to_refund(testpay_order, staff):
    with pytest.raises(InvalidInput, match="At most €0.00"):
        services.refund_payment(testpay_order, Money(100, "EUR"), actor=staff)


@pytest.mark.parametrize("mode, message", [("refuse", "Refund refused by test"),
                                           ("raise", "could not refund right now")])
def test_a_refund_the_provider_refuses_or_fails_books_nothing_and_can_be_tried_again(
        paid_order, staff, configure_plugin, mode, message):
    configure_plugin("testpay", refund=mode)

    with pytest.raises(services.RefundFailed, match=message):
        services.refund_payment(paid_order, Money(500, "EUR"), actor=staff)

    order = db.session.get(Order, paid_order.id)
    assert (order.status, order.refunded_minor) == ("paid", 0)
    assert payment_of(paid_order).refunded_minor == 0  # the reservation was given back
    assert refunds() == [(500, "failed")]

    configure_plugin("testpay", refund="ok")
    services.refund_payment(paid_order, Money(2000, "EUR"), actor=staff)
    assert db.session.get(Order, paid_order.id).status == "refunded"


def test_staff_capture_an_authorised_payment_and_the_order_becomes_paid_once(
        shopper, testpay_order, configure_plugin, staff, provider):
    configure_plugin("testpay", start="authorized")
    shopper.get(f"/checkout/pay/{testpay_order.number}")
    assert services.payment_awaiting_capture(testpay_order) is not None

    payment = services.capture_payment(testpay_order, staff)

    assert payment.status == "paid"
    db.session.expire_all()
    assert db.session.get(Order, testpay_order.id).status == "paid"
    assert provider.order_paid_events == [testpay_order.number]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "payment.captured")) == 1
    with pytest.raises(InvalidInput, match="no authorised payment"):
        services.capture_payment(testpay_order, staff)


def test_an_order_without_an_authorised_payment_cannot_be_captured(testpay_order, staff):
    with pytest.raises(InvalidInput, match="no authorised payment"):
        services.capture_payment(testpay_order, staff)
