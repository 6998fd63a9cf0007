"""``flask catalog seed-demo``: a small, pleasant catalog for trying the store.

Seven categories in a tree, about forty products with sizes and colours, brands,
attributes, Markdown descriptions, a few featured products and approved reviews. Every
picture is drawn here with Pillow (a soft gradient, a shape and the product's initials)
and stored through :func:`storefront.media.store_image` — nothing is downloaded. The
output is the same on every run (seeded random).

Products are written through :mod:`storefront.catalog.services`, like the back office
writes them. Seeding is idempotent: a demo product whose handle already exists is left
alone.
"""
from __future__ import annotations

import io
import random
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable

from PIL import Image, ImageChops, ImageDraw, ImageFont
from sqlalchemy import exists, select

from .. import media
from ..extensions import db
from . import services
from .csv_io import CategoryPaths
from .models import Category, Product, ProductImage

SEED = 20_24
IMAGE_SIZE = 800

#: path → description of each demo category.
CATEGORIES: dict[tuple[str, ...], str] = {
    ("Clothing",): "Everyday clothes in natural fibres, cut to last.",
    ("Clothing", "Shirts"): "Linen, oxford and flannel shirts for every season.",
    ("Clothing", "Knitwear"): "Warm knits in merino, lambswool and cashmere.",
    ("Home",): "Useful, good-looking things for the kitchen and the table.",
    ("Home", "Kitchen"): "Kettles, pans and tools that get used every day.",
    ("Home", "Tableware"): "Mugs, plates and carafes, glazed and fired by small studios.",
    ("Accessories",): "Bags, belts and scarves to finish the look.",
}

#: (option kinds, price range in whole units, material choices, products as (title, brand))
CategorySpec = tuple[tuple[str, ...], tuple[int, int], tuple[str, ...], tuple[tuple[str, str], ...]]
#: category path → what it holds.
CATALOG: dict[tuple[str, ...], CategorySpec] = {
    ("Clothing", "Shirts"): (("size", "colour"), (39, 89), ("linen", "organic cotton"), (
        ("Linen Camp Shirt", "Nordweave"), ("Oxford Button-Down", "Atelier Loom"), ("Flannel Overshirt", "Fieldhouse"),
        ("Chambray Work Shirt", "Fieldhouse"), ("Breton Striped Top", "Harbour Goods"),
        ("Organic Cotton Tee", "Nordweave"), ("Poplin Shirt", "Atelier Loom"), ("Denim Western Shirt", "Fieldhouse"))),
    ("Clothing", "Knitwear"): (("size", "colour"), (69, 189), ("merino", "lambswool", "cashmere", "cotton"), (
        ("Merino Crew Sweater", "Nordweave"), ("Cable Knit Cardigan", "Harbour Goods"),
        ("Lambswool Turtleneck", "Atelier Loom"), ("Cashmere V-Neck", "Atelier Loom"),
        ("Fisherman Sweater", "Harbour Goods"), ("Ribbed Cotton Pullover", "Nordweave"),
        ("Shetland Crew", "Fieldhouse"), ("Mohair Cardigan", "Atelier Loom"))),
    ("Home", "Kitchen"): (("colour",), (14, 119), ("enamel", "stoneware", "copper", "beech"), (
        ("Enamel Kettle", "Kiln & Co"), ("Cast Iron Skillet", "Oak & Ash"), ("Copper Saucepan", "Oak & Ash"),
        ("Beech Spoon Set", "Oak & Ash"), ("Ceramic Pour-Over Set", "Kiln & Co"), ("Enamel Mixing Bowl", "Kiln & Co"),
        ("Linen Tea Towels", "Nordweave"))),
    ("Home", "Tableware"): (("colour",), (9, 64), ("stoneware", "porcelain", "glass", "walnut"), (
        ("Stoneware Mug", "Kiln & Co"), ("Porcelain Dinner Plate", "Kiln & Co"), ("Glass Carafe", "Harbour Goods"),
        ("Speckled Stoneware Bowl", "Kiln & Co"), ("Ceramic Teapot", "Kiln & Co"),
        ("Walnut Serving Board", "Oak & Ash"),
        ("Linen Napkins", "Nordweave"), ("Glass Tumbler Set", "Harbour Goods"))),
    ("Accessories",): (("colour",), (19, 149), ("waxed canvas", "leather", "wool", "cotton"), (
        ("Canvas Tote Bag", "Fieldhouse"), ("Leather Belt", "Oak & Ash"), ("Wool Scarf", "Nordweave"),
        ("Leather Card Holder", "Oak & Ash"), ("Waxed Canvas Backpack", "Fieldhouse"),
        ("Merino Beanie", "Harbour Goods"),
        ("Leather Gloves", "Atelier Loom"), ("Leather Weekender Bag", "Fieldhouse"))),
}
#: Materials a title may name ("Merino Crew Sweater"); the product is then made of it.
TITLE_MATERIALS = ("linen", "merino", "lambswool", "cashmere", "mohair", "flannel", "chambray", "denim", "cotton",
                   "enamel", "cast iron", "copper", "beech", "stoneware", "porcelain", "glass", "ceramic", "walnut",
                   "canvas", "leather", "wool")
