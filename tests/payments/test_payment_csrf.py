"""With CSRF protection on (as in production): providers' webhooks need no token, the
shopper's forms do."""
import re

import pytest
from sqlalchemy import select

from storefront.extensions import db
from storefront.orders.models import Order
from storefront.payments.models import Payment


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def guest(app, make_order):
    """A guest who placed an order in this browser session."""
    order = make_order(gateway="testpay", email="guest@example.com")
    client = app.test_client()
    with client.session_transaction() as session:
        session["storefront_orders"] = [order.number]
    client.order = order
    return client


def test_a_webhook_needs_no_csrf_token(app, guest, provider):
    guest.get(f"/checkout/pay/{guest.order.number}")
    payment = db.session.scalars(select(Payment)).one()
    body = provider.webhook_body("evt_1", "paid", payment.psp_reference, payment.amount_minor)

    response = provider.post_webhook(app.test_client(), body)

    assert response.status_code == 200
    assert db.session.scalar(select(Order.status).where(Order.id == guest.order.id)) == "paid"


def test_the_payment_forms_need_the_shoppers_csrf_token(guest, provider):
    page = guest.get(f"/checkout/pay/{guest.order.number}").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    payment = db.session.scalars(select(Payment)).one()
    provider.pay(payment.psp_reference, payment.amount_minor)

    forged = guest.post(f"/payments/testpay/return?payment={payment.public_id}", data={"x": "1"})
    switched = guest.post(f"/checkout/pay/{guest.order.number}", data={"gateway": "cheque"})
    assert forged.status_code == switched.status_code == 400
    assert db.session.scalar(select(Order.status).where(Order.id == guest.order.id)) == "pending_payment"

    real = guest.post(f"/payments/testpay/return?payment={payment.public_id}", data={"csrf_token": token})
    assert real.status_code == 302 and real.location.endswith(f"/orders/{guest.order.number}/thanks")


def test_a_form_posted_back_for_someone_elses_order_is_not_found(app, guest):
    guest.get(f"/checkout/pay/{guest.order.number}")
    payment = db.session.scalars(select(Payment)).one()
    stranger = app.test_client()
    page = stranger.get("/orders/lookup").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    response = stranger.post(f"/payments/testpay/return?payment={payment.public_id}", data={"csrf_token": token})

    assert response.status_code == 404
