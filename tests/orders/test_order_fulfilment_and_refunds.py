import pytest
from sqlalchemy import select

from storefront.audit import AuditEvent
from storefront.errors import InvalidInput
from storefront.extensions import db
from storefront.money import Money
from storefront.orders import services, status
from storefront.orders.models import Fulfilment, Order, OrderEvent
from storefront.testing import mail_text


@pytest.fixture
def staff(make_user):
    return make_user(role="staff", name="Sam Staff")


@pytest.fixture
def paid_order(make_order, make_product):
    shirt = make_product("Linen shirt", price=2500, stock=10)
    mug = make_product("Mug", price=800, stock=10)
    return make_order([(shirt, 3), (mug, 1)], status="paid", email="ann@example.com")


def test_an_order_ships_in_parts_by_line_with_tracking_and_a_mail_each_time(app, paid_order, staff, sent_mail,
                                                                            order_events):
    shirt_line, mug_line = paid_order.lines
    sent_mail.clear()

    services.fulfil_order(paid_order.id, {shirt_line.id: 2, mug_line.id: 0}, carrier="DHL",
                          tracking_number="JD0123", tracking_url="https://track.example/JD0123", actor=staff)

    db.session.refresh(paid_order)
    assert paid_order.status == "partially_fulfilled"
    assert [(line.quantity_fulfilled, line.quantity_to_ship) for line in paid_order.lines] == [(2, 1), (0, 1)]
    first = mail_text(sent_mail[-1])
    assert sent_mail[-1]["Subject"] == f"Part of your order {paid_order.number} has shipped"
    assert "2 × Linen shirt" in first and "Mug" not in first.split("Order ")[0]
    assert "Carrier: DHL" in first and "Tracking number: JD0123" in first and "https://track.example/JD0123" in first
    assert order_events.kinds(paid_order.number) == ["paid"]  # fulfilled fires once everything shipped

    services.fulfil_order(paid_order.id, {str(shirt_line.id): 1, mug_line.id: 1}, carrier="UPS",
                          tracking_number="1Z999", actor=staff)

    db.session.refresh(paid_order)
    assert paid_order.status == "fulfilled"
    assert sent_mail[-1]["Subject"] == f"Your order {paid_order.number} has shipped"
    fulfilments = db.session.scalars(select(Fulfilment).where(Fulfilment.order_id == paid_order.id)).all()
    assert [(f.carrier, f.tracking_number, sum(fl.quantity for fl in f.lines)) for f in fulfilments] == [
        ("DHL", "JD0123", 2), ("UPS", "1Z999", 2)]
    assert order_events.seen[-1] == ("fulfilled", paid_order.number, "fulfilled")
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == paid_order.number)).all()
    assert actions.count("order.fulfilled") == 2


@pytest.mark.parametrize("quantities, message", [
    ({}, "at least one line"),
    ({"first": 0}, "at least one line"),
    ({"first": -1}, "cannot be negative"),
    ({"first": 4}, "Only 3 units of Linen shirt are left"),
    ({"first": "2"}, "whole number"),
    ({"first": True}, "whole number"),
    ({999999: 1}, "not part of this order"),
    ({"nonsense": 1}, "not part of this order"),
])
def test_impossible_shipments_are_refused_and_change_nothing(app, paid_order, staff, quantities, message):
    line_id = paid_order.lines[0].id
    quantities = {(line_id if key == "first" else key): value for key, value in quantities.items()}
    with pytest.raises(InvalidInput, match=message):
        services.fulfil_order(paid_order.id, quantities, actor=staff)
    db.session.rollback()
    assert db.session.get(Order, paid_order.id).status == "paid"
    assert db.session.scalar(select(Fulfilment)) is None


@pytest.mark.parametrize("field, value, message", [
    ("tracking_url", "javascript:alert(1)", "web address"),
    ("tracking_url", "https://x.example/" + "a" * 500, "at most 500"),
    ("carrier", "C" * 61, "at most 60"),
    ("tracking_number", "9" * 101, "at most 100"),
])
def test_tracking_details_are_checked(app, paid_order, staff, field, value, message):
    with pytest.raises(InvalidInput, match=message):
        services.fulfil_order(paid_order.id, {paid_order.lines[0].id: 1}, actor=staff, **{field: value})


def test_unpaid_orders_cannot_ship(app, make_order, staff):
    order = make_order()
    with pytest.raises(status.InvalidTransition, match="awaiting payment cannot be shipped"):
        services.fulfil_order(order.id, {order.lines[0].id: 1}, actor=staff)


def test_refunds_are_booked_partially_then_fully_with_mail_events_and_notifications(app, paid_order, staff,
                                                                                    sent_mail, order_events):
    sent_mail.clear()
    services.record_refund(paid_order.id, Money(1000, "EUR"), actor=staff)
    db.session.refresh(paid_order)
    assert (paid_order.status, paid_order.refunded_minor) == ("partially_refunded", 1000)
    assert sent_mail[-1]["Subject"] == f"Refund for order {paid_order.number}"
    assert "We refunded €10.00" in mail_text(sent_mail[-1])

    with pytest.raises(InvalidInput, match="At most €73.00"):
        services.record_refund(paid_order.id, Money(7301, "EUR"))
    with pytest.raises(InvalidInput):
        services.record_refund(paid_order.id, Money(0, "EUR"))
    with pytest.raises(InvalidInput):
        services.record_refund(paid_order.id, Money(100, "USD"))

    services.record_refund(paid_order.id, Money(7300, "EUR"))
    db.session.refresh(paid_order)
    assert (paid_order.status, paid_order.refunded_minor, paid_order.refundable.minor) == ("refunded", 8300, 0)
    assert [kind for kind, *_ in order_events.seen] == ["paid", "refunded", "refunded"]
    assert [amount.minor for kind, _, amount in order_events.seen if kind == "refunded"] == [1000, 7300]
    with pytest.raises(status.InvalidTransition):
        services.record_refund(paid_order.id, Money(1, "EUR"))


def test_a_partly_refunded_order_can_still_ship(app, paid_order, staff):
    services.record_refund(paid_order.id, Money(800, "EUR"))
    services.fulfil_order(paid_order.id, {line.id: line.quantity for line in paid_order.lines}, actor=staff)
    assert db.session.get(Order, paid_order.id).status == "fulfilled"


def test_refunds_of_unpaid_orders_are_refused(app, make_order):
    order = make_order()
    with pytest.raises(status.InvalidTransition):
        services.record_refund(order.id, Money(100, "EUR"))


def test_staff_notes_join_the_timeline_and_the_audit_log(app, paid_order, staff):
    event = services.add_note(paid_order.id, "  Customer called about gift wrap  ", actor=staff)
    assert (event.kind, event.message, event.user_id) == ("note", "Customer called about gift wrap", staff.id)
    with pytest.raises(InvalidInput):
        services.add_note(paid_order.id, "   ", actor=staff)
    with pytest.raises(InvalidInput):
        services.add_note(paid_order.id, "x" * 5001, actor=staff)
    notes = db.session.scalars(select(OrderEvent).where(OrderEvent.kind == "note")).all()
    assert len(notes) == 1
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "order.note_added"))
