"""Who may use the catalog back office, its menu, CSRF on its forms and its templates."""
import os
import re

import pytest
from sqlalchemy import func, select

from storefront.catalog import services
from storefront.catalog.models import Category, Product

PAGES = ["/admin/categories", "/admin/categories/new", "/admin/products", "/admin/products/new", "/admin/stock",
         "/admin/reviews"]
ACTIONS = ["/admin/categories/new", "/admin/categories/1", "/admin/categories/1/delete", "/admin/products/new",
           "/admin/products/1", "/admin/products/1/delete", "/admin/products/bulk", "/admin/stock/variants/1",
           "/admin/reviews/1"]
TEMPLATES = os.path.join(os.path.dirname(__file__), "..", "..", "storefront", "admin", "templates", "admin")


@pytest.fixture
def customer_client(app, make_user, login):
    client = app.test_client()
    login(client, make_user(role="customer"))
    return client


def test_customers_get_403_on_every_catalog_page_and_action(customer_client):
    product = services.save_product({"title": "Kept"})
    for url in PAGES:
        assert customer_client.get(url).status_code == 403, url
    for url in ACTIONS:
        assert customer_client.post(url, data={"title": "Hacked", "action": "archive", "product_id": str(product.id),
                                               "confirm": "yes"}).status_code == 403, url
    assert services.get_product(product.id).title == "Kept"


def test_visitors_are_sent_to_sign_in(client):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302 and response.location.startswith("/account/login"), url


def test_the_back_office_menu_links_the_catalog_pages(staff_client):
    page = staff_client.get("/admin/").get_data(as_text=True)
    for label, url in (("Categories", "/admin/categories"), ("Products", "/admin/products"),
                       ("Stock", "/admin/stock"), ("Reviews", "/admin/reviews")):
        assert f'<a href="{url}">{label}</a>' in page


def test_every_catalog_page_renders_for_staff(staff_client):
    for url in PAGES:
        assert staff_client.get(url).status_code == 200, url


def test_catalog_forms_carry_a_csrf_token_and_posts_without_one_are_refused(staff_client, app):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        form_page = staff_client.get("/admin/categories/new").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form_page).group(1)
        refused = staff_client.post("/admin/categories/new", data={"name": "Forged"})
        assert refused.status_code == 400
        assert staff_client.post("/admin/categories/new", data={"name": "Real", "active": "y",
                                                                "csrf_token": token}).status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    from storefront.extensions import db

    assert db.session.scalars(select(Category.name)).all() == ["Real"]
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0


def test_every_catalog_template_starts_with_its_version_and_has_no_inline_script_or_style():
    names = [n for n in os.listdir(TEMPLATES) if n.startswith("catalog_")]
    assert len(names) >= 8
    for name in names:
        with open(os.path.join(TEMPLATES, name), encoding="utf-8") as source:
            text = source.read()
        assert text.startswith("{# template-version: 1 #}\n"), name
        assert "<script" not in text and "<style" not in text and " style=" not in text, name
