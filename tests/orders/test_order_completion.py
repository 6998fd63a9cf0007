"""Completion: an order whose every unit shipped becomes *completed* — by staff, or by the
periodic job ORDER_COMPLETE_AFTER_DAYS after its last shipment."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from storefront.audit import AuditEvent
from storefront.clock import utcnow
from storefront.extensions import db
from storefront.jobs import PERIODIC_JOBS, resolve
from storefront.money import Money
from storefront.orders import services, status
from storefront.orders.models import Fulfilment, Order, OrderEvent
from storefront.testing import TEST_PASSWORD, totp_for


@pytest.fixture
def staff(make_user):
    return make_user(role="staff", name="Sam Staff")


@pytest.fixture
def ship(staff):
    """``ship(order, days_ago=0, units=None)``: ship every unit left (or ``units`` of the
    first line), the shipment dated ``days_ago`` days back."""
    def run(order, days_ago=0, units=None):
        quantities = ({order.lines[0].id: units} if units is not None
                      else {line.id: line.quantity_to_ship for line in order.lines if line.quantity_to_ship})
        fulfilment = services.fulfil_order(order.id, quantities, actor=staff)
        db.session.execute(update(Fulfilment).where(Fulfilment.id == fulfilment.id)
                           .values(created_at=utcnow() - timedelta(days=days_ago)))
        db.session.commit()
        return fulfilment

    return run


def status_of(order):
    db.session.expire_all()
    return db.session.get(Order, order.id).status


def completed_events(order):
    return db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id,
                                                       OrderEvent.kind == "completed")).all()


def test_a_shipped_order_is_completed_once_with_one_event_an_audit_row_and_no_mail(app, make_order, ship, staff,
                                                                                  sent_mail, order_events):
    order = make_order(status="paid")
    ship(order)
    sent_mail.clear()
    seen_before = list(order_events.seen)

    services.complete_order(order.id, actor=staff)

    assert status_of(order) == "completed"
    (event,) = completed_events(order)
    assert (event.user_id, event.data) == (staff.id, {"previous_status": "fulfilled"})
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "order.completed"))
    assert (audit.target_id, audit.actor_id) == (order.number, staff.id)
    assert sent_mail == [] and order_events.seen == seen_before  # bookkeeping: nobody is told
    with pytest.raises(status.InvalidTransition, match="already completed"):
        services.complete_order(order.id, actor=staff)
    db.session.rollback()
    assert len(completed_events(order)) == 1


def test_a_partly_refunded_order_with_everything_shipped_can_be_completed(app, make_order, ship):
    order = make_order(status="paid")
    ship(order)
    services.record_refund(order.id, Money(500, "EUR"))
    assert status_of(order) == "partially_refunded"

    services.complete_order(order.id)

    assert status_of(order) == "completed"
    (event,) = completed_events(order)
    assert event.user_id is None and event.data == {"previous_status": "partially_refunded"}
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "order.completed")) is None


@pytest.mark.parametrize("state, message", [
    ("paid", "2 units are still to ship"),
    ("partially_fulfilled", "1 unit is still to ship"),
    ("partially_refunded", "2 units are still to ship"),
    ("cancelled", "cancelled cannot be completed"),
    ("pending_payment", "awaiting payment cannot be completed"),
    ("refunded", "refunded cannot be completed"),
])
def test_orders_not_fully_shipped_or_closed_cannot_be_completed_and_nothing_changes(app, make_order, ship, state,
                                                                                    message):
    order = make_order(status="pending_payment" if state in ("pending_payment", "cancelled") else "paid")
    if state == "partially_fulfilled":
        ship(order, units=1)
    elif state == "partially_refunded":
        services.record_refund(order.id, Money(500, "EUR"))
    elif state == "cancelled":
        services.cancel_order(order.id, "no longer wanted")
    elif state == "refunded":
        ship(order)
        services.record_refund(order.id, Money(2000, "EUR"))
    assert status_of(order) == state
    events_before = db.session.scalar(select(func.count(OrderEvent.id)).where(OrderEvent.order_id == order.id))

    with pytest.raises(status.InvalidTransition, match=message):
        services.complete_order(order.id)

    db.session.rollback()
    assert status_of(order) == state
    assert db.session.scalar(select(func.count(OrderEvent.id)).where(OrderEvent.order_id == order.id)) == events_before


def test_a_completed_order_can_still_be_refunded(app, make_order, ship):
    assert status.can_change(status.COMPLETED, status.PARTIALLY_REFUNDED)
    order = make_order(status="paid")
    ship(order)
    services.complete_order(order.id)

    services.record_refund(order.id, Money(500, "EUR"))
    assert status_of(order) == "partially_refunded"
    services.record_refund(order.id, Money(1500, "EUR"))
    assert status_of(order) == "refunded"


def test_the_job_completes_orders_shipped_long_enough_ago_once(app, runner, make_order, ship):
    app.config["ORDER_COMPLETE_AFTER_DAYS"] = 14
    old = make_order(status="paid")
    ship(old, days_ago=20)
    just_old_enough = make_order(status="paid")
    ship(just_old_enough, days_ago=14)
    recent = make_order(status="paid")
    ship(recent, days_ago=13)
    # The last shipment counts: the first parcel left long ago, the rest yesterday.
    finished_late = make_order(status="paid")
    ship(finished_late, days_ago=30, units=1)
    ship(finished_late, days_ago=1)
    half_shipped = make_order(status="paid")
    ship(half_shipped, days_ago=30, units=1)
    assert "orders.complete_shipped" in runner.invoke(args=["jobs", "periodic"]).output

    result = runner.invoke(args=["jobs", "run-periodic", "orders.complete_shipped"])

    assert result.exit_code == 0 and "ran orders.complete_shipped" in result.output
    assert [status_of(o) for o in (old, just_old_enough, recent, finished_late, half_shipped)] == [
        "completed", "completed", "fulfilled", "fulfilled", "partially_fulfilled"]
    job = next(job for job in PERIODIC_JOBS if job.name == "orders.complete_shipped")
    assert job.every_seconds == 3600
    assert resolve(job.func)() == 0  # idempotent: nothing left to complete
    assert [len(completed_events(o)) for o in (old, just_old_enough)] == [1, 1]
    assert completed_events(old)[0].user_id is None


def test_the_job_does_nothing_when_turned_off(app, make_order, ship):
    app.config["ORDER_COMPLETE_AFTER_DAYS"] = 0
    order = make_order(status="paid")
    ship(order, days_ago=400)
    assert services.complete_shipped_orders() == 0
    assert status_of(order) == "fulfilled"


def test_the_job_completes_more_orders_than_one_batch(app, make_order, make_product, ship, monkeypatch):
    monkeypatch.setattr(services, "JOB_BATCH", 2)
    shirt = make_product("Shirt", stock=20)
    orders = [make_order([(shirt, 1)], status="paid") for _ in range(5)]
    for order in orders:
        ship(order, days_ago=15)
    assert services.complete_shipped_orders() == 5
    assert {status_of(o) for o in orders} == {"completed"}


def test_the_job_skips_an_order_that_changed_after_it_was_picked(app, make_order, ship, monkeypatch):
    """Refunded in full after the job's query picked it: it stays refunded, the rest go on."""
    picked, other = make_order(status="paid"), make_order(status="paid")
    ship(picked, days_ago=20)
    ship(other, days_ago=20)
    complete = services.complete_order

    def refunded_meanwhile(order_id, **kwargs):
        if order_id == picked.id:
            db.session.execute(update(Order).where(Order.id == order_id).values(status=status.REFUNDED))
            db.session.commit()
        return complete(order_id, **kwargs)

    monkeypatch.setattr(services, "complete_order", refunded_meanwhile)
    assert services.complete_shipped_orders() == 1
    assert (status_of(picked), status_of(other)) == ("refunded", "completed")


