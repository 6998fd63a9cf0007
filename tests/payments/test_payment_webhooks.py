"""Provider webhooks: authentic ones complete the order exactly once, anything else is
refused with a 4xx and changes nothing."""
import pytest
from sqlalchemy import func, select

from storefront.extensions import db
from storefront.mail import OutgoingMail
from storefront.orders.models import Order, OrderEvent
from storefront.payments import services
from storefront.payments.models import Payment, ProviderEvent, Refund


@pytest.fixture
def started(shopper, testpay_order):
    """The shopper opened the payment page: the payment exists at the provider."""
    shopper.get(f"/checkout/pay/{testpay_order.number}")
    return db.session.scalars(select(Payment).where(Payment.order_id == testpay_order.id)).one()


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def state(order, payment):
    db.session.expire_all()
    return (db.session.get(Order, order.id).status, db.session.get(Payment, payment.id).status,
            count(ProviderEvent), count(OrderEvent, OrderEvent.order_id == order.id))


def test_a_signed_paid_webhook_completes_the_order_and_a_redelivery_is_acknowledged_and_ignored(
        app, testpay_order, started, provider):
    body = provider.webhook_body("evt_1", "paid", started.psp_reference, started.amount_minor)

    first = provider.post_webhook(app.test_client(), body)
    again = provider.post_webhook(app.test_client(), body)

    assert first.status_code == 200 and first.json == {"received": True, "outcome": "applied"}
    assert again.status_code == 200 and again.json["outcome"] == "duplicate"
    assert state(testpay_order, started)[:3] == ("paid", "paid", 1)
    assert provider.order_paid_events == [testpay_order.number]
    assert count(OutgoingMail, OutgoingMail.template == "order_paid") == 1
    assert count(OrderEvent, OrderEvent.order_id == testpay_order.id, OrderEvent.kind == "paid") == 1


def test_a_webhook_finds_the_payment_by_our_id_before_its_reference_is_known(app, testpay_order, provider,
                                                                              make_order, shopper):
    order = make_order(user=shopper.user, gateway="testpay", payment=True)  # a payment row, no reference yet
    payment = db.session.scalars(select(Payment).where(Payment.order_id == order.id)).one()
    body = provider.webhook_body("evt_2", "paid", "tp_late", payment.amount_minor, payment_id=payment.public_id)

    response = provider.post_webhook(app.test_client(), body)

    assert response.json["outcome"] == "applied"
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).psp_reference == "tp_late"
    assert db.session.get(Order, order.id).status == "paid"


def test_a_webhook_with_a_bad_signature_gets_400_and_changes_nothing(app, testpay_order, started, provider):
    before = state(testpay_order, started)
    body = provider.webhook_body("evt_1", "paid", started.psp_reference, started.amount_minor)

    forged = provider.post_webhook(app.test_client(), body, signature="0" * 64)
    unsigned = app.test_client().post("/payments/testpay/webhook", data=body, content_type="application/json")

    assert forged.status_code == unsigned.status_code == 400
    assert forged.json["error"] == "invalid_callback"
    assert state(testpay_order, started) == before == ("pending_payment", "pending", 0, before[3])
    assert provider.order_paid_events == []


def test_a_signed_but_malformed_webhook_gets_400(app, testpay_order, started, provider):
    for body in (b"{not json", b'{"id": "evt_1"}', b"\xff\xfe"):
        assert provider.post_webhook(app.test_client(), body).status_code == 400
    assert state(testpay_order, started)[:3] == ("pending_payment", "pending", 0)


def test_a_webhook_for_an_unknown_gateway_is_not_found(app, provider):
    body = provider.webhook_body("evt_1", "paid", "tp_x", 100)

    assert provider.post_webhook(app.test_client(), body, gateway="nosuchpay").status_code == 404


def test_a_webhook_larger_than_the_limit_is_refused(app, provider, testpay_order, started):
    body = b"{" + b" " * services.WEBHOOK_MAX_BYTES + b"}"

    response = provider.post_webhook(app.test_client(), body)

    assert response.status_code == 413
    assert state(testpay_order, started)[:3] == ("pending_payment", "pending", 0)


def test_a_webhook_about_a_payment_we_do_not_know_is_acknowledged(app, provider):
    body = provider.webhook_body("evt_9", "paid", "tp_someone_else", 100)

    response = provider.post_webhook(app.test_client(), body)

    assert response.status_code == 200 and response.json["outcome"] == "ignored"
    assert count(ProviderEvent) == 0


def test_a_failed_payment_webhook_fails_the_payment_and_the_order_stays_payable(
        app, shopper, testpay_order, started, provider):
    body = provider.webhook_body("evt_3", "failed", started.psp_reference, started.amount_minor)

    assert provider.post_webhook(app.test_client(), body).json["outcome"] == "applied"

    assert state(testpay_order, started)[:2] == ("pending_payment", "failed")
    page = shopper.get(f"/checkout/pay/{testpay_order.number}")
    assert "did not go through" in page.get_data(as_text=True) and "Try again" in page.get_data(as_text=True)


def test_whichever_of_return_and_webhook_comes_first_completes_the_order_the_other_changes_nothing(
        app, shopper, testpay_order, started, provider):
    provider.pay(started.psp_reference, started.amount_minor)
    shopper.get(f"/payments/testpay/return?payment={started.public_id}")
    body = provider.webhook_body("evt_4", "paid", started.psp_reference, started.amount_minor)

    late = provider.post_webhook(app.test_client(), body)

    assert late.json["outcome"] == "unchanged"
    assert provider.order_paid_events == [testpay_order.number]
    assert count(OutgoingMail, OutgoingMail.template == "order_paid") == 1


def test_a_paid_amount_that_differs_from_the_order_does_not_mark_it_paid(app, testpay_order, started, provider):
    body = provider.webhook_body("evt_5", "paid", started.psp_reference, started.amount_minor - 1)

    provider.post_webhook(app.test_client(), body)

    assert state(testpay_order, started)[:2] == ("pending_payment", "pending")
    events = db.session.scalars(select(OrderEvent.message).where(OrderEvent.order_id == testpay_order.id)).all()
    assert any("check it with the provider" in message for message in events)


def test_a_refund_made_at_the_provider_is_booked_once(app, testpay_order, started, provider):
    provider.post_webhook(app.test_client(), provider.webhook_body("evt_6", "paid", started.psp_reference,
                                                                   started.amount_minor))
    refunded = provider.webhook_body("evt_7", "refunded", started.psp_reference, 500)

    assert provider.post_webhook(app.test_client(), refunded).json["outcome"] == "applied"
    assert provider.post_webhook(app.test_client(), refunded).json["outcome"] == "duplicate"
    # The same total in a new event: nothing new to book.
    assert provider.post_webhook(app.test_client(), provider.webhook_body(
        "evt_8", "refunded", started.psp_reference, 500)).json["outcome"] == "unchanged"

    db.session.expire_all()
    order = db.session.get(Order, testpay_order.id)
    assert (order.status, order.refunded_minor) == ("partially_refunded", 500)
    assert [(r.amount_minor, r.status) for r in db.session.scalars(select(Refund))] == [(500, "succeeded")]
    assert db.session.get(Payment, started.id).status == "partially_refunded"
