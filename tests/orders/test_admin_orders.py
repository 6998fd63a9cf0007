import re
from datetime import datetime

import pytest
from sqlalchemy import select

from storefront.audit import AuditEvent
from storefront.catalog.models import Variant
from storefront.extensions import db
from storefront.orders import services
from storefront.orders.models import Order, OrderEvent
from storefront.testing import TEST_PASSWORD, mail_text, totp_for


@pytest.fixture
def shop(make_order, make_product, make_user):
    """Three orders: a guest's awaiting payment, Ann's paid by card, Bob's cancelled."""
    ann = make_user(email="ann@example.com", name="Ann Lee")
    shirt = make_product("Linen shirt", price=2500, stock=20)
    guest = make_order([(shirt, 1)], email="guest@example.com", placed_at=datetime(2026, 3, 1, 9),
                       shipping_address={"full_name": "Gus Guest", "line1": "2 Road", "city": "York",
                                         "postal_code": "YO1", "country": "GB"})
    card = make_order([(shirt, 2)], user=ann, gateway="instant", payment=True, status="paid",
                      placed_at=datetime(2026, 3, 5, 12))
    bob = make_order([(shirt, 1)], email="bob@example.com", placed_at=datetime(2026, 3, 9, 18))
    services.cancel_order(bob.id, "duplicate")
    return {"guest": guest, "card": card, "bob": bob, "shirt": shirt}


def listed(staff_client, query=""):
    response = staff_client.get("/admin/orders" + query)
    return response.status_code, response.get_data(as_text=True)


def test_staff_filter_the_order_list_by_status_date_and_gateway_and_search_it(staff_client, shop):
    guest, card, bob = shop["guest"].number, shop["card"].number, shop["bob"].number
    status, page = listed(staff_client)
    assert status == 200 and all(n in page for n in (guest, card, bob))
    assert page.index(bob) < page.index(card) < page.index(guest)  # newest first
    for query, expected in [
        ("?status=pending_payment", {guest}),
        ("?status=cancelled", {bob}),
        ("?gateway=instant", {card}),
        ("?from=2026-03-05&to=2026-03-05", {card}),
        ("?from=2026-03-02", {card, bob}),
        ("?to=2026-03-04", {guest}),
        ("?q=ann%40example", {card}),
        ("?q=gus", {guest}),
        ("?q=ANN+LEE", {card}),  # the recipient named in the shipping address
        (f"?q={card.lower()}", {card}),
        ("?q=BOB&status=cancelled", {bob}),
    ]:
        status, page = listed(staff_client, query)
        assert status == 200 and {n for n in (guest, card, bob) if n in page} == expected, query


@pytest.mark.parametrize("query", ["?status=lost", "?status=TO_SHIP", "?from=yesterday", "?to=2026-13-01", "?from=2026-03-05&to=2026-03-01",
                                   "?page=abc"])
def test_bad_list_filters_get_a_message_and_a_400(staff_client, shop, query):
    status, page = listed(staff_client, query)
    assert status == 400 and 'class="flash flash-error"' in page


def test_the_to_ship_filter_lists_every_order_with_units_left_to_ship(staff_client, make_order, make_product):
    staff = staff_client.user
    shirt = make_product("Shirt", price=1000, stock=50)
    paid = make_order([(shirt, 2)], status="paid")
    partly = make_order([(shirt, 2)], status="paid")
    services.fulfil_order(partly.id, {partly.lines[0].id: 1}, actor=staff)
    refunded_part = make_order([(shirt, 2)], status="paid")
    services.record_refund(refunded_part.id, services.Money(500, "EUR"))
    shipped = make_order([(shirt, 2)], status="paid")
    services.fulfil_order(shipped.id, {shipped.lines[0].id: 2}, actor=staff)
    shipped_then_refunded = make_order([(shirt, 2)], status="paid")
    services.fulfil_order(shipped_then_refunded.id, {shipped_then_refunded.lines[0].id: 2}, actor=staff)
    services.record_refund(shipped_then_refunded.id, services.Money(500, "EUR"))
    unpaid = make_order([(shirt, 2)])
    numbers = [o.number for o in (paid, partly, refunded_part, shipped, shipped_then_refunded, unpaid)]

    status, page = listed(staff_client, "?status=to_ship")

    assert status == 200
    assert [n for n in numbers if n in page] == [paid.number, partly.number, refunded_part.number]
    assert 'aria-current="page">To ship (3)</a>' in page
    assert '<option value="to_ship" selected>To ship</option>' in page


