"""Paying by card through Stripe (localstripe): the intent the shop creates, cards that
pay, cards that are declined, 3-D Secure, and the page the browser gets."""
import pytest
from sqlalchemy import func, select

from storefront.extensions import db
from storefront.mail import OutgoingMail
from storefront.orders.models import Order
from storefront.payments.models import Payment


def order_status(order):
    db.session.expire_all()
    return db.session.get(Order, order.id).status


def paid_mails():
    return db.session.scalar(select(func.count()).select_from(OutgoingMail).where(OutgoingMail.template == "order_paid"))


def test_the_payment_page_creates_one_intent_for_the_order_total_with_our_ids(card_page, order, stripe_api,
                                                                              localstripe):
    assert card_page.open().status_code == 200

    payment = card_page.payment
    intent = stripe_api.v1.payment_intents.retrieve(payment.psp_reference)
    assert (intent.amount, intent.currency, intent.capture_method) == (order.total_minor, "eur", "automatic")
    assert intent.metadata["payment_id"] == payment.public_id
    assert intent.metadata["order_number"] == order.number
    assert card_page.data("client-secret") == intent.client_secret
    assert card_page.data("publishable-key") == localstripe.publishable_key
    assert card_page.data("stage") == "collect"
    assert f'<script src="{localstripe.js_url}"></script>' in card_page.html
    assert '<script src="/stripe/static/stripe-card.js"></script>' in card_page.html

    card_page.open()  # a reload resumes the same intent
    assert card_page.payment.psp_reference == intent.id
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_the_payment_page_may_load_stripe_js_under_the_content_security_policy(card_page, localstripe):
    card_page.open()

    policy = dict(part.strip().split(" ", 1) for part in card_page.response.headers["Content-Security-Policy"]
                  .split(";"))
    assert localstripe.url in policy["script-src"].split()
    assert localstripe.url in policy["connect-src"].split()
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "<script>" not in card_page.html  # no inline script


def test_the_card_script_is_served_by_the_plugin(shopper):
    with shopper.get("/stripe/static/stripe-card.js") as response:
        assert response.status_code == 200 and "javascript" in response.content_type
        assert "createPaymentMethod" in response.get_data(as_text=True)


def test_paying_with_a_visa_card_pays_the_order_once(card_page, order, stripe_api):
    card_page.open()

    paid = card_page.pay_with("pm_card_visa")
    twice = card_page.pay_with("pm_card_visa")  # a double submit

    assert paid.status_code == twice.status_code == 302
    assert paid.location.endswith(f"/orders/{order.number}/thanks")
    assert order_status(order) == "paid" and card_page.payment.status == "paid"
    assert stripe_api.v1.payment_intents.retrieve(card_page.payment.psp_reference).status == "succeeded"
    assert paid_mails() == 1


def test_a_declined_card_fails_the_payment_and_the_order_stays_payable(card_page, order, shopper):
    card_page.open()
    declined_payment = card_page.payment

    declined = card_page.pay_with("pm_card_chargeCustomerFail")

    assert declined.status_code == 302 and declined.location.endswith(f"/checkout/pay/{order.number}")
    assert order_status(order) == "pending_payment" and card_page.payment.status == "failed"
    page = shopper.get(f"/checkout/pay/{order.number}").get_data(as_text=True)
    assert "Your card was declined." in page and "Try again" in page

    retry = shopper.post(f"/checkout/pay/{order.number}", data={"gateway": "stripe"})
    card_page.html = retry.get_data(as_text=True)
    assert card_page.payment.id != declined_payment.id  # a fresh payment and intent
    assert card_page.pay_with("pm_card_visa").status_code == 302
    assert order_status(order) == "paid"


def test_a_3d_secure_card_is_authenticated_with_stripe_js_and_then_paid(card_page, order, localstripe, shopper):
    card_page.open()
    card = localstripe.card_token("4000002500003155")["card"]["id"]  # what the fake Stripe.js posts

    confirmed = card_page.pay_with(card)

    assert confirmed.location.endswith(f"/checkout/pay/{order.number}")
    challenge = card_page.open()
    assert challenge.status_code == 200 and card_page.data("stage") == "authenticate"
    assert order_status(order) == "pending_payment"

    localstripe.authenticate(card_page.payment.psp_reference, card_page.data("client-secret"))  # Stripe.js
    back = shopper.get(card_page.data("return-url"))

    assert back.location.endswith(f"/orders/{order.number}/thanks")
    assert order_status(order) == "paid" and paid_mails() == 1


def test_a_failed_3d_secure_check_fails_the_payment(card_page, order, localstripe, shopper):
    card_page.open()
    card_page.pay_with(localstripe.card_token("4000002500003155")["card"]["id"])
    card_page.open()

    localstripe.authenticate(card_page.payment.psp_reference, card_page.data("client-secret"), success=False)
    back = shopper.get(card_page.data("return-url"))

    assert back.location.endswith(f"/checkout/pay/{order.number}")
    assert card_page.payment.status == "failed" and order_status(order) == "pending_payment"
    assert "failed authentication" in shopper.get(f"/checkout/pay/{order.number}").get_data(as_text=True)


@pytest.mark.parametrize("posted", ["", "tok_visa'; DROP", "pi_123"])
def test_a_card_form_without_a_usable_payment_method_is_refused(card_page, order, posted):
    card_page.open()

    response = card_page.pay_with(posted)

    assert response.status_code == 400
    assert card_page.payment.status == "pending" and order_status(order) == "pending_payment"


def test_the_stripe_gateway_is_offered_only_once_it_has_its_keys(app, configure_plugin, localstripe):
    from storefront.money import Money
    from storefront.payments.services import available_gateways

    assert [g.id for g in available_gateways(Money(2000, "EUR"), "DE")] == ["stripe"]
    configure_plugin("stripe", secret_key=None)  # None clears a secret
    assert available_gateways(Money(2000, "EUR"), "DE") == []
    configure_plugin("stripe", secret_key=localstripe.secret_key, publishable_key="")
    assert available_gateways(Money(2000, "EUR"), "DE") == []
