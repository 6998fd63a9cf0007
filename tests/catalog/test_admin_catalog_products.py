"""Back office: the product editor (product, variants and images in one form), the
product list with search, filters and pages, and the bulk actions."""
import io
import os

import pytest
from PIL import Image
from sqlalchemy import func, select

from storefront import media
from storefront.admin import catalog as catalog_views
from storefront.audit import AuditEvent
from storefront.catalog import services
from storefront.catalog.models import Category, Product, ProductAttribute, ProductImage, StockMovement, Variant
from storefront.extensions import db

WATCHED = (Product, Variant, ProductImage, StockMovement, ProductAttribute, AuditEvent)


def jpeg(colour: str = "navy", size=(800, 600)) -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    out.seek(0)
    return out


def editor_form(variants=(), images=(), **fields) -> dict:
    """The editor's fields as a browser posts them (unticked boxes are left out)."""
    form = {"title": "Linen Shirt", "slug": "", "status": "active", "brand": "Loom", "description": "**Soft**",
            "seo_title": "", "seo_description": "", "attributes": "material: linen", "featured": "y"}
    form.update(fields)
    for row, variant in enumerate(variants):
        values = {"id": "", "sku": "", "options": "", "price": "", "compare_at": "", "stock": "0", "stock_was": "",
                  "weight": "", "active": "y", **variant}
        for name, value in values.items():
            if value is not None:
                form[f"variants-{row}-{name}"] = value
    for row, image in enumerate(images):
        for name, value in image.items():
            if value is not None:
                form[f"images-{row}-{name}"] = value
    return {key: value for key, value in form.items() if value is not None}


def post_editor(client, form: dict, product_id: int | None = None):
    url = f"/admin/products/{product_id}" if product_id else "/admin/products/new"
    return client.post(url, data=form, content_type="multipart/form-data")


def counts() -> dict:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in WATCHED}


def stored_files(app) -> set[str]:
    root = os.path.join(app.instance_path, "media")
    return {os.path.join(d, n) for d, _, names in os.walk(root) for n in names}


def make_shirt(client) -> Product:
    form = editor_form(variants=[{"sku": "SH-M", "options": "size=M, colour=Red", "price": "49.90",
                                  "compare_at": "59.90", "stock": "4", "weight": "250"},
                                 {"sku": "SH-L", "options": "size=L, colour=Red", "price": "€52.00", "stock": "0"}])
    form["new_images"] = [(jpeg("navy"), "front.jpg"), (jpeg("teal"), "back.jpg")]
    form["new_images_alt"] = "A red linen shirt"
    response = post_editor(client, form)
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalar(select(Product).order_by(Product.id.desc()))


def test_staff_create_a_product_with_variants_and_images_in_one_form(staff_client):
    category = Category(slug="shirts", name="Shirts")
    db.session.add(category)
    db.session.commit()
    form = editor_form(variants=[{"sku": "SH-M", "options": "size=M, colour=Red", "price": "49.90",
                                  "compare_at": "59.90", "stock": "4", "weight": "250"},
                                 {"sku": "SH-L", "options": "size=L", "price": "52", "stock": "0", "active": None}],
                       category_ids=str(category.id))
    form["new_images"] = [(jpeg("navy"), "front.jpg"), (jpeg("teal"), "back.jpg")]
    response = post_editor(staff_client, form)

    product = db.session.scalar(select(Product))
    assert response.status_code == 302 and response.location == f"/admin/products/{product.id}"
    assert (product.title, product.slug, product.status, product.brand, product.featured) == \
        ("Linen Shirt", "linen-shirt", "active", "Loom", True)
    assert "<strong>Soft</strong>" in product.description_html
    assert [c.slug for c in product.categories] == ["shirts"]
    assert [(v.sku, v.options, v.price_minor, v.compare_at_minor, v.stock, v.weight_grams, v.active)
            for v in product.variants] == [("SH-M", {"size": "M", "colour": "Red"}, 4990, 5990, 4, 250, True),
                                           ("SH-L", {"size": "L"}, 5200, None, 0, 0, False)]
    assert product.price_min_minor == 4990 and product.in_stock
    assert sorted((a.name, a.value) for a in product.attributes) == [("colour", "Red"), ("material", "linen"),
                                                                     ("size", "M")]
    assert [(i.alt, i.position, i.width) for i in product.images] == [("Linen Shirt", 0, 800), ("Linen Shirt", 1, 800)]
    assert all(media.storage().exists(i.path) for i in product.images)
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == str(product.id))))
    assert {"catalog.product.created", "catalog.product.variants_images_saved"} <= actions
    page = staff_client.get(response.location).get_data(as_text=True)
    assert 'value="€49.90"' in page and "Stock history" in page
    assert media.thumbnail_key(product.images[0].path, "small") in page