def test_customers_cannot_enter_the_order_back_office(app, make_user, login, shop):
    client = app.test_client()
    login(client, make_user())
    assert client.get("/admin/orders").status_code == 403
    assert client.post(f"/admin/orders/{shop['guest'].number}/mark-paid").status_code == 403
    assert db.session.get(Order, shop["guest"].id).status == "pending_payment"


def test_the_order_page_shows_lines_payment_and_timeline(staff_client, shop):
    card = shop["card"]
    page = staff_client.get(f"/admin/orders/{card.number}").get_data(as_text=True)
    for text in ("Linen shirt", "€50.00", "instant", "Paid €50.00 through instant", "Record shipment",
                 "Refund", "Cancel order", "Add note", f"/admin/customers/{card.user_id}"):
        assert text in page, text
    assert "Mark as paid" not in page
    assert staff_client.get("/admin/orders/SF-NONE-0000").status_code == 404


def test_staff_mark_a_bank_transfer_paid_once(staff_client, shop, sent_mail):
    number = shop["guest"].number
    first = staff_client.post(f"/admin/orders/{number}/mark-paid")
    second = staff_client.post(f"/admin/orders/{number}/mark-paid", follow_redirects=True)
    assert first.status_code == 302 and first.location.endswith(f"/admin/orders/{number}")
    assert "not awaiting payment any more" in second.get_data(as_text=True)
    assert db.session.get(Order, shop["guest"].id).status == "paid"
    assert len([m for m in sent_mail if m["To"] == "guest@example.com" and "Payment received" in m["Subject"]]) == 1
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "order.marked_paid",
                                                      AuditEvent.actor_id == staff_client.user.id))


def test_staff_ship_part_of_an_order_with_tracking_then_the_rest(staff_client, shop, sent_mail):
    card = shop["card"]
    line = card.lines[0]
    response = staff_client.post(f"/admin/orders/{card.number}/fulfil", data={
        f"quantity-{line.id}": "1", "carrier": "DHL", "tracking_number": "JD014",
        "tracking_url": "https://dhl.example/JD014"}, follow_redirects=True)
    assert "Shipment recorded" in response.get_data(as_text=True)
    assert db.session.get(Order, card.id).status == "partially_fulfilled"
    shipped = mail_text(sent_mail[-1])
    assert "1 × Linen shirt" in shipped and "Tracking number: JD014" in shipped and "https://dhl.example/JD014" in shipped

    staff_client.post(f"/admin/orders/{card.number}/fulfil", data={f"quantity-{line.id}": "1"})
    assert db.session.get(Order, card.id).status == "fulfilled"
    page = staff_client.get(f"/admin/orders/{card.number}").get_data(as_text=True)
    assert "JD014" in page and "Record shipment" not in page


@pytest.mark.parametrize("data, message", [
    ({"quantity-LINE": "two"}, "whole number"),
    ({"quantity-LINE": "-1"}, "cannot be negative"),
    ({"quantity-LINE": "3"}, "Only 2 units"),
    ({"quantity-LINE": "99999999999999999999999"}, "Only 2 units"),
    ({"quantity-LINE": "0"}, "at least one line"),
    ({}, "at least one line"),
    ({"quantity-LINE": "1", "tracking_url": "javascript:alert(1)"}, "web address"),
    ({"quantity-LINE": "1", "carrier": "x" * 200}, "at most 60"),
])
def test_bad_shipment_forms_get_a_message_and_ship_nothing(staff_client, shop, data, message):
    card = shop["card"]
    data = {key.replace("LINE", str(card.lines[0].id)): value for key, value in data.items()}
    response = staff_client.post(f"/admin/orders/{card.number}/fulfil", data=data)
    assert response.status_code == 302
    page = staff_client.get(response.location).get_data(as_text=True)
    assert message in page
    assert db.session.get(Order, card.id).status == "paid"


