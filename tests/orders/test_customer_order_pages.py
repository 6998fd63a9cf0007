import re

from storefront.extensions import limiter
from storefront.orders import services
from storefront.testing import mail_text


def test_a_customer_sees_their_order_history_and_each_order(app, make_user, login, make_order, make_product):
    ann = make_user(name="Ann")
    client = app.test_client()
    login(client, ann)
    first = make_order([(make_product("Linen shirt", price=2500), 2)], user=ann)
    second = make_order([(make_product("Mug", price=800), 1)], user=ann, status="paid")
    someone_else = make_order(user=make_user())

    history = client.get("/account/orders").get_data(as_text=True)
    assert first.number in history and second.number in history and someone_else.number not in history
    assert history.index(second.number) < history.index(first.number)  # newest first
    assert "Awaiting payment" in history and "€50.00" in history and 'href="/account/orders"' in history

    page = client.get(f"/account/orders/{first.number}").get_data(as_text=True)
    assert "Linen shirt" in page and "€50.00" in page and "1 Market Street" in page
    assert "We are waiting for your payment" in page


def test_someone_elses_order_is_a_404_like_a_missing_one(app, make_user, login, make_order):
    ann, bob = make_user(), make_user()
    order = make_order(user=bob)
    client = app.test_client()
    login(client, ann)
    for url in (f"/account/orders/{order.number}", f"/orders/{order.number}", f"/orders/{order.number}/invoice",
                f"/orders/{order.number}/thanks", "/account/orders/SF-0000-0000"):
        assert client.get(url).status_code == 404, url


def test_the_order_history_needs_a_sign_in(client):
    response = client.get("/account/orders")
    assert response.status_code == 302 and "/account/login" in response.location


def test_a_guest_sees_the_order_placed_in_their_session_and_nobody_else_does(app, make_order):
    order = make_order(email="guest@example.com")
    guest = app.test_client()
    with guest.session_transaction() as session:
        session[services.SESSION_KEY] = [order.number]
    assert guest.get(f"/orders/{order.number}").status_code == 200
    thanks = guest.get(f"/orders/{order.number}/thanks").get_data(as_text=True)
    assert "Awaiting payment" in thanks and order.number in thanks and "guest@example.com" in thanks
    assert app.test_client().get(f"/orders/{order.number}").status_code == 404


def test_the_thank_you_page_shows_a_paid_order_as_paid(app, make_user, login, make_order):
    ann = make_user()
    client = app.test_client()
    login(client, ann)
    order = make_order(user=ann, status="paid")
    page = client.get(f"/orders/{order.number}/thanks").get_data(as_text=True)
    assert "We received your payment of €20.00" in page and "Awaiting payment" not in page
    assert f'href="/account/orders/{order.number}"' in page


def test_a_guest_finds_their_order_by_number_and_email(app, make_order):
    order = make_order(email="Guest@Example.com")
    client = app.test_client()
    form = client.get(f"/orders/lookup?number={order.number}").get_data(as_text=True)
    assert f'value="{order.number}"' in form

    found = client.post("/orders/lookup", data={"number": order.number.lower(), "email": "guest@example.COM "})

    assert found.status_code == 302 and found.location.endswith(f"/orders/{order.number}")
    assert "Test product" in client.get(found.location).get_data(as_text=True)
    assert client.get(f"/orders/{order.number}/invoice").status_code == 200


def test_a_wrong_number_or_email_gets_one_neutral_message(app, make_order):
    order = make_order(email="guest@example.com")
    other = make_order(email="other@example.com")
    client = app.test_client()
    pages = [client.post("/orders/lookup", data=data) for data in (
        {"number": order.number, "email": "other@example.com"},
        {"number": "SF-ZZZZ-ZZZZ", "email": "guest@example.com"},
        {"number": other.number, "email": "guest@example.com"})]
    assert {p.status_code for p in pages} == {404}
    messages = {re.search(r"We could not find[^<]*", p.get_data(as_text=True)).group(0) for p in pages}
    assert len(messages) == 1
    assert client.get(f"/orders/{order.number}").status_code == 404
    assert client.post("/orders/lookup", data={"number": "", "email": ""}).status_code == 400