def test_staff_edit_fields_variants_and_images_together(staff_client):
    product = make_shirt(staff_client)
    medium, large = product.variants
    front, back = product.images
    form = editor_form(title="Linen Shirt (new)", slug="linen-shirt-new", attributes="material: linen\nfit: slim",
                       featured=None,
                       variants=[{"id": str(medium.id), "sku": "SH-M", "options": "size=M, colour=Red",
                                  "price": "45.00", "stock": "4", "stock_was": "4", "weight": "250"},
                                 {"id": str(large.id), "sku": "SH-L", "options": "size=L, colour=Red",
                                  "price": "52.00", "stock": "6", "stock_was": "0"},
                                 {"sku": "SH-XL", "options": "size=XL, colour=Red", "price": "55.00", "stock": "2"}],
                       images=[{"id": str(front.id), "alt": "Front", "position": "5"},
                               {"id": str(back.id), "alt": "Back", "position": "1", "remove": "y"}])
    form["new_images"] = [(jpeg("olive"), "side.jpg")]
    form["new_images_alt"] = "Side"
    response = post_editor(staff_client, form, product.id)
    assert response.status_code == 302, response.get_data(as_text=True)

    db.session.expire_all()
    product = db.session.get(Product, product.id)
    assert (product.title, product.slug, product.featured) == ("Linen Shirt (new)", "linen-shirt-new", False)
    assert [(v.sku, v.price_minor, v.stock) for v in product.variants] == [("SH-M", 4500, 4), ("SH-L", 5200, 6),
                                                                           ("SH-XL", 5500, 2)]
    assert product.price_min_minor == 4500
    assert [(i.alt, i.position) for i in product.images] == [("Front", 5), ("Side", 6)]
    assert ("fit", "slim") in {(a.name, a.value) for a in product.attributes}
    moves = db.session.execute(select(Variant.sku, StockMovement.delta, StockMovement.reason)
                               .join(Variant, Variant.id == StockMovement.variant_id)
                               .order_by(StockMovement.id)).all()
    assert moves[-2:] == [("SH-L", 6, "correction"), ("SH-XL", 2, "import")]
    saved = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "catalog.product.variants_images_saved")
                               .order_by(AuditEvent.id)).all()[-1]
    assert saved.before["variants"]["SH-M"]["price_minor"] == 4990
    assert saved.after["variants"]["SH-M"]["price_minor"] == 4500
    assert saved.actor_id == staff_client.user.id


def test_a_removed_image_is_deleted_from_storage_unless_another_product_shows_it(staff_client, app):
    first = make_shirt(staff_client)
    front_path, back_path = first.images[0].path, first.images[1].path
    other = post_editor(staff_client, {**editor_form(title="Twin"), "new_images": [(jpeg("navy"), "same.jpg")]})
    assert other.status_code == 302
    images = [{"id": str(i.id), "alt": i.alt, "position": str(i.position), "remove": "y"} for i in first.images]
    post_editor(staff_client, editor_form(images=images), first.id)
    db.session.expire_all()
    assert db.session.get(Product, first.id).images == []
    assert media.storage().exists(front_path)  # the twin shows the same (navy) picture
    assert not media.storage().exists(back_path)
    assert not media.storage().exists(media.thumbnail_key(back_path, "small"))