def test_shipping_an_unpaid_order_is_refused_with_a_message(staff_client, shop):
    guest = shop["guest"]
    response = staff_client.post(f"/admin/orders/{guest.number}/fulfil",
                                 data={f"quantity-{guest.lines[0].id}": "1"}, follow_redirects=True)
    assert "cannot be shipped" in response.get_data(as_text=True)


def test_staff_cancel_an_unpaid_order_and_its_stock_returns(staff_client, shop, sent_mail):
    guest, shirt = shop["guest"], shop["shirt"]
    before = db.session.scalar(select(Variant.stock).where(Variant.product_id == shirt.id))
    missing_reason = staff_client.post(f"/admin/orders/{guest.number}/cancel", data={"reason": " "},
                                       follow_redirects=True)
    assert "Say why" in missing_reason.get_data(as_text=True)
    staff_client.post(f"/admin/orders/{guest.number}/cancel", data={"reason": "Customer changed their mind"})
    assert db.session.get(Order, guest.id).status == "cancelled"
    assert db.session.scalar(select(Variant.stock).where(Variant.product_id == shirt.id)) == before + 1
    assert "Reason: Customer changed their mind" in mail_text(sent_mail[-1])
    again = staff_client.post(f"/admin/orders/{guest.number}/cancel", data={"reason": "again"}, follow_redirects=True)
    assert "cannot be cancelled" in again.get_data(as_text=True)


def test_staff_add_notes_to_the_timeline(staff_client, shop):
    number = shop["guest"].number
    staff_client.post(f"/admin/orders/{number}/note", data={"text": "Called <b>the customer</b>"})
    empty = staff_client.post(f"/admin/orders/{number}/note", data={"text": ""}, follow_redirects=True)
    assert "Write the note first" in empty.get_data(as_text=True)
    page = staff_client.get(f"/admin/orders/{number}").get_data(as_text=True)
    assert "Called &lt;b&gt;the customer&lt;/b&gt;" in page
    assert db.session.scalar(select(OrderEvent.user_id).where(OrderEvent.kind == "note")) == staff_client.user.id


@pytest.mark.parametrize("data, message", [
    ({"amount": "abc"}, "Enter an amount like"),
    ({"amount": "-5"}, "be negative"),
    ({"amount": "0"}, "more than zero"),
    ({"amount": "50.01"}, "At most €50.00"),
    ({"amount": "1.234"}, "Enter an amount"),
    ({"amount": ""}, "Enter an amount"),
])
def test_bad_refund_forms_get_a_message_and_refund_nothing(staff_client, shop, instant_gateway, data, message):
    card = shop["card"]
    response = staff_client.post(f"/admin/orders/{card.number}/refund", data=data)
    assert response.status_code == 302
    assert message in staff_client.get(response.location).get_data(as_text=True)
    assert instant_gateway.refunds == [] and db.session.get(Order, card.id).refunded_minor == 0


def test_refunding_an_unpaid_order_is_refused_with_a_message(staff_client, shop):
    response = staff_client.post(f"/admin/orders/{shop['guest'].number}/refund", data={"full": "1"},
                                 follow_redirects=True)
    assert "nothing left to refund" in response.get_data(as_text=True)


