"""Staff create, edit and switch off coupons in the back office; every change is in the
audit log; a form with mistakes is shown again with its messages and saves nothing."""
from __future__ import annotations

import html

from sqlalchemy import select

from storefront.audit import AuditEvent
from storefront.checkout.models import Coupon
from storefront.extensions import db

from checkout_steps import add_to_cart

FORM = {"code": "spring-15", "kind": "percentage", "value": "12.5", "min_subtotal": "20.00", "starts_at": "",
        "ends_at": "2030-01-31T23:59", "usage_limit": "100", "per_customer_limit": "1", "description": "Spring",
        "products": "", "active": "y"}


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_staff_create_a_coupon_and_find_it_in_the_list(staff_client, make_product, make_category):
    hat = make_product("Straw hat", price=2000, stock=3)
    hats = make_category("Hats")

    response = staff_client.post("/admin/coupons/new", data={**FORM, "products": f"{hat.slug}, {hat.id}",
                                                             "category_ids": [str(hats.id)]})

    assert response.status_code == 302
    coupon = db.session.scalar(select(Coupon))
    assert (coupon.code, coupon.kind, coupon.value, coupon.min_subtotal_minor) == ("SPRING-15", "percentage",
                                                                                    1250, 2000)
    assert (coupon.usage_limit, coupon.per_customer_limit, coupon.ends_at.year) == (100, 1, 2030)
    assert [p.id for p in coupon.products] == [hat.id] and [c.id for c in coupon.categories] == [hats.id]
    listing = text(staff_client.get("/admin/coupons"))
    assert "SPRING-15" in listing and "12.5% off" in listing and "0 of 100" in listing
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "admin.coupon.created"))
    assert event.actor_id == staff_client.user.id and event.after["code"] == "SPRING-15"


def test_a_form_with_mistakes_is_shown_again_and_saves_nothing(staff_client):
    response = staff_client.post("/admin/coupons/new", data={
        **FORM, "code": "bad code!", "value": "12.345", "min_subtotal": "lots", "ends_at": "tomorrow",
        "usage_limit": "-1", "products": "no-such-product"})

    page = text(response)
    assert response.status_code == 400 and "Nothing was saved." in page
    for message in ("Use at most 64 letters, digits, - or _.", "Enter a percentage like 15 or 12.5.",
                    "Enter a date and time like 2027-03-01T09:00.",
                    "Enter a whole number, or leave it empty for no limit.",
                    "No product is called no-such-product."):
        assert message in page, message
    assert db.session.scalar(select(Coupon)) is None


def test_codes_are_unique_and_a_fixed_amount_is_typed_in_the_store_currency(staff_client):
    staff_client.post("/admin/coupons/new", data={**FORM, "code": "FIVE", "kind": "fixed", "value": "5.00"})

    again = staff_client.post("/admin/coupons/new", data={**FORM, "code": "five", "kind": "fixed", "value": "5"})

    assert again.status_code == 400 and "The code FIVE is already used by another coupon." in text(again)
    assert db.session.scalar(select(Coupon.value)) == 500


def test_staff_edit_a_coupon(staff_client, make_coupon):
    coupon = make_coupon("EDITME", value=1000)

    form = text(staff_client.get(f"/admin/coupons/{coupon.id}"))
    assert 'value="EDITME"' in form and 'value="10"' in form
    response = staff_client.post(f"/admin/coupons/{coupon.id}", data={**FORM, "code": "EDITME", "value": "20"})

    assert response.status_code == 302
    db.session.refresh(coupon)
    assert coupon.value == 2000
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "admin.coupon.updated"))
    assert (event.before["value"], event.after["value"]) == (1000, 2000)


def test_a_switched_off_coupon_is_refused_to_shoppers(app, staff_client, make_coupon, make_product):
    coupon = make_coupon("GONE", value=1000)
    shopper = app.test_client()
    add_to_cart(shopper, make_product("Shirt", price=1000, stock=3).variants[0].id)

    response = staff_client.post(f"/admin/coupons/{coupon.id}/active", data={"active": "0"})

    assert response.status_code == 302 and "Coupon GONE is switched off." in text(staff_client.get("/admin/coupons"))
    shopper.post("/cart/coupon", data={"code": "GONE"})
    assert "The coupon GONE is no longer valid." in text(shopper.get("/cart"))
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.target_type == "coupon")
                             .order_by(AuditEvent.id.desc())) == "admin.coupon.deactivated"


def test_the_menu_links_coupons_and_customers_cannot_enter(app, staff_client, make_user, login):
    assert 'href="/admin/coupons"' in text(staff_client.get("/admin/coupons"))
    customer = app.test_client()
    login(customer, make_user())

    assert customer.get("/admin/coupons").status_code in (403, 404)
    assert customer.post("/admin/coupons/new", data=FORM).status_code in (403, 404)
    assert db.session.scalar(select(Coupon)) is None