# --- the back office ---------------------------------------------------------------------------


def test_staff_mark_a_shipped_order_completed_from_its_page(staff_client, make_order, ship, sent_mail):
    order = make_order(status="paid")
    assert "Mark as completed" not in staff_client.get(f"/admin/orders/{order.number}").get_data(as_text=True)
    ship(order, units=1)
    assert "Mark as completed" not in staff_client.get(f"/admin/orders/{order.number}").get_data(as_text=True)
    ship(order)
    page = staff_client.get(f"/admin/orders/{order.number}").get_data(as_text=True)
    assert "Mark as completed" in page and "14 days after the last shipment" in page
    sent_mail.clear()

    response = staff_client.post(f"/admin/orders/{order.number}/complete")

    assert response.status_code == 302 and response.location.endswith(f"/admin/orders/{order.number}")
    page = staff_client.get(response.location).get_data(as_text=True)
    assert f"Order {order.number} is completed." in page and "Mark as completed" not in page
    assert status_of(order) == "completed" and sent_mail == []
    (event,) = completed_events(order)
    assert event.user_id == staff_client.user.id
    assert db.session.scalar(select(AuditEvent.actor_id).where(AuditEvent.action == "order.completed")) == \
        staff_client.user.id


def test_completing_an_order_in_the_wrong_state_gets_a_message_and_changes_nothing(staff_client, make_order,
                                                                                  ship):
    # Like every staff action, a refusal is a flash message on the order page
    # (post/redirect/get), never an error page.
    paid = make_order(status="paid")
    response = staff_client.post(f"/admin/orders/{paid.number}/complete")
    assert response.status_code == 302
    page = staff_client.get(response.location).get_data(as_text=True)
    assert 'class="flash flash-error"' in page and "2 units are still to ship" in page
    assert status_of(paid) == "paid" and completed_events(paid) == []

    done = make_order(status="paid")
    ship(done)
    staff_client.post(f"/admin/orders/{done.number}/complete")
    again = staff_client.post(f"/admin/orders/{done.number}/complete", follow_redirects=True)
    assert "already completed" in again.get_data(as_text=True)
    assert len(completed_events(done)) == 1

    assert staff_client.post("/admin/orders/SF-NONE-NONE/complete").status_code == 404


def test_customers_cannot_complete_orders(app, make_user, login, make_order, ship):
    order = make_order(status="paid")
    ship(order)
    customer = app.test_client()
    login(customer, make_user())
    assert customer.post(f"/admin/orders/{order.number}/complete").status_code == 403
    assert status_of(order) == "fulfilled"


def test_completing_needs_the_csrf_token(make_app, make_user, make_order, ship):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        order = make_order(status="paid")
        ship(order)
        staff = make_user(role="staff")
        client = app.test_client()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                          client.get("/account/login").get_data(as_text=True)).group(1)
        client.post("/account/login", data={"email": staff.email, "password": TEST_PASSWORD, "csrf_token": token})
        db.session.refresh(staff)
        client.post("/account/login/verify", data={"code": totp_for(staff), "csrf_token": token})
        assert client.post(f"/admin/orders/{order.number}/complete").status_code == 400
        assert status_of(order) == "fulfilled"
