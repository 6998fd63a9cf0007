"""Stripe's signed webhooks: verified with the signing secret, acted on once, anything
unsigned or unreadable refused with 400 — and a real delivery from localstripe."""
import json
import time

import pytest
import stripe
from sqlalchemy import select

from storefront.extensions import db
from storefront.orders.models import Order
from storefront.payments import services
from storefront.payments.models import Payment, ProviderEvent, Refund
from storefront.testing import serve

#: The signing secret the tests' app is configured with (see conftest.py).
WEBHOOK_SECRET = "whsec_storefront_test"


def reload(order):
    db.session.expire_all()
    return db.session.get(Order, order.id)


def event(event_id: str, kind: str, obj: dict) -> str:
    return json.dumps({"id": event_id, "object": "event", "type": kind, "data": {"object": obj}})


def post(client, payload: str, secret: str = WEBHOOK_SECRET, signature: str | None = None):
    header = stripe.WebhookSignature.generate_signature_header(payload, secret) if signature is None else signature
    return client.post("/payments/stripe/webhook", data=payload, content_type="application/json",
                       headers={"Stripe-Signature": header})


@pytest.fixture
def intent(card_page, stripe_api):
    """The order's PaymentIntent, paid at Stripe (as Stripe.js would) — but the shopper
    never came back to the shop."""
    card_page.open()
    intent_id = card_page.payment.psp_reference
    stripe_api.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    return stripe_api.v1.payment_intents.confirm(intent_id)


def test_a_signed_succeeded_event_pays_the_order_and_a_redelivery_is_ignored(app, order, intent):
    payload = event("evt_paid_1", "payment_intent.succeeded", intent.to_dict())

    first = post(app.test_client(), payload)
    again = post(app.test_client(), payload)

    assert (first.status_code, first.json["outcome"]) == (200, "applied")
    assert (again.status_code, again.json["outcome"]) == (200, "duplicate")
    assert reload(order).status == "paid"
    assert db.session.scalars(select(ProviderEvent.event_id)).all() == ["evt_paid_1"]


def test_a_webhook_signed_with_another_secret_or_not_at_all_gets_400_and_changes_nothing(app, order, intent):
    payload = event("evt_paid_1", "payment_intent.succeeded", intent.to_dict())

    forged = post(app.test_client(), payload, secret="whsec_someone_else")
    unsigned = app.test_client().post("/payments/stripe/webhook", data=payload, content_type="application/json")
    stale = post(app.test_client(), payload, signature=stripe.WebhookSignature.generate_signature_header(
        payload, WEBHOOK_SECRET, timestamp=int(time.time()) - 3600))

    assert forged.status_code == unsigned.status_code == stale.status_code == 400
    assert reload(order).status == "pending_payment"
    assert db.session.scalars(select(ProviderEvent)).all() == []


def test_a_signed_body_that_is_not_json_gets_400(app, order, intent):
    assert post(app.test_client(), "{this is not json").status_code == 400
    assert reload(order).status == "pending_payment"


def test_without_a_signing_secret_webhooks_are_refused_with_503_so_stripe_retries(app, order, intent,
                                                                                  configure_plugin):
    configure_plugin("stripe", webhook_secret=None)  # None clears a secret

    response = post(app.test_client(), event("evt_paid_1", "payment_intent.succeeded", intent.to_dict()))

    assert response.status_code == 503 and reload(order).status == "pending_payment"


def test_a_payment_failed_event_fails_the_payment_and_the_order_stays_payable(app, order, card_page, shopper):
    card_page.open()
    obj = {"id": card_page.payment.psp_reference, "object": "payment_intent", "amount": order.total_minor,
           "currency": "eur", "status": "requires_payment_method", "metadata": {"payment_id": card_page.payment.public_id},
           "last_payment_error": {"code": "card_declined", "message": "Your card was declined."}}

    assert post(app.test_client(), event("evt_failed", "payment_intent.payment_failed", obj)).status_code == 200

    assert card_page.payment.status == "failed" and reload(order).status == "pending_payment"
    assert "Your card was declined." in shopper.get(f"/checkout/pay/{order.number}").get_data(as_text=True)


