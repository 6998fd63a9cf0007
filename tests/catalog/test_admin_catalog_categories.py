"""Back office: the category tree, its editor and deleting a category."""
import io

from PIL import Image
from sqlalchemy import func, select

from storefront import media
from storefront.audit import AuditEvent
from storefront.catalog import services
from storefront.catalog.models import Category, SlugRedirect
from storefront.extensions import db


def png(colour: str = "red") -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), colour).save(out, "PNG")
    out.seek(0)
    return out


def category_form(**changes) -> dict:
    form = {"name": "Shirts", "slug": "", "parent_id": "", "description": "Cotton and linen.", "position": "0",
            "active": "y"}
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def create(client, **changes) -> Category:
    response = client.post("/admin/categories/new", data=category_form(**changes),
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalar(select(Category).order_by(Category.id.desc()))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_staff_create_a_category_tree_and_see_it_nested(staff_client):
    men = create(staff_client, name="Men", position="1")
    women = create(staff_client, name="Women", position="0")
    shirts = create(staff_client, name="Shirts", parent_id=str(men.id))
    assert (men.slug, shirts.parent_id) == ("men", men.id)
    page = staff_client.get("/admin/categories").get_data(as_text=True)
    assert page.index(">Women<") < page.index(">Men<") < page.index(">Shirts<")
    assert 'class="catalog-depth-1"><a href="/admin/categories/%d">Shirts' % shirts.id in page
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "catalog.category.created",
                                                      AuditEvent.target_id == str(women.id))).actor_id \
        == staff_client.user.id


def test_a_category_image_is_uploaded_and_shown_as_a_thumbnail(staff_client):
    category = create(staff_client, name="Shoes", image=(png(), "shoes.png"))
    assert category.image_path and media.storage().exists(category.image_path)
    page = staff_client.get("/admin/categories").get_data(as_text=True)
    assert media.thumbnail_key(category.image_path, "small") in page


def test_editing_a_slug_leaves_a_redirect_and_keeps_the_old_address_working(staff_client):
    category = create(staff_client, name="Trousers")
    response = staff_client.post(f"/admin/categories/{category.id}", data=category_form(name="Pants", slug="pants"),
                                 content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.refresh(category)
    assert (category.name, category.slug) == ("Pants", "pants")
    redirect = db.session.scalar(select(SlugRedirect))
    assert (redirect.kind, redirect.old_slug, redirect.target_id) == ("category", "trousers", category.id)
    updated = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "catalog.category.updated"))
    assert updated.before["slug"] == "trousers" and updated.after["slug"] == "pants"


def test_a_category_cannot_be_moved_inside_its_own_subtree(staff_client):
    top = create(staff_client, name="Clothing")
    middle = create(staff_client, name="Tops", parent_id=str(top.id))
    bottom = create(staff_client, name="Tees", parent_id=str(middle.id))
    audits = count(AuditEvent)
    for parent in (top, bottom):
        response = staff_client.post(f"/admin/categories/{top.id}",
                                     data=category_form(name="Clothing", parent_id=str(parent.id)),
                                     content_type="multipart/form-data")
        assert response.status_code == 400
        assert "cannot sit inside itself or one of its own subcategories" in response.get_data(as_text=True)
    db.session.refresh(top)
    assert top.parent_id is None and count(AuditEvent) == audits
    # The parent list offers no category of the subtree.
    page = staff_client.get(f"/admin/categories/{top.id}").get_data(as_text=True)
    assert f'value="{bottom.id}"' not in page and f'value="{middle.id}"' not in page


def test_bad_category_input_is_refused_with_messages_and_nothing_is_written(staff_client):
    create(staff_client, name="Hats", slug="hats")
    before = (count(Category), count(AuditEvent))
    cases = [
        (category_form(name=""), "A category needs a name."),
        (category_form(name="Caps", slug="hats"), "Another category already uses the address “hats”."),
        (category_form(position="first"), "Position must be a whole number."),
        (category_form(parent_id="999999"), "That parent category does not exist."),
        (category_form(parent_id="abc"), "Choose a parent category from the list."),
        ({**category_form(name="Scarves"), "image": (io.BytesIO(b"not a picture"), "scarf.jpg")},
         "That file is not an image we accept (JPEG, PNG, WebP or GIF)."),
    ]
    for form, message in cases:
        response = staff_client.post("/admin/categories/new", data=form, content_type="multipart/form-data")
        assert response.status_code == 400, message
        assert message in response.get_data(as_text=True)
        assert "Nothing was saved" in response.get_data(as_text=True)
    assert (count(Category), count(AuditEvent)) == before


def test_deleting_a_category_keeps_its_products_and_moves_its_children_up(staff_client):
    top = create(staff_client, name="Outdoor")
    middle = create(staff_client, name="Tents", parent_id=str(top.id), image=(png("green"), "tent.png"))
    child = create(staff_client, name="Two-person tents", parent_id=str(middle.id))
    product = services.save_product({"title": "Dome tent", "category_ids": [middle.id]})
    image = middle.image_path
    response = staff_client.post(f"/admin/categories/{middle.id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Category, middle.id) is None
    assert db.session.get(Category, child.id).parent_id == top.id
    assert services.get_product(product.id).categories == []
    assert not media.storage().exists(image)  # nothing else showed it
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "catalog.category.deleted")).before[
        "name"] == "Tents"


def test_a_removed_category_image_shared_with_another_category_stays_stored(staff_client):
    first = create(staff_client, name="Bags", image=(png("blue"), "a.png"))
    second = create(staff_client, name="Wallets", image=(png("blue"), "b.png"))
    assert first.image_path == second.image_path  # the same picture is stored once
    staff_client.post(f"/admin/categories/{first.id}", data=category_form(name="Bags", remove_image="y"),
                      content_type="multipart/form-data")
    db.session.refresh(first)
    assert first.image_path is None
    assert media.storage().exists(second.image_path)


def test_an_unknown_category_is_a_404(staff_client):
    assert staff_client.get("/admin/categories/424242").status_code == 404
    assert staff_client.post("/admin/categories/424242/delete").status_code == 404