def test_staff_refund_part_then_the_rest_through_the_gateway(staff_client, shop, instant_gateway, sent_mail):
    card = shop["card"]
    staff_client.post(f"/admin/orders/{card.number}/refund", data={"amount": "12.50", "reason": "Damaged"})
    order = db.session.get(Order, card.id)
    db.session.refresh(order)
    assert (order.status, order.refunded_minor) == ("partially_refunded", 1250)
    assert "We refunded €12.50" in mail_text(sent_mail[-1])
    staff_client.post(f"/admin/orders/{card.number}/refund", data={"full": "1"})
    db.session.refresh(order)
    assert (order.status, order.refunded_minor) == ("refunded", 5000)
    assert [amount.minor for _, amount in instant_gateway.refunds] == [1250, 3750]
    page = staff_client.get(f"/admin/orders/{card.number}").get_data(as_text=True)
    assert "Refunded €12.50" in page and "Refunded €37.50" in page


def test_staff_cancel_a_paid_order_which_refunds_it_in_full_first(staff_client, shop, instant_gateway):
    card = shop["card"]
    staff_client.post(f"/admin/orders/{card.number}/cancel", data={"reason": "Out of stock"})
    order = db.session.get(Order, card.id)
    db.session.refresh(order)
    assert (order.status, order.refunded_minor) == ("cancelled", 5000)
    assert [amount.minor for _, amount in instant_gateway.refunds] == [5000]


def test_every_admin_action_needs_the_csrf_token(make_app, make_user, login, make_order):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        staff = make_user(role="staff")
        order = make_order()
        client = app.test_client()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                          client.get("/account/login").get_data(as_text=True)).group(1)
        client.post("/account/login", data={"email": staff.email, "password": TEST_PASSWORD,
                                            "csrf_token": token})
        db.session.refresh(staff)
        client.post("/account/login/verify", data={"code": totp_for(staff), "csrf_token": token})
        for action in ("mark-paid", "fulfil", "cancel", "refund", "note"):
            assert client.post(f"/admin/orders/{order.number}/{action}", data={"reason": "x", "text": "x"}
                               ).status_code == 400, action
        assert db.session.get(Order, order.id).status == "pending_payment"


def test_staff_capture_an_authorised_card_payment_which_pays_the_order(staff_client, make_order, sent_mail):
    from storefront.payments.models import Payment

    order = make_order(gateway="instant", payment=True)
    payment = db.session.scalar(select(Payment).where(Payment.order_id == order.id))
    payment.status = "authorized"
    db.session.commit()
    page = staff_client.get(f"/admin/orders/{order.number}").get_data(as_text=True)
    assert "Capture payment" in page and "Mark as paid" not in page

    staff_client.post(f"/admin/orders/{order.number}/capture")

    assert db.session.get(Order, order.id).status == "paid"
    assert any("Payment received" in m["Subject"] for m in sent_mail)
    again = staff_client.post(f"/admin/orders/{order.number}/capture", follow_redirects=True)
    assert "no authorised payment" in again.get_data(as_text=True)


@pytest.mark.parametrize("action, data, message", [
    ("note", {"text": "x" * 5001}, "at most 5000 characters"),
    ("cancel", {"reason": "x" * 300}, "under 255 characters"),
    ("refund", {"amount": "1" * 70}, "too large"),
])
def test_overlong_admin_input_gets_a_message_not_an_error_page(staff_client, shop, action, data, message):
    number = shop["card"].number
    response = staff_client.post(f"/admin/orders/{number}/{action}", data=data)
    assert response.status_code == 302
    assert message in staff_client.get(response.location).get_data(as_text=True)
    assert staff_client.post("/admin/orders/SF-NONE-NONE/" + action, data=data).status_code == 404


def test_a_customers_back_office_page_lists_their_orders(staff_client, make_order, make_user):
    customer = make_user(email="regular@example.com")
    order = make_order(user=customer)
    make_order()   # someone else's
    page = staff_client.get(f"/admin/customers/{customer.id}").get_data(as_text=True)
    assert order.number in page and "No orders yet" not in page
    assert page.count("/admin/orders/SF-") == 1
