"""Back office: stock adjustments with reasons, stock history, the low-stock list and
review moderation."""
import pytest
from sqlalchemy import func, select

from storefront.audit import AuditEvent
from storefront.catalog import services
from storefront.catalog.models import Product, Review, StockMovement, Variant
from storefront.extensions import db


def make_variants(*stocks: int, title: str = "Mug", status: str = "active") -> list[Variant]:
    product = services.save_product({"title": title, "status": status})
    variants = [services.save_variant(product, {"sku": f"{title.upper()}-{n}", "price_minor": 900, "stock": stock,
                                                "options": {"colour": f"c{n}"}})
                for n, stock in enumerate(stocks)]
    services.commit_product(product)
    return variants


def movements(variant_id: int) -> list[tuple]:
    return db.session.execute(select(StockMovement.delta, StockMovement.stock_after, StockMovement.reason,
                                     StockMovement.note, StockMovement.user_id)
                              .where(StockMovement.variant_id == variant_id).order_by(StockMovement.id)).all()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_staff_adjust_stock_with_a_reason_and_see_the_history(staff_client):
    variant, = make_variants(3)
    response = staff_client.post(f"/admin/stock/variants/{variant.id}",
                                 data={"delta": "12", "reason": "restock", "note": "delivery 4711"})
    assert response.status_code == 302 and response.location == f"/admin/stock/variants/{variant.id}"
    staff_client.post(f"/admin/stock/variants/{variant.id}", data={"delta": "-2", "reason": "damaged", "note": ""})
    db.session.expire_all()
    assert db.session.get(Variant, variant.id).stock == 13
    staff = staff_client.user.id
    assert movements(variant.id)[1:] == [(12, 15, "restock", "delivery 4711", staff), (-2, 13, "damaged", "", staff)]
    page = staff_client.get(response.location).get_data(as_text=True)
    assert "delivery 4711" in page and "+12" in page and "-2" in page and staff_client.user.email in page
    audits = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "catalog.stock.adjusted")).all()
    assert [(a.after["delta"], a.actor_id) for a in audits] == [(12, staff), (-2, staff)]


@pytest.mark.parametrize("form,message", [
    ({"delta": "-4", "reason": "damaged"}, "Stock cannot go below zero: there are 3 units."),
    ({"delta": "0", "reason": "restock"}, "Enter how many units to add"),
    ({"delta": "lots", "reason": "restock"}, "The change must be a whole number."),
    ({"delta": "1.5", "reason": "restock"}, "The change must be a whole number."),
    ({"delta": "5", "reason": "found it"}, "Choose a reason from the list."),
    ({"delta": "5", "reason": "restock", "note": "n" * 256}, "A note has at most 255 characters."),
])
def test_a_bad_stock_adjustment_is_refused_and_nothing_is_recorded(staff_client, form, message):
    variant, = make_variants(3)
    before = (count(StockMovement), count(AuditEvent))
    response = staff_client.post(f"/admin/stock/variants/{variant.id}", data=form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Variant, variant.id).stock == 3
    assert (count(StockMovement), count(AuditEvent)) == before


def test_the_low_stock_list_shows_active_variants_at_or_below_the_threshold(staff_client):
    empty, low, edge, plenty = make_variants(0, 2, 5, 6)
    inactive = make_variants(1, title="Bowl")[0]
    inactive.active = False
    archived, = make_variants(1, title="Plate", status="archived")
    db.session.commit()
    page = staff_client.get("/admin/stock").get_data(as_text=True)
    assert "5 units or fewer" in page
    for variant in (empty, low, edge):
        assert variant.sku in page
    for variant in (plenty, inactive, archived):
        assert variant.sku not in page
    assert page.index(empty.sku) < page.index(low.sku) < page.index(edge.sku)


@pytest.mark.parametrize("app_config", [{"LOW_STOCK_THRESHOLD": 1}])
def test_the_low_stock_threshold_is_configurable(staff_client):
    none_left, two_left = make_variants(0, 2)
    page = staff_client.get("/admin/stock").get_data(as_text=True)
    assert none_left.sku in page and two_left.sku not in page


def test_staff_jump_to_a_variant_by_sku(staff_client):
    variant, = make_variants(8)
    assert staff_client.get(f"/admin/stock?sku={variant.sku}").location == f"/admin/stock/variants/{variant.id}"
    missing = staff_client.get("/admin/stock?sku=NOPE")
    assert missing.status_code == 404 and "No variant has the SKU “NOPE”." in missing.get_data(as_text=True)
    assert staff_client.get("/admin/stock/variants/999999").status_code == 404


def make_review(product: Product, make_user, rating: int, title: str) -> Review:
    return services.add_review(product, make_user(), rating, title, "Body text.")


def test_the_review_queue_lists_pending_reviews_first(staff_client, make_user):
    product = make_variants(1)[0].product
    older = make_review(product, make_user, 4, "Older pending")
    decided = make_review(product, make_user, 2, "Already decided")
    services.moderate_review(decided.id, "rejected")
    newer = make_review(product, make_user, 5, "Newer pending")
    page = staff_client.get("/admin/reviews").get_data(as_text=True)
    assert page.index(older.title) < page.index(newer.title) < page.index(decided.title)
    pending_only = staff_client.get("/admin/reviews?status=pending").get_data(as_text=True)
    assert decided.title not in pending_only
    assert staff_client.get("/admin/reviews?status=lost").status_code == 400
    assert staff_client.get("/admin/reviews?page=0").status_code == 400


def test_staff_approve_and_reject_reviews_and_the_rating_follows(staff_client, make_user):
    product = make_variants(1)[0].product
    good, bad = make_review(product, make_user, 5, "Lovely"), make_review(product, make_user, 1, "Spam")
    assert staff_client.post(f"/admin/reviews/{good.id}", data={"decision": "approved"}).status_code == 302
    assert staff_client.post(f"/admin/reviews/{bad.id}", data={"decision": "rejected"}).status_code == 302
    db.session.expire_all()
    assert (db.session.get(Review, good.id).status, db.session.get(Review, bad.id).status) == ("approved", "rejected")
    product = db.session.get(Product, product.id)
    assert (product.rating_count, product.rating_avg_x100) == (1, 500)
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == staff_client.user.id,
                                                                 AuditEvent.target_type == "review")).all()
    assert sorted(actions) == ["catalog.review.approved", "catalog.review.rejected"]


def test_a_bad_moderation_decision_is_refused(staff_client, make_user):
    review = make_review(make_variants(1)[0].product, make_user, 3, "Fine")
    assert staff_client.post(f"/admin/reviews/{review.id}", data={"decision": "maybe"}).status_code == 400
    assert staff_client.post("/admin/reviews/999999", data={"decision": "approved"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Review, review.id).status == "pending"
