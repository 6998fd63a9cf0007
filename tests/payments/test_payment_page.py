"""The payment page: the gateway's step, one open payment however often the shopper
reloads, clean failures that leave the order payable, switching to another method."""
from sqlalchemy import func, select

from storefront.extensions import db
from storefront.mail import OutgoingMail
from storefront.orders.models import Order
from storefront.payments.models import Payment


def payments_of(order):
    return db.session.scalars(select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)).all()


def paid_mails(order):
    return db.session.scalar(select(func.count()).select_from(OutgoingMail).where(
        OutgoingMail.template == "order_paid", OutgoingMail.to == order.email))


def status_of(order):
    return db.session.scalar(select(Order.status).where(Order.id == order.id))


def test_the_payment_page_shows_the_gateways_step_and_reloading_keeps_one_open_payment(shopper, testpay_order):
    first = shopper.get(f"/checkout/pay/{testpay_order.number}")
    second = shopper.get(f"/checkout/pay/{testpay_order.number}")

    assert first.status_code == second.status_code == 200
    assert f"Pay {testpay_order.total_minor} at Test pay" in second.get_data(as_text=True)
    payment, = payments_of(testpay_order)
    assert (payment.status, payment.amount_minor, payment.currency) == ("pending", testpay_order.total_minor, "EUR")
    assert payment.public_id.startswith("pay_") and payment.psp_reference == f"tp_{payment.public_id}"


def test_someone_elses_order_is_not_found_on_the_payment_page(app, testpay_order):
    stranger = app.test_client()

    assert stranger.get(f"/checkout/pay/{testpay_order.number}").status_code == 404
    assert payments_of(testpay_order) == []


def test_a_paid_order_goes_straight_to_its_confirmation(shopper, make_order):
    order = make_order(user=shopper.user, gateway="testpay", payment=True, status="paid")

    response = shopper.get(f"/checkout/pay/{order.number}")

    assert response.status_code == 302 and response.location.endswith(f"/orders/{order.number}/thanks")


def test_a_gateway_that_raises_shows_a_clean_message_and_the_order_stays_payable(shopper, testpay_order,
                                                                                configure_plugin):
    configure_plugin("testpay", start="raise")

    page = shopper.get(f"/checkout/pay/{testpay_order.number}")

    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "This payment method is not working right now" in text
    assert 'value="cheque"' in text and "Try again" in text
    assert status_of(testpay_order) == "pending_payment"

    configure_plugin("testpay", start="render")
    retry = shopper.post(f"/checkout/pay/{testpay_order.number}", data={"gateway": "testpay"})
    assert retry.status_code == 200 and "at Test pay" in retry.get_data(as_text=True)
    assert [p.status for p in payments_of(testpay_order)] == ["pending"]  # the same open payment, resumed


def test_the_shopper_can_switch_to_another_payment_method(shopper, testpay_order, configure_plugin):
    configure_plugin("testpay", start="raise")
    shopper.get(f"/checkout/pay/{testpay_order.number}")

    switched = shopper.post(f"/checkout/pay/{testpay_order.number}", data={"gateway": "cheque"})

    assert switched.status_code == 200
    assert f"Send a cheque for order {testpay_order.number}" in switched.get_data(as_text=True)
    assert db.session.scalar(select(Order.payment_gateway_id).where(Order.id == testpay_order.id)) == "cheque"
    assert [(p.gateway_id, p.status) for p in payments_of(testpay_order)] == [("testpay", "pending"),
                                                                                ("cheque", "pending")]


def test_a_declined_payment_shows_why_and_trying_again_starts_a_new_payment(shopper, testpay_order,
                                                                           configure_plugin):
    configure_plugin("testpay", start="declined")
    declined = shopper.get(f"/checkout/pay/{testpay_order.number}")
    assert "Card declined by test" in declined.get_data(as_text=True)
    reloaded = shopper.get(f"/checkout/pay/{testpay_order.number}")
    assert "Card declined by test" in reloaded.get_data(as_text=True)  # not started again by a reload

    configure_plugin("testpay", start="render")
    retry = shopper.post(f"/checkout/pay/{testpay_order.number}", data={"gateway": "testpay"})

    assert "at Test pay" in retry.get_data(as_text=True)
    assert [p.status for p in payments_of(testpay_order)] == ["failed", "pending"]
    assert status_of(testpay_order) == "pending_payment"


def test_an_unknown_or_unoffered_payment_method_is_refused_with_a_4xx(shopper, testpay_order):
    unknown = shopper.post(f"/checkout/pay/{testpay_order.number}", data={"gateway": "bitcoin-wallet"})

    assert unknown.status_code == 400
    assert "not available" in unknown.get_data(as_text=True)
    assert payments_of(testpay_order) == []


def test_a_redirect_step_sends_the_shopper_to_the_provider(shopper, testpay_order, configure_plugin):
    configure_plugin("testpay", start="redirect")

    response = shopper.get(f"/checkout/pay/{testpay_order.number}")

    payment, = payments_of(testpay_order)
    assert response.status_code == 302 and response.location == f"https://pay.example/tp_{payment.public_id}"


def test_the_shopper_returning_after_paying_lands_on_the_confirmation_with_the_order_paid(
        shopper, testpay_order, provider):
    shopper.get(f"/checkout/pay/{testpay_order.number}")
    payment, = payments_of(testpay_order)
    provider.pay(payment.psp_reference, payment.amount_minor)

    back = shopper.get(f"/payments/testpay/return?payment={payment.public_id}")

    assert back.status_code == 302 and back.location.endswith(f"/orders/{testpay_order.number}/thanks")
    assert status_of(testpay_order) == "paid"
    assert provider.order_paid_events == [testpay_order.number]
    again = shopper.get(f"/payments/testpay/return?payment={payment.public_id}")
    assert again.status_code == 302 and provider.order_paid_events == [testpay_order.number]
    assert paid_mails(testpay_order) == 1


def test_returning_before_paying_goes_back_to_the_payment_page(shopper, testpay_order):
    shopper.get(f"/checkout/pay/{testpay_order.number}")
    payment, = payments_of(testpay_order)

    back = shopper.get(f"/payments/testpay/return?payment={payment.public_id}")

    assert back.status_code == 302 and back.location.endswith(f"/checkout/pay/{testpay_order.number}")
    assert status_of(testpay_order) == "pending_payment"


def test_a_return_naming_an_unknown_payment_is_not_found(shopper):
    assert shopper.get("/payments/testpay/return?payment=pay_nope").status_code == 404
    assert shopper.get("/payments/nogateway/return?payment=pay_nope").status_code == 404


def test_an_authorised_payment_sends_the_shopper_to_the_confirmation_and_awaits_capture(
        shopper, testpay_order, configure_plugin):
    configure_plugin("testpay", start="authorized")

    response = shopper.get(f"/checkout/pay/{testpay_order.number}")

    assert response.status_code == 302 and response.location.endswith(f"/orders/{testpay_order.number}/thanks")
    assert [p.status for p in payments_of(testpay_order)] == ["authorized"]
    assert status_of(testpay_order) == "pending_payment"
    again = shopper.get(f"/checkout/pay/{testpay_order.number}")
    assert again.status_code == 302  # nothing to pay twice
