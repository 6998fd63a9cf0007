"""The race every payment integration must survive, on MariaDB with real threads: the
provider delivers the same webhook five times at once while the shopper returns."""
import threading

import pytest
from sqlalchemy import func, select

from storefront.extensions import db
from storefront.mail import OutgoingMail
from storefront.orders.models import Order, OrderEvent
from storefront.payments.models import Payment, ProviderEvent

pytestmark = pytest.mark.mariadb


def run_together(calls):
    """Run every call in its own thread, released at the same moment; their results."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list = []

    def worker(index, call):
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_five_concurrent_webhooks_and_the_return_pay_the_order_exactly_once(app, shopper, testpay_order,
                                                                            provider, attempt):
    shopper.get(f"/checkout/pay/{testpay_order.number}")
    payment = db.session.scalars(select(Payment).where(Payment.order_id == testpay_order.id)).one()
    provider.pay(payment.psp_reference, payment.amount_minor)
    body = provider.webhook_body("evt_race", "paid", payment.psp_reference, payment.amount_minor)
    payment_id, return_url = payment.id, f"/payments/testpay/return?payment={payment.public_id}"
    db.session.commit()  # the threads' connections must not wait on this one

    def deliver():
        response = provider.post_webhook(app.test_client(), body)
        return response.status_code, response.json["outcome"]

    def come_back():
        return shopper.get(return_url).status_code, "return"

    results = run_together([deliver] * 5 + [come_back])

    assert [status for status, _ in results] == [200] * 5 + [302]
    outcomes = sorted(outcome for _, outcome in results[:5])
    assert outcomes.count("duplicate") >= 4 and set(outcomes) <= {"applied", "unchanged", "duplicate"}
    db.session.expire_all()
    assert db.session.get(Order, testpay_order.id).status == "paid"
    assert db.session.get(Payment, payment_id).status == "paid"
    assert db.session.scalar(select(func.count()).select_from(OrderEvent).where(
        OrderEvent.order_id == testpay_order.id, OrderEvent.kind == "paid")) == 1
    assert db.session.scalar(select(func.count()).select_from(OutgoingMail).where(
        OutgoingMail.template == "order_paid")) == 1
    assert provider.order_paid_events == [testpay_order.number]
    assert db.session.scalar(select(func.count()).select_from(ProviderEvent)) == 1


def test_two_tabs_opening_the_payment_page_at_once_share_one_payment(app, shopper, testpay_order):
    url = f"/checkout/pay/{testpay_order.number}"
    db.session.commit()

    statuses = run_together([lambda: shopper.get(url).status_code] * 4)

    assert statuses == [200] * 4
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Payment)
                             .where(Payment.order_id == testpay_order.id)) == 1
