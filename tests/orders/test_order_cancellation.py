from datetime import timedelta

import pytest
from sqlalchemy import select

from storefront.catalog.models import StockMovement, Variant
from storefront.checkout.models import Coupon, CouponRedemption
from storefront.clock import utcnow
from storefront.extensions import db
from storefront.jobs import PERIODIC_JOBS, resolve
from storefront.orders import services, status
from storefront.orders.models import Order, OrderEvent
from storefront.testing import mail_text


def stock_of(product):
    return db.session.scalar(select(Variant.stock).where(Variant.product_id == product.id))


def make_coupon(limit=5):
    coupon = Coupon(code="SPRING", kind="percentage", value=1000, currency="EUR", usage_limit=limit,
                    used_count=0, created_at=utcnow())
    db.session.add(coupon)
    db.session.commit()
    return coupon


def test_cancelling_an_unpaid_order_returns_its_stock_and_its_coupon_use(app, make_order, make_product, sent_mail,
                                                                         order_events, make_user):
    shirt, mug = make_product("Shirt", stock=5), make_product("Mug", stock=3)
    coupon = make_coupon()
    order = make_order([(shirt, 2), (mug, 3)], coupon=coupon, discount_minor=500)
    assert (stock_of(shirt), stock_of(mug), db.session.get(Coupon, coupon.id).used_count) == (3, 0, 1)

    services.cancel_order(order.id, "Customer asked", actor=make_user(role="staff"))

    assert (stock_of(shirt), stock_of(mug)) == (5, 3)
    db.session.refresh(coupon)
    assert coupon.used_count == 0 and db.session.scalar(select(CouponRedemption)) is None
    moves = db.session.scalars(select(StockMovement).where(StockMovement.reason == "cancellation")).all()
    assert sorted((m.delta, m.order_id) for m in moves) == [(2, order.id), (3, order.id)]
    cancelled = db.session.get(Order, order.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    assert [m["Subject"] for m in sent_mail] == [f"Your order {order.number} was cancelled"]
    assert "Reason: Customer asked" in mail_text(sent_mail[0])
    assert order_events.seen == [("cancelled", order.number, "Customer asked")]
    assert order_events.committed == [("cancelled", "cancelled")]


def test_a_cancelled_order_cannot_be_cancelled_again_or_paid(app, make_order, make_product):
    shirt = make_product("Shirt", stock=5)
    order = make_order([(shirt, 2)])
    services.cancel_order(order.id, "first")
    with pytest.raises(status.InvalidTransition, match="cancelled cannot be cancelled"):
        services.cancel_order(order.id, "second")
    assert services.mark_paid(order.id) is False
    assert stock_of(shirt) == 5  # returned once, not twice


def test_a_paid_order_is_refunded_in_full_before_it_is_cancelled(app, make_order, make_product, instant_gateway,
                                                                 order_events, sent_mail):
    shirt = make_product("Shirt", price=2500, stock=5)
    order = make_order([(shirt, 2)], gateway="instant", payment=True, status="paid")
    sent_mail.clear()

    services.cancel_order(order.id, "Out of business")

    db.session.refresh(order)
    assert (order.status, order.refunded_minor, order.paid_minor) == ("cancelled", 5000, 5000)
    assert [amount.minor for _, amount in instant_gateway.refunds] == [5000]
    assert order_events.kinds(order.number) == ["paid", "refunded", "cancelled"]
    assert stock_of(shirt) == 5
    subjects = [m["Subject"] for m in sent_mail]
    assert subjects == [f"Your order {order.number} was cancelled"]  # one message, saying the money went back
    assert "We refunded €50.00" in mail_text(sent_mail[0])


def test_shipped_orders_cannot_be_cancelled(app, make_order, make_user):
    order = make_order(status="paid")
    services.fulfil_order(order.id, {order.lines[0].id: 1}, actor=make_user(role="staff"))
    with pytest.raises(status.InvalidTransition):
        services.cancel_order(order.id, "too late")


def test_the_periodic_job_cancels_orders_unpaid_past_their_hold_once(app, runner, make_order, make_product,
                                                                    sent_mail):
    app.config["STORE_URL"] = "https://shop.example/store"  # the job runs outside any request
    shirt = make_product("Shirt", stock=10)
    overdue = make_order([(shirt, 2)], pay_by=utcnow() - timedelta(minutes=1))
    still_held = make_order([(shirt, 3)])
    paid_late = make_order([(shirt, 1)], pay_by=utcnow() - timedelta(minutes=1), status="paid")
    assert stock_of(shirt) == 4
    assert "orders.cancel_unpaid" in runner.invoke(args=["jobs", "periodic"]).output

    result = runner.invoke(args=["jobs", "run-periodic", "orders.cancel_unpaid"])
    assert result.exit_code == 0 and "ran orders.cancel_unpaid" in result.output
    job = next(job for job in PERIODIC_JOBS if job.name == "orders.cancel_unpaid")
    assert resolve(job.func)() == 0  # idempotent: nothing left to cancel

    assert [db.session.get(Order, o.id).status for o in (overdue, still_held, paid_late)] == [
        "cancelled", "pending_payment", "paid"]
    assert stock_of(shirt) == 6
    event = db.session.scalar(select(OrderEvent).where(OrderEvent.order_id == overdue.id,
                                                       OrderEvent.kind == "cancelled"))
    assert "Not paid in time" in event.message and event.user_id is None
    cancelled_mail = [m for m in sent_mail if m["To"] == overdue.email and "was cancelled" in m["Subject"]]
    assert len(cancelled_mail) == 1
    assert f"https://shop.example/store/orders/lookup?number={overdue.number}" in mail_text(cancelled_mail[0])


def test_the_hold_time_comes_from_the_configuration(app, make_order):
    app.config["ORDER_UNPAID_HOLD_MINUTES"] = 30
    order = make_order()
    assert timedelta(minutes=29) < order.pay_by - order.placed_at <= timedelta(minutes=30)


def test_a_worker_runs_the_unpaid_order_job_from_the_queue(app, queued_jobs, make_order, make_product):
    from storefront import jobs

    shirt = make_product("Shirt", stock=10)
    overdue = make_order([(shirt, 2)], pay_by=utcnow() - timedelta(minutes=5))
    assert "orders.cancel_unpaid" in jobs.enqueue_due_periodic_jobs(app)
    assert "orders.cancel_unpaid" not in jobs.enqueue_due_periodic_jobs(app)  # once per interval
    queued_jobs()
    db.session.expire_all()
    assert db.session.get(Order, overdue.id).status == "cancelled" and stock_of(shirt) == 10


def test_the_periodic_job_leaves_orders_with_an_authorised_card_payment_for_staff(app, make_order):
    from storefront.payments.models import Payment

    authorised = make_order(gateway="stripe", payment=True, pay_by=utcnow() - timedelta(minutes=1))
    payment = db.session.scalar(select(Payment).where(Payment.order_id == authorised.id))
    payment.status = "authorized"
    db.session.commit()
    overdue = make_order(pay_by=utcnow() - timedelta(minutes=1))

    assert services.cancel_unpaid_orders() == 1
    assert db.session.get(Order, overdue.id).status == status.CANCELLED
    assert db.session.get(Order, authorised.id).status == status.PENDING_PAYMENT   # staff capture it


def test_an_order_paid_after_the_job_chose_it_is_neither_refunded_nor_cancelled(app, make_order, make_product,
                                                                                 instant_gateway):
    # The job picks orders still awaiting payment, then cancels them one by one; a payment
    # landing in between must win (the job's cancel would otherwise refund the shopper).
    shirt = make_product("Shirt", stock=5)
    order = make_order([(shirt, 2)], gateway="instant", payment=True, pay_by=utcnow() - timedelta(minutes=1))
    assert services.mark_paid(order.id) is True

    with pytest.raises(status.InvalidTransition, match="no longer awaiting payment"):
        services.cancel_order(order.id, "Not paid in time", unpaid_only=True)

    db.session.rollback()
    assert db.session.get(Order, order.id).status == status.PAID
    assert db.session.get(Order, order.id).refunded_minor == 0
    assert instant_gateway.refunds == []
    assert db.session.scalar(select(Variant.stock).where(Variant.id == shirt.variants[0].id)) == 3
