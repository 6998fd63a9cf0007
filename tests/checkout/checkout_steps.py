"""Walk a test client through checkout with plain form posts, as a browser without
JavaScript would."""
from __future__ import annotations

import re

ADDRESS = {"full_name": "Ada Lovelace", "line1": "1 Analytical Street", "city": "Berlin",
           "postal_code": "10115", "country": "DE"}


def add_to_cart(client, variant_id: int, quantity: int | str = 1, **extra):
    return client.post("/cart/add", data={"variant_id": variant_id, "quantity": quantity, **extra})


def review_token(client) -> str:
    page = client.get("/checkout/review")
    assert page.status_code == 200, page.status_code
    return re.search(r'name="checkout_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def walk_to_review(client, *, email: str | None = "ada@example.com", address: dict | None = None,
                   quote_id: str = "testship:standard", gateway_id: str = "testpay") -> str:
    """Contact, address, shipping and payment steps; returns the review page's checkout token."""
    if email is not None:
        assert client.post("/checkout/contact", data={"email": email}).status_code == 302
    response = client.post("/checkout/address", data=address or ADDRESS)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert client.post("/checkout/shipping", data={"quote_id": quote_id}).status_code == 302
    assert client.post("/checkout/payment", data={"gateway_id": gateway_id}).status_code == 302
    return review_token(client)


def place(client, token: str, **extra):
    return client.post("/checkout/place", data={"checkout_token": token, **extra})


def flashes(client) -> str:
    """The text of the page the client lands on next (with its flashed messages)."""
    return client.get("/cart").get_data(as_text=True)