@pytest.mark.parametrize("kind, status, payment_status", [
    ("payment_intent.amount_capturable_updated", "requires_capture", "authorized"),
    ("payment_intent.canceled", "canceled", "cancelled")])
def test_authorised_and_cancelled_intents_are_reported_by_their_events(app, order, card_page, kind, status,
                                                                        payment_status):
    card_page.open()
    obj = {"id": card_page.payment.psp_reference, "object": "payment_intent", "amount": order.total_minor,
           "currency": "eur", "status": status, "metadata": {"payment_id": card_page.payment.public_id}}

    assert post(app.test_client(), event(f"evt_{status}", kind, obj)).json["outcome"] == "applied"

    assert card_page.payment.status == payment_status and reload(order).status == "pending_payment"


def test_a_refund_made_in_the_stripe_dashboard_is_booked_from_charge_refunded(app, order, intent, stripe_api):
    post(app.test_client(), event("evt_paid_1", "payment_intent.succeeded", intent.to_dict()))
    stripe_api.v1.refunds.create(params={"payment_intent": intent.id, "amount": 600})  # in the dashboard
    charge = stripe_api.v1.payment_intents.retrieve(intent.id).latest_charge
    assert charge.amount_refunded == 600

    response = post(app.test_client(), event("evt_refund_1", "charge.refunded", {
        "id": charge.id, "object": "charge", "amount": charge.amount, "amount_refunded": 600, "currency": "eur",
        "payment_intent": intent.id}))

    assert response.json["outcome"] == "applied"
    assert (reload(order).status, reload(order).refunded_minor) == ("partially_refunded", 600)
    assert [r.amount_minor for r in db.session.scalars(select(Refund))] == [600]


def test_events_the_shop_does_not_use_are_acknowledged(app):
    response = post(app.test_client(), event("evt_customer", "customer.created",
                                             {"id": "cus_1", "object": "customer", "currency": "eur"}))

    assert (response.status_code, response.json["outcome"]) == (200, "ignored")


@pytest.mark.slow
def test_a_webhook_localstripe_signs_and_delivers_pays_the_order(app, database_url, localstripe, make_order,
                                                                 tmp_path):
    """Real delivery: localstripe POSTs its signed event to the shop running under
    gunicorn; nobody returns to the shop."""
    order = make_order(gateway="stripe")
    config = {"DATABASE_URL": database_url, "SECRET_KEY": "webhook-test-secret", "LOG_LEVEL": "WARNING",
              "MAIL_BACKEND": "memory", "PLUGINS_AUTOLOAD": False, "PLUGINS_EXTRA": ["storefront_stripe"]}
    with serve(config, instance_path=str(tmp_path / "served")) as shop:
        localstripe.register_webhook(f"{shop}/payments/stripe/webhook", WEBHOOK_SECRET,
                                     events=["payment_intent.succeeded"])
        try:
            with app.test_request_context(base_url=shop):
                services.start_payment(order)
            payment = db.session.scalars(select(Payment).where(Payment.order_id == order.id)).one()
            api = stripe.StripeClient(localstripe.secret_key, base_addresses={"api": localstripe.api_base})
            api.v1.payment_intents.update(payment.psp_reference, params={"payment_method": "pm_card_visa"})
            api.v1.payment_intents.confirm(payment.psp_reference)  # paid at Stripe; Stripe tells the shop

            deadline = time.monotonic() + 20
            while reload(order).status != "paid" and time.monotonic() < deadline:
                db.session.rollback()  # a new transaction sees what the shop committed (MariaDB)
                time.sleep(0.3)
        finally:
            localstripe.register_webhook("http://127.0.0.1:9/gone", WEBHOOK_SECRET)  # deliver here no more

    assert reload(order).status == "paid"
    assert db.session.scalars(select(ProviderEvent.kind)).all() == ["paid"]