SIZES = ("S", "M", "L", "XL")
#: colour name → RGB, used for both the option and the picture.
COLOURS = {"Sand": (222, 203, 164), "Navy": (52, 73, 110), "Sage": (156, 175, 136), "Rust": (183, 92, 58),
           "Oat": (232, 224, 207), "Charcoal": (70, 72, 76), "Sky": (150, 190, 222), "Clay": (196, 140, 112)}
ORIGINS = ("Portugal", "Italy", "Scotland", "Japan", "Denmark")
OPENINGS = ("A quiet favourite that goes with everything.", "Made in small batches by people who care.",
            "Designed to be used every day and to look better with age.",
            "Simple, sturdy and honest — the kind of thing you keep for years.")
DETAILS = ("Finished by hand", "Natural, undyed fibres where possible", "Sturdy seams and edges",
           "Easy to look after", "Packed without plastic", "Repairable, not disposable")
REVIEWS = ((5, "Lovely quality", "Even nicer than the pictures. I have worn it every week since."),
           (4, "Very happy", "Good value and well made. Runs slightly large."),
           (5, "A gift that landed", "Bought it for my sister, who has not stopped talking about it."),
           (3, "Nice, but…", "Beautiful, though the colour is a little darker than I expected."),
           (5, "Would buy again", "Arrived quickly, well packed, exactly as described."))
REVIEWERS = ("Maya", "Tom", "Lea", "Sam", "Ines", "Noah", "Ada", "Jon")
#: Approved reviews shown in the demo, and a few left pending for the back office.
APPROVED_REVIEWS, PENDING_REVIEWS = 14, 3


@dataclass(frozen=True)
class DemoResult:
    products: int
    categories: int
    images: int
    reviews: int


def demo_product_count() -> int:
    return sum(len(spec[3]) for spec in CATALOG.values())


def seed_demo(progress: Callable[[int], None] | None = None) -> DemoResult:
    """Create the demo catalog (what is missing of it); ``progress(1)`` per product."""
    category_ids, images = _seed_categories()
    created: list[Product] = []
    for path, (option_kinds, price_range, materials, products) in CATALOG.items():
        for title, brand in products:
            product = _seed_product(title, brand, category_ids[path], option_kinds, price_range, materials)
            if product is not None:
                created.append(product)
                images += len(product.images)
            if progress is not None:
                progress(1)
    reviews = _seed_reviews(created)
    return DemoResult(len(created), len(category_ids), images, reviews)


def _random_for(name: str) -> random.Random:
    """Each item draws from its own seeded stream, so what it gets never depends on what
    was seeded before it (a partial re-run gives the same products)."""
    return random.Random(f"{SEED}-{name}")


def _seed_categories() -> tuple[dict[tuple[str, ...], int], int]:
    paths = CategoryPaths()
    ids, images = {}, 0
    for path, description in CATEGORIES.items():
        ids[path] = paths.ensure(path)
        category = db.session.get(Category, ids[path])
        if category.image_path is None:
            rng = _random_for(" > ".join(path))
            category.description = category.description or description
            palette = rng.sample(sorted(COLOURS.values()), 2)
            category.image_path = _store_picture(path[-1], palette, rng, (1200, 600), f"{category.slug}.jpg").path
            images += 1
    db.session.commit()
    return ids, images


