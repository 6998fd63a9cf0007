"""Signed-in shoppers write reviews (shown once approved) and keep a wishlist."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from storefront.catalog import services
from storefront.catalog.models import Review, WishlistItem
from storefront.extensions import db
from storefront.testing import signed_in_client

from storefront_factories import make_category, make_product


@pytest.fixture
def app_config():
    return {"PLUGINS_AUTOLOAD": False}  # pages only; search backends are tested in their plugins


@pytest.fixture
def shirt(app):
    return make_product("Linen Shirt", categories=[make_category("Shirts")],
                        variants=[{"price_minor": 4900, "stock": 2, "options": {"size": "M"}},
                                  {"price_minor": 5200, "stock": 4, "options": {"size": "L"}}])


@pytest.fixture
def shopper(app, make_user, login):
    return signed_in_client(app, make_user(name="Robin Reviewer"), login)


def test_a_review_is_posted_then_shown_only_after_approval_with_the_average(shopper, shirt):
    page = shopper.get("/p/linen-shirt").get_data(as_text=True)
    assert "Write a review" in page and 'name="rating"' in page
    response = shopper.post("/p/linen-shirt/reviews", data={"rating": "4", "title": "Cool in summer",
                                                           "body": "Breathes well."})
    assert response.status_code == 302 and response.location.endswith("/p/linen-shirt#reviews")
    assert "will appear once it has been checked" in shopper.get("/p/linen-shirt").get_data(as_text=True)
    assert "Cool in summer" not in shopper.get("/p/linen-shirt").get_data(as_text=True)   # pending

    review = db.session.scalar(select(Review))
    assert (review.rating, review.verified_buyer, review.status, review.author_name) == \
        (4, False, "pending", "Robin Reviewer")
    services.moderate_review(review.id, "approved")
    other = services.add_review(shirt, None, 1, "Meh", "No.")
    services.moderate_review(services.add_review(shirt, None, 2, "Hidden", "Rejected one").id, "rejected")
    services.moderate_review(other.id, "approved")
    page = shopper.get("/p/linen-shirt").get_data(as_text=True)
    assert "Cool in summer" in page and "Meh" in page and "Rejected one" not in page
    assert "<strong>2.5</strong> out of 5" in page and "from 2 reviews" in page


def test_a_review_without_a_rating_is_refused_with_a_message(shopper, shirt):
    response = shopper.post("/p/linen-shirt/reviews", data={"rating": "9", "body": "Hmm"})
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    response = shopper.post("/p/linen-shirt/reviews", data={"body": "No stars"})
    assert response.status_code == 400 and "Choose a rating from 1 to 5 stars." in response.get_data(as_text=True)
    assert db.session.scalar(select(Review)) is None


def test_anonymous_shoppers_are_sent_to_sign_in_and_come_back(client, shirt):
    page = client.get("/p/linen-shirt").get_data(as_text=True)
    assert 'href="/account/login?next=/p/linen-shirt"' in page and "Add to wishlist" not in page
    for url in ("/p/linen-shirt/wishlist", "/p/linen-shirt/reviews"):
        response = client.post(url, data={"rating": "5", "body": "x"})
        assert response.status_code == 302 and response.location == "/account/login?next=/p/linen-shirt"
    assert client.get("/account/wishlist").status_code == 302
    assert db.session.scalar(select(Review)) is None and db.session.scalar(select(WishlistItem)) is None


def test_sign_in_from_the_product_page_returns_to_it(client, shirt, make_user):
    user = make_user()
    response = client.post("/account/login?next=/p/linen-shirt",
                           data={"email": user.email, "password": "correct horse battery staple"})
    assert response.status_code == 302 and response.location == "/p/linen-shirt"


def test_a_wishlist_keeps_the_chosen_variant_and_items_can_be_removed(shopper, shirt):
    large = next(v for v in shirt.variants if v.options["size"] == "L")
    page = shopper.get("/p/linen-shirt?size=L").get_data(as_text=True)
    assert f'name="variant_id" value="{large.id}"' in page
    response = shopper.post("/p/linen-shirt/wishlist", data={"variant_id": str(large.id)})
    assert response.status_code == 302 and response.location == f"/p/linen-shirt?variant={large.id}"
    shopper.post("/p/linen-shirt/wishlist", data={"variant_id": str(large.id)})   # a double click
    items = db.session.scalars(select(WishlistItem)).all()
    assert [(i.user_id, i.product_id, i.variant_id) for i in items] == [(shopper.user.id, shirt.id, large.id)]

    wishlist = shopper.get("/account/wishlist")
    assert "Linen Shirt" in wishlist.get_data(as_text=True)
    assert wishlist.headers["Cache-Control"] == "private, no-store"
    assert "In your" in shopper.get("/p/linen-shirt").get_data(as_text=True)
    response = shopper.post("/account/wishlist/remove", data={"product_id": str(shirt.id)})
    assert response.status_code == 302 and response.location == "/account/wishlist"
    assert "Your wishlist is empty" in shopper.get("/account/wishlist").get_data(as_text=True)


def test_nobody_can_remove_or_see_another_shoppers_wishlist(app, shopper, shirt, make_user, login):
    shopper.post("/p/linen-shirt/wishlist")
    intruder = app.test_client()
    login(intruder, make_user())
    assert "Linen Shirt" not in intruder.get("/account/wishlist").get_data(as_text=True)
    intruder.post("/account/wishlist/remove", data={"product_id": str(shirt.id)})
    assert db.session.scalar(select(WishlistItem.user_id)) == shopper.user.id
    assert "Linen Shirt" in shopper.get("/account/wishlist").get_data(as_text=True)


def test_a_variant_of_another_product_or_a_foreign_next_url_is_refused(shopper, shirt):
    other = make_product("Wool Hat", variants=[{"price_minor": 900, "stock": 1, "options": {"size": "One"}}])
    response = shopper.post("/p/linen-shirt/wishlist", data={"variant_id": str(other.variants[0].id)})
    assert response.status_code == 400
    assert db.session.scalar(select(WishlistItem)) is None
    shopper.post("/p/linen-shirt/wishlist")
    response = shopper.post("/account/wishlist/remove", data={"product_id": str(shirt.id),
                                                              "next": "https://evil.example/"})
    assert response.location == "/account/wishlist"
    assert shopper.post("/account/wishlist/remove", data={"product_id": "x"}).status_code == 400


def test_the_account_menu_links_to_the_wishlist(shopper):
    page = shopper.get("/account/").get_data(as_text=True)
    assert re.search(r'<a href="/account/wishlist">Wishlist</a>', page)