def test_untouched_stock_keeps_sales_made_while_the_form_was_open(staff_client):
    product = make_shirt(staff_client)
    medium, large = product.variants
    shown = editor_form(variants=[{"id": str(medium.id), "sku": "SH-M", "price": "49.90", "stock": "4",
                                   "stock_was": "4"},
                                  {"id": str(large.id), "sku": "SH-L", "price": "52.00", "stock": "0",
                                   "stock_was": "0"}])
    services.adjust_stock(medium.id, -1, "sale")  # a shopper buys one meanwhile
    assert post_editor(staff_client, shown, product.id).status_code == 302
    db.session.expire_all()
    assert db.session.get(Variant, medium.id).stock == 3


@pytest.mark.parametrize("variant,field,message", [
    ({"price": "12.345"}, "price", "Enter an amount like"),
    ({"price": ""}, "price", "Enter an amount, for example"),
    ({"price": "12.50", "compare_at": "lots"}, "compare_at", "Enter an amount like"),
    ({"price": "-5"}, "price", ""),
    ({"price": "12.50", "stock": "-3"}, "stock", "Stock cannot be negative."),
    ({"price": "12.50", "stock": "2.5"}, "stock", "Stock must be a whole number."),
    ({"price": "12.50", "weight": "heavy"}, "weight", "Weight must be a whole number."),
    ({"price": "12.50", "options": "size M"}, "options", "Write options as name=value"),
    ({"price": "12.50", "options": "size=M, size=L"}, "options", "The option “size” is given twice."),
    ({"price": "12.50", "sku": ""}, "sku", "Every variant needs a SKU."),
])
def test_a_bad_variant_row_is_refused_with_its_message_and_nothing_is_written(staff_client, app, variant, field,
                                                                             message):
    before, files = counts(), stored_files(app)
    form = editor_form(variants=[{"sku": "OK-1", "price": "10.00"}, {"sku": "BAD-1", **variant}])
    form["new_images"] = [(jpeg(), "fine.jpg")]
    response = post_editor(staff_client, form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="variants-1-{field}-error"' in page and message in page
    assert "Nothing was saved" in page and "Choose your new images again" in page
    assert counts() == before and stored_files(app) == files


@pytest.mark.parametrize("fields,field,message", [
    ({"title": ""}, "title", "A product needs a title."),
    ({"status": "deleted"}, "status", "Status must be one of draft, active, archived."),
    ({"attributes": "material linen"}, "attributes", "Line 1: write each attribute as “name: value”."),
    ({"category_ids": "999999"}, "category_ids", "One of the chosen categories no longer exists."),
    ({"seo_description": "x" * 321}, "seo_description", "at most 320 characters"),
])
def test_bad_product_fields_are_refused_and_nothing_is_written(staff_client, fields, field, message):
    before = counts()
    response = post_editor(staff_client, editor_form(variants=[{"sku": "A-1", "price": "10"}], **fields))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field}-error"' in page and message in page
    assert counts() == before


def test_a_non_image_upload_is_refused_and_nothing_is_written(staff_client, app):
    before, files = counts(), stored_files(app)
    form = editor_form(variants=[{"sku": "A-1", "price": "10"}])
    form["new_images"] = [(jpeg(), "good.jpg"), (io.BytesIO(b"%PDF-1.4 not an image"), "brochure.jpg")]
    response = post_editor(staff_client, form)
    assert response.status_code == 400
    assert "brochure.jpg: That file is not an image we accept (JPEG, PNG, WebP or GIF)." in response.get_data(
        as_text=True)
    assert counts() == before and stored_files(app) == files


