import re

import pytest
from sqlalchemy import select

from storefront.audit import AuditEvent
from storefront.extensions import db
from storefront.money import Money
from storefront.orders import services, status
from storefront.orders.models import Order, OrderEvent
from storefront.payments.models import Payment
from storefront.testing import mail_text


def kinds_of(order):
    return [e.kind for e in db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id)
                                                .order_by(OrderEvent.id))]


def test_the_status_table_allows_the_documented_paths_and_nothing_else(app, make_order):
    order = make_order()
    with pytest.raises(status.InvalidTransition, match="awaiting payment cannot become shipped"):
        status.change_status(order, status.FULFILLED)
    assert status.sources_for(status.PAID) == {status.PENDING_PAYMENT}
    assert status.sources_for(status.CANCELLED) == {status.PENDING_PAYMENT, status.PAID}
    assert status.TRANSITIONS[status.CANCELLED] == status.TRANSITIONS[status.REFUNDED] == frozenset()
    for path in ([status.PAID, status.PARTIALLY_FULFILLED, status.FULFILLED, status.COMPLETED, status.REFUNDED],
                 [status.PAID, status.PARTIALLY_REFUNDED, status.FULFILLED]):
        order.status = status.PENDING_PAYMENT
        for new in path:
            assert status.change_status(order, new) != new
        assert order.status == path[-1]
    db.session.rollback()


def test_order_numbers_carry_the_prefix_and_read_unambiguously(app):
    app.config["ORDER_NUMBER_PREFIX"] = "SHOP"
    numbers = {services.new_order_number() for _ in range(200)}
    assert len(numbers) == 200
    assert all(re.fullmatch(r"SHOP-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", n) for n in numbers)
    assert services.normalise_number(" shop-4k7q-9xmo ") == "SHOP-4K7Q-9XM0"
    assert services.normalise_number("shop-1il0-0000") == "SHOP-1110-0000"


def test_an_order_is_marked_paid_once_with_one_event_one_mail_and_one_notification(app, make_order, sent_mail,
                                                                                   order_events):
    order = make_order(payment=True)
    payment = db.session.scalar(select(Payment).where(Payment.order_id == order.id))

    assert services.mark_paid(order.id, payment=payment) is True
    assert services.mark_paid(order.id, payment=payment) is False
    assert services.mark_paid(order.id) is False

    db.session.refresh(order)
    assert (order.status, order.paid_minor) == ("paid", order.total_minor) and order.paid_at is not None
    assert kinds_of(order).count("paid") == 1
    paid_mail = [m for m in sent_mail if "Payment received" in m["Subject"]]
    assert len(paid_mail) == 1 and paid_mail[0]["To"] == order.email
    text = mail_text(paid_mail[0])
    assert order.number in text and "2 × Test product" in text and "Total: €20.00" in text
    assert order_events.kinds(order.number) == ["paid"]
    assert order_events.seen[0][2] == "manual"
    assert order_events.committed == [("paid", "paid")]  # plugins hear of it after the commit


def test_mark_paid_refuses_an_amount_in_another_currency_and_changes_nothing(app, make_order):
    order = make_order()
    with pytest.raises(services.InvalidInput):
        services.mark_paid(order.id, amount=Money(100, "USD"))
    assert db.session.get(Order, order.id).status == "pending_payment"


def test_staff_confirming_an_offline_payment_settles_the_payment_row_and_is_audited(app, make_order, make_user):
    staff = make_user(role="staff")
    order = make_order(payment=True)
    assert services.mark_paid(order.id, actor=staff, record_payment=True)
    payment = db.session.scalar(select(Payment).where(Payment.order_id == order.id))
    assert (payment.status, payment.amount_minor) == ("paid", order.total_minor)
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.target_id == order.number)) == "order.marked_paid"
    no_row = make_order()
    services.mark_paid(no_row.id, actor=staff, record_payment=True)
    created = db.session.scalar(select(Payment).where(Payment.order_id == no_row.id))
    assert (created.gateway_id, created.status) == ("manual", "paid")