def _seed_product(title: str, brand: str, category_id: int, option_kinds: tuple[str, ...],
                  price_range: tuple[int, int], materials: tuple[str, ...]) -> Product | None:
    slug = services.slugify(title)
    if db.session.scalar(select(exists().where(Product.slug == slug))):
        return None
    rng = _random_for(slug)
    material, origin = rng.choice(materials), rng.choice(ORIGINS)
    # "Linen Camp Shirt" is linen, whatever the draw says.
    material = next((m for m in TITLE_MATERIALS if m in title.lower()), material)
    colours = rng.sample(sorted(COLOURS), 2 if "size" in option_kinds else 3)
    base = rng.randint(*price_range) * 100 + 90
    on_sale, featured = rng.random() < 0.2, rng.random() < 0.2
    description = (f"{rng.choice(OPENINGS)}\n\n* {material.capitalize()}, made in {origin}\n"
                   f"* {rng.choice(DETAILS)}\n* {rng.choice(DETAILS)}\n\n"
                   f"The **{title}** by {brand} is part of our permanent range.")
    stock_draws = [rng.choice((0, 2, 5, 12, 30, 60)) for _ in range(8)]
    product = services.save_product({
        "title": title, "slug": slug, "status": "active", "brand": brand, "description": description,
        "featured": featured, "category_ids": [category_id], "seo_title": f"{title} by {brand}",
        "seo_description": f"{title} in {material}, made in {origin}.",
        "attributes": {"material": material, "origin": origin}})
    combos = ([{"size": s, "colour": c} for c in colours for s in SIZES[:3]] if "size" in option_kinds
              else [{"colour": c} for c in colours])
    for position, (options, stock) in enumerate(zip(combos, stock_draws)):
        services.save_variant(product, {
            "sku": f"DEMO-{slug[:40].upper()}-{position + 1}", "options": options, "price_minor": base,
            "compare_at_minor": base + 2000 if on_sale else None, "stock": stock, "position": position,
            "weight_grams": 250 + 50 * position})
    for position, colour in enumerate(colours[:2]):
        palette = [COLOURS[colour], COLOURS[colours[(position + 1) % len(colours)]]]
        stored = _store_picture(title, palette, rng, (IMAGE_SIZE, IMAGE_SIZE), f"{slug}-{position + 1}.jpg")
        product.images.append(ProductImage(path=stored.path, alt=f"{title} in {colour.lower()}", position=position,
                                           width=stored.width, height=stored.height))
    services.commit_product(product)
    return product


def _seed_reviews(products: list[Product]) -> int:
    if not products:
        return 0
    rng = _random_for("reviews")
    picks = rng.sample(products, min(len(products), APPROVED_REVIEWS + PENDING_REVIEWS))
    for n, product in enumerate(picks):
        rating, title, body = rng.choice(REVIEWS)
        reviewer = SimpleNamespace(id=None, name=rng.choice(REVIEWERS))  # a guest review: no account
        review = services.add_review(product, reviewer, rating, title, body, verified_buyer=rng.random() < 0.7)
        if n < APPROVED_REVIEWS:
            services.moderate_review(review.id, "approved")
    return len(picks)


# --- pictures -----------------------------------------------------------------------------------


def _initials(title: str) -> str:
    return "".join(word[0] for word in title.replace("-", " ").split()[:2]).upper()


def draw_picture(title: str, palette: list[tuple[int, int, int]], rng: random.Random,
                 size: tuple[int, int]) -> Image.Image:
    """A soft diagonal gradient between two colours, a pale shape and the initials."""
    width, height = size
    light = tuple(min(255, c + 40) for c in palette[0])
    vertical = Image.linear_gradient("L")
    mask = ImageChops.add(vertical, vertical.rotate(rng.choice((90, 270))), scale=2).resize(size)
    picture = Image.composite(Image.new("RGB", size, palette[1]), Image.new("RGB", size, light), mask)
    overlay = Image.new("RGBA", size, (255, 255, 255, 0))
    draw = ImageDraw.Draw(overlay)
    radius = min(size) * rng.randint(26, 36) // 100
    cx, cy = width // 2 + rng.randint(-40, 40), height // 2 + rng.randint(-40, 40)
    box = (cx - radius, cy - radius, cx + radius, cy + radius)
    if rng.random() < 0.5:
        draw.ellipse(box, fill=(255, 255, 255, 80))
    else:
        draw.rounded_rectangle(box, radius=radius // 3, fill=(255, 255, 255, 80))
    font = ImageFont.load_default(size=min(size) // 4)
    draw.text((cx, cy), _initials(title), font=font, anchor="mm", fill=(255, 255, 255, 235))
    return Image.alpha_composite(picture.convert("RGBA"), overlay).convert("RGB")


def _store_picture(title: str, palette: list[tuple[int, int, int]], rng: random.Random, size: tuple[int, int],
                   filename: str) -> media.StoredImage:
    buffer = io.BytesIO()
    draw_picture(title, palette, rng, size).save(buffer, "JPEG", quality=85)
    buffer.seek(0)
    return media.store_image(buffer, filename=filename)