def test_duplicate_skus_are_refused_in_the_form_and_across_products(staff_client):
    make_shirt(staff_client)
    before = counts()
    twice = post_editor(staff_client, editor_form(variants=[{"sku": "NEW-1", "price": "1"},
                                                            {"sku": "NEW-1", "price": "2"}]))
    assert twice.status_code == 400 and "The SKU NEW-1 is used twice in this form." in twice.get_data(as_text=True)
    taken = post_editor(staff_client, editor_form(title="Other", variants=[{"sku": "SH-M", "price": "1"}]))
    assert taken.status_code == 400
    assert "The SKU SH-M is already used by another product." in taken.get_data(as_text=True)
    assert counts() == before


def test_a_sku_taken_by_another_request_after_the_check_leaves_nothing_behind(staff_client, app, monkeypatch):
    from storefront.admin import catalog_services
    from storefront.testing import create_product

    checked = catalog_services._check_submission
    after_the_rival: dict = {}

    def rival_takes_the_sku(submission, product):
        checked(submission, product)  # the SKU is still free here
        with app.app_context():  # another request, its own session, committed
            create_product("Rival Shirt", variants=[{"sku": "RACE-1"}])
            after_the_rival.update(counts=counts(), files=stored_files(app))

    monkeypatch.setattr(catalog_services, "_check_submission", rival_takes_the_sku)
    form = editor_form(variants=[{"sku": "OK-1", "price": "10", "stock": "3"}, {"sku": "RACE-1", "price": "12"}])
    form["new_images"] = [(jpeg("navy"), "front.jpg")]
    response = post_editor(staff_client, form)

    assert response.status_code == 400
    assert "The SKU RACE-1 is already used by another variant." in response.get_data(as_text=True)
    db.session.expire_all()
    # The product, its other variant, its stock movement, its image and its audit events
    # were one transaction, rolled back; the stored upload was forgotten.
    assert counts() == after_the_rival["counts"] and stored_files(app) == after_the_rival["files"]
    assert db.session.scalars(select(Product.title)).all() == ["Rival Shirt"]


def test_a_refused_edit_of_an_existing_product_changes_nothing(staff_client):
    product = make_shirt(staff_client)
    medium, large = product.variants
    before = counts()
    form = editor_form(title="Renamed", variants=[
        {"id": str(medium.id), "sku": "SH-M", "price": "1.00", "stock": "9", "stock_was": "4"},
        {"id": str(large.id), "sku": "SH-L", "price": "12.345", "stock": "0", "stock_was": "0"}])
    response = post_editor(staff_client, form, product.id)
    assert response.status_code == 400
    assert 'value="Renamed"' in response.get_data(as_text=True)  # what was typed is kept
    db.session.expire_all()
    product = db.session.get(Product, product.id)
    assert product.title == "Linen Shirt" and product.variants[0].price_minor == 4990
    assert product.variants[0].stock == 4 and counts() == before


def test_a_variant_of_another_product_cannot_be_edited_through_this_one(staff_client):
    mine, theirs = make_shirt(staff_client), services.save_product({"title": "Theirs"})
    services.save_variant(theirs, {"sku": "T-1", "price_minor": 100})
    services.commit_product(theirs)
    form = editor_form(variants=[{"id": str(theirs.variants[0].id), "sku": "T-1", "price": "0.01",
                                  "stock_was": "0"}])
    response = post_editor(staff_client, form, mine.id)
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Variant, theirs.variants[0].id).price_minor == 100


def test_the_product_list_searches_titles_and_skus_and_filters_by_status(staff_client):
    make_shirt(staff_client)
    services.save_product({"title": "Wool Scarf 100%", "status": "draft"})
    listing = staff_client.get("/admin/products?q=linen").get_data(as_text=True)
    assert "Linen Shirt" in listing and "Wool Scarf" not in listing
    assert "Linen Shirt" in staff_client.get("/admin/products?q=sh-l").get_data(as_text=True)
    assert "Linen Shirt" not in staff_client.get("/admin/products?q=100%25").get_data(as_text=True)
    drafts = staff_client.get("/admin/products?status=draft").get_data(as_text=True)
    assert "Wool Scarf" in drafts and "Linen Shirt" not in drafts
    assert staff_client.get("/admin/products?status=lost").status_code == 400
    assert staff_client.get("/admin/products?before=abc").status_code == 400


