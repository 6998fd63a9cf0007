"""The manual-payment journey in real Chromium against a real server: a guest adds to the
cart, checks out (contact → address → flat-rate shipping → bank transfer → review →
place), sees the bank details; staff sign in with their second factor, mark the order
paid, ship part of it with a tracking number, then the rest, and refund part of it. The
customer's e-mail at every step is read from the outbox the server writes."""
from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import pytest

from storefront.catalog.models import Variant
from storefront.extensions import db
from storefront.orders.models import Order
from storefront.testing import TEST_PASSWORD, create_product, serve, totp_for, watch_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

@pytest.fixture
def app_config():
    return {"PLUGINS_AUTOLOAD": False, "PLUGINS_EXTRA": ["storefront_flatrate", "storefront_manual"]}


def mails_to(outbox: Path, address: str) -> list[tuple[str, str]]:
    """(subject, plain text) of every message to ``address``, oldest first."""
    found = []
    for file in sorted(outbox.glob("*.eml")):
        message = email.message_from_string(file.read_text(encoding="utf-8"), policy=policy.default)
        if message["To"] == address:
            found.append((str(message["Subject"]), message.get_body(("plain",)).get_content()))
    return found


def test_a_guest_buys_by_bank_transfer_and_staff_mark_it_paid_ship_it_and_refund_part(
        app, make_user, database_url, tmp_path, browser_page):
    page = browser_page
    problems = watch_page(page)
    lamp = create_product("Walnut Lamp", price=2500, stock=3)
    staff = make_user(email="staff@example.com", role="staff")
    instance = tmp_path / "instance"
    outbox = instance / "outbox"
    config = {"DATABASE_URL": database_url, "SECRET_KEY": "purchase-journey-secret", "REDIS_URL": None,
              "LOG_LEVEL": "WARNING", "MAIL_BACKEND": "outbox", "PLUGINS_AUTOLOAD": False,
              "PLUGINS_EXTRA": ["storefront_flatrate", "storefront_manual"], "STORE_URL": "http://shop.test",
              "RATELIMIT_ENABLED": False}
    with serve(config, instance_path=str(instance)) as base:
        # --- the guest ---------------------------------------------------------------------
        page.goto(base + "/p/walnut-lamp")
        page.fill("input[name=quantity]", "2")
        page.click("button:has-text('Add to cart')")
        page.goto(base + "/cart")
        assert "Walnut Lamp" in page.inner_text("main")
        assert "€50.00" in page.inner_text("main")

        page.click("text=Check out")
        page.fill("input[name=email]", "guest@example.com")
        page.click("button:has-text('Continue')")
        page.fill("#full_name", "Grace Hopper")
        page.fill("#line1", "1 Harbour Road")
        page.fill("#postal_code", "20095")
        page.fill("#city", "Hamburg")
        page.select_option("#country", "DE")
        page.click("button:has-text('Ship to this address')")
        assert "Standard shipping" in page.inner_text("main")
        page.click("button:has-text('Continue to payment')")
        page.check("input[name=gateway_id][value=manual]")
        page.click("button:has-text('Continue to review')")
        review = page.inner_text("main")
        assert "Grace Hopper" in review and "€54.90" in review   # 2 × €25.00 + €4.90 shipping
        page.click("button:has-text('Place order and pay €54.90')")

        assert "/checkout/pay/" in page.url
        number = page.url.rsplit("/", 1)[1]
        assert page.inner_text(".manual-payment-reference") == number
        assert page.inner_text(".manual-payment-amount") == "€54.90"
        assert page.evaluate("window.__cspViolations") == []

        db.session.rollback()   # a new transaction: MariaDB shows what the server committed since
        order = db.session.scalar(db.select(Order).where(Order.number == number))
        assert order.status == "pending_payment" and order.total_minor == 5490
        assert db.session.get(Variant, lamp.variants[0].id).stock == 1
        subjects = [subject for subject, _ in mails_to(outbox, "guest@example.com")]
        assert len(subjects) == 1 and number in subjects[0]

        # --- staff ---------------------------------------------------------------------------
        page.goto(base + "/account/login")
        page.fill("#email", staff.email)
        page.fill("#password", TEST_PASSWORD)
        page.click("button:has-text('Sign in')")
        db.session.refresh(staff)
        page.fill("#code", totp_for(staff))
        page.click("button:has-text('Verify')")
        page.goto(f"{base}/admin/orders/{number}")
        page.click("button:has-text('Mark as paid')")
        assert "Paid" in page.inner_text("main")

        line_id = order.lines[0].id
        page.fill(f"#quantity-{line_id}", "1")
        page.fill("#carrier", "DHL")
        page.fill("#tracking_number", "JD0001")
        page.click("button:has-text('Record shipment and e-mail the customer')")
        assert "Partially shipped" in page.inner_text("main")
        page.fill("#carrier", "DHL")
        page.fill("#tracking_number", "JD0002")
        page.click("button:has-text('Record shipment and e-mail the customer')")
        assert "Shipped" in page.inner_text("main")

        page.fill("#refund-amount", "10.00")
        page.fill("#refund-reason", "Scratched shade")
        page.click("button:has-text('Refund this amount')")
        assert "Partially refunded" in page.inner_text("main")
        assert page.evaluate("window.__cspViolations") == []

    db.session.rollback()   # a new transaction: MariaDB shows what the server committed since
    order = db.session.scalar(db.select(Order).where(Order.number == number))
    assert order.status == "partially_refunded"
    assert (order.paid_minor, order.refunded_minor) == (5490, 1000)
    assert [f.tracking_number for f in order.fulfilments] == ["JD0001", "JD0002"]
    sent = mails_to(outbox, "guest@example.com")
    texts = "\n".join(text for _, text in sent)
    assert len(sent) == 5   # placed, paid, shipped ×2, refunded
    assert all(number in subject for subject, _ in sent)
    assert "JD0001" in texts and "JD0002" in texts and "€10.00" in texts
    assert re.search(r"/orders/lookup", texts)   # a guest finds the order again from any mail
    assert problems == []