def test_guest_lookup_is_rate_limited_like_the_sign_in_form(make_app, make_order):
    app = make_app(RATELIMIT_AUTH="3 per minute")
    with app.app_context():
        limiter.reset()
        order = make_order(email="guest@example.com")
        client = app.test_client()
        statuses = [client.post("/orders/lookup", data={"number": order.number, "email": f"x{n}@example.com"}
                                ).status_code for n in range(5)]
        assert statuses == [404, 404, 404, 429, 429]
        # From another address, guessing the same order's e-mail is limited too.
        client.environ_base["REMOTE_ADDR"] = "10.9.9.9"
        assert client.post("/orders/lookup", data={"number": order.number, "email": "guest@example.com"}
                           ).status_code == 429


def test_the_invoice_shows_the_seller_the_lines_the_tax_label_and_the_totals(app, make_user, login, make_order,
                                                                              make_product):
    app.config.update(STORE_NAME="Harbour Goods", STORE_ADDRESS="1 Quay Street\nBristol BS1 4AA",
                      STORE_TAX_ID="GB123456789")
    ann = make_user()
    client = app.test_client()
    login(client, ann)
    order = make_order([(make_product("Rope", price=1250), 2)], user=ann, shipping_minor=495, tax_minor=500,
                       status="paid")
    page = client.get(f"/orders/{order.number}/invoice").get_data(as_text=True)
    for text in ("Harbour Goods", "1 Quay Street<br>Bristol BS1 4AA", "GB123456789", f"Invoice number</dt><dd>{order.number}",
                 "Rope", "€12.50", "€25.00", "Shipping (Standard)", "€4.95", "Tax", "€5.00", "€34.95",
                 "/orders/static/orders.css"):
        assert text in page, text
    with client.get("/orders/static/orders.css") as stylesheet:
        assert stylesheet.data.count(b"@media print") == 1


def test_order_emails_link_customers_to_their_account_and_guests_to_the_lookup(app, make_user, make_order, sent_mail):
    ann = make_user()
    make_order(user=ann, status="paid")
    make_order(email="guest@example.com", status="paid")
    account_mail, guest_mail = (mail_text(m) for m in sent_mail)
    assert re.search(r"http://localhost/account/orders/SF-\w{4}-\w{4}", account_mail)
    assert re.search(r"http://localhost/orders/lookup\?number=SF-\w{4}-\w{4}", guest_mail)


def test_the_account_menu_links_to_orders(app, make_user, login):
    client = app.test_client()
    login(client, make_user())
    assert 'href="/account/orders">Orders</a>' in client.get("/account/").get_data(as_text=True)


def test_the_thank_you_page_sends_an_unpaid_order_to_the_payment_instructions(app, make_user, login, make_order):
    ann = make_user()
    client = app.test_client()
    login(client, ann)
    order = make_order(user=ann)
    page = client.get(f"/orders/{order.number}/thanks").get_data(as_text=True)
    assert "Awaiting payment" in page and f'href="/checkout/pay/{order.number}"' in page and "€20.00" in page


def test_an_authorised_card_payment_asks_nothing_more_of_the_shopper(app, make_user, login, make_order):
    from sqlalchemy import update

    from storefront.extensions import db
    from storefront.payments.models import Payment

    ann = make_user()
    client = app.test_client()
    login(client, ann)
    order = make_order(user=ann, gateway="instant", payment=True)
    db.session.execute(update(Payment).where(Payment.order_id == order.id).values(status="authorized"))
    db.session.commit()
    page = client.get(f"/orders/{order.number}/thanks").get_data(as_text=True)
    assert "is authorised" in page and "/checkout/pay/" not in page