def test_the_product_list_pages_with_stable_next_links(staff_client, monkeypatch):
    monkeypatch.setattr(catalog_views, "PRODUCTS_PER_PAGE", 2)
    for title in ("One", "Two", "Three", "Four", "Five"):
        services.save_product({"title": title})
    first = staff_client.get("/admin/products").get_data(as_text=True)
    assert ">Five<" in first and ">Four<" in first and ">Three<" not in first
    ids = db.session.scalars(select(Product.id).order_by(Product.id.desc())).all()
    assert f"/admin/products?before={ids[1]}" in first
    second = staff_client.get(f"/admin/products?before={ids[1]}").get_data(as_text=True)
    assert ">Three<" in second and ">Two<" in second and ">Five<" not in second
    last = staff_client.get(f"/admin/products?before={ids[3]}").get_data(as_text=True)
    assert ">One<" in last and "Next page" not in last


def test_bulk_publish_archive_and_price_change_apply_to_the_selected_products(staff_client):
    shirt = make_shirt(staff_client)
    scarf = services.save_product({"title": "Scarf", "status": "draft"})
    hat = services.save_product({"title": "Hat", "status": "draft"})
    response = staff_client.post("/admin/products/bulk", data={"action": "publish",
                                                               "product_id": [str(scarf.id), str(hat.id)]})
    assert response.status_code == 302
    db.session.expire_all()
    assert {p.status for p in db.session.scalars(select(Product).where(Product.id.in_([scarf.id, hat.id])))} == {
        "active"}
    staff_client.post("/admin/products/bulk", data={"action": "archive", "product_id": str(hat.id)})
    assert db.session.get(Product, hat.id).status == "archived"
    staff_client.post("/admin/products/bulk", data={"action": "price", "percent": "-10", "product_id": str(shirt.id)})
    db.session.expire_all()
    assert [v.price_minor for v in db.session.get(Product, shirt.id).variants] == [4491, 4680]
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("catalog.product.bulk%"))).all()
    assert sorted(actions) == ["catalog.product.bulk_active", "catalog.product.bulk_archived",
                               "catalog.product.bulk_price_change"]


@pytest.mark.parametrize("form,message", [
    ({"action": "publish"}, "Select at least one product."),
    ({"action": "price", "percent": "ten"}, "Enter the price change in percent"),
    ({"action": "price", "percent": "-100"}, "Enter a change between -99 % and +1000 %."),
    ({"action": "price", "percent": "0"}, "Enter a non-zero percentage"),
    ({"action": "explode"}, "Choose publish, archive, draft or a price change."),
])
def test_bad_bulk_actions_are_refused_and_nothing_changes(staff_client, form, message):
    shirt = make_shirt(staff_client)
    before = counts()
    data = {**form, "product_id": form.get("product_id", str(shirt.id) if form != {"action": "publish"} else [])}
    response = staff_client.post("/admin/products/bulk", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Product, shirt.id).variants[0].price_minor == 4990 and counts() == before


def test_deleting_a_product_needs_a_confirmation(staff_client):
    shirt = make_shirt(staff_client)
    assert staff_client.post(f"/admin/products/{shirt.id}/delete").status_code == 302
    assert db.session.get(Product, shirt.id) is not None
    assert staff_client.post(f"/admin/products/{shirt.id}/delete", data={"confirm": "yes"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Product, shirt.id) is None
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "catalog.product.deleted")) is not None


def test_an_unknown_product_is_a_404(staff_client):
    assert staff_client.get("/admin/products/987654").status_code == 404
