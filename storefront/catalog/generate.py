"""``flask catalog generate``: a deterministic synthetic catalog for benchmarks.

The same ``--products`` and ``--seed`` on an empty catalog give the same rows, ids
included. Speed comes from SQLAlchemy Core ``executemany`` inserts, a batch of products
(with their variants, categories, attributes, reviews and stock movements) per commit,
with ids assigned here rather than read back. The denormalised columns —
``price_min_minor``, ``in_stock``, ``rating_avg_x100``/``rating_count`` and the
variant-option rows of ``product_attributes`` — are exactly what
:mod:`storefront.catalog.services` would store (they come from
:func:`~storefront.catalog.csv_io.summarise`; a test checks them against the services).

The vocabulary is meant for search benchmarks: about a hundred product nouns spread over
thirty-odd categories, materials, adjectives and thousands of invented model names, so
most words match a small share of the catalog; nouns such as "headphones",
"binoculars" or "moisturiser" are there to be misspelt. No images, no events: run
``flask search reindex`` afterwards.
"""
from __future__ import annotations

import html
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import func, insert, select

from ..extensions import db
from .csv_io import CategoryPaths, summarise
from .models import Product, ProductAttribute, Review, StockMovement, Variant, product_categories
from .services import slugify

DEFAULT_BATCH_SIZE = 5000
#: Every generated SKU starts with this, so tools (the benchmark) can tell generated
#: products from a merchant's.
SKU_PREFIX = "GEN-"
#: Creation dates spread over two years before this fixed day (fixed, so runs agree).
EPOCH = datetime(2025, 1, 1)

SIZES = ("XS", "S", "M", "L", "XL")
SHOE_SIZES = tuple(str(n) for n in range(37, 47))
COLOURS = ("black", "white", "navy", "olive", "rust", "sand", "charcoal", "teal", "burgundy", "mustard", "sky blue",
           "forest green")
METALS = ("silver", "gold", "rose gold")
VOLUMES = ("30 ml", "50 ml", "100 ml")
CAPACITIES = ("64 GB", "128 GB", "256 GB")

#: department → category → (nouns, materials, option kinds, price range in whole units)
DEPARTMENTS: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[int, int]]]] = {
    "Clothing": {
        "Shirts": (("shirt", "blouse", "overshirt", "polo"), ("linen", "cotton", "flannel", "chambray"),
                   ("size", "colour"), (25, 120)),
        "Knitwear": (("sweater", "cardigan", "pullover", "turtleneck"), ("merino", "cashmere", "alpaca", "lambswool"),
                     ("size", "colour"), (40, 260)),
        "Trousers": (("trousers", "chinos", "jeans", "joggers"), ("denim", "corduroy", "twill", "cotton"),
                     ("size", "colour"), (35, 160)),
        "Jackets": (("jacket", "parka", "anorak", "raincoat", "gilet"), ("waxed cotton", "nylon", "wool", "suede"),
                    ("size", "colour"), (70, 420)),
        "Dresses": (("dress", "sundress", "pinafore", "kaftan"), ("viscose", "silk", "linen", "jersey"),
                    ("size", "colour"), (45, 240)),
        "Accessories": (("scarf", "beanie", "gloves", "belt", "socks"), ("wool", "leather", "cotton", "mohair"),
                        ("colour",), (12, 90)),
    },
    "Shoes": {
        "Sneakers": (("sneakers", "trainers", "plimsolls"), ("canvas", "leather", "suede", "mesh"),
                     ("shoe size", "colour"), (50, 190)),
        "Boots": (("boots", "chelsea boots", "hiking boots", "wellingtons"), ("leather", "suede", "rubber", "nubuck"),
                  ("shoe size", "colour"), (80, 330)),
        "Sandals": (("sandals", "espadrilles", "slippers", "clogs"), ("jute", "leather", "cork", "felt"),
                    ("shoe size",), (25, 140)),
    },
    "Home": {
        "Kitchen": (("kettle", "teapot", "colander", "saucepan", "whisk", "grinder"),
                    ("enamel", "copper", "stainless steel", "cast iron"), ("colour",), (12, 180)),
        "Tableware": (("mug", "bowl", "plate", "carafe", "tumbler", "platter"),
                      ("stoneware", "porcelain", "glass", "earthenware"), ("colour",), (8, 95)),
        "Textiles": (("blanket", "cushion", "throw", "towel", "duvet cover"), ("wool", "linen", "cotton", "velvet"),
                     ("colour",), (20, 220)),
        "Lighting": (("lamp", "lantern", "pendant light", "sconce"), ("brass", "rattan", "ceramic", "oak"),
                     ("colour",), (35, 390)),
        "Furniture": (("stool", "bookshelf", "side table", "armchair", "bench"), ("oak", "walnut", "beech", "rattan"),
                      (), (60, 900)),
    },
    "Electronics": {
        "Audio": (("headphones", "earbuds", "speaker", "turntable", "soundbar"), ("aluminium", "walnut", "plastic"),
                  ("colour",), (30, 600)),
        "Cameras": (("camera", "tripod", "lens", "camcorder"), ("magnesium", "aluminium", "carbon fibre"), (),
                    (60, 1800)),
        "Storage": (("memory card", "usb stick", "portable drive"), ("aluminium", "plastic"), ("capacity",),
                    (10, 250)),
        "Chargers": (("charger", "cable", "powerbank", "adapter"), ("braided nylon", "plastic", "aluminium"),
                     ("colour",), (9, 90)),
    },
    "Outdoor": {
        "Camping": (("tent", "sleeping bag", "camping stove", "hammock", "headtorch"), ("ripstop nylon", "down",
                                                                                       "polyester", "titanium"),
                    ("colour",), (15, 650)),
        "Cycling": (("helmet", "bicycle bell", "pannier", "bike lock", "saddle"), ("steel", "aluminium", "leather"),
                    ("colour",), (10, 260)),
        "Optics": (("binoculars", "telescope", "monocular", "spotting scope"), ("aluminium", "magnesium",
                                                                                "polycarbonate"), (), (45, 1400)),
    },
    "Beauty": {
        "Skincare": (("moisturiser", "serum", "cleanser", "face mask", "sunscreen"), ("aloe", "rosehip", "shea",
                                                                                     "hyaluronic"), ("volume",),
                     (8, 85)),
        "Fragrance": (("perfume", "cologne", "scented candle", "room spray"), ("vetiver", "bergamot", "sandalwood",
                                                                              "jasmine"), ("volume",), (15, 180)),
    },
    "Jewellery": {
        "Necklaces": (("necklace", "pendant", "choker", "locket"), ("sterling silver", "gold vermeil", "pearl"),
                      ("metal",), (30, 480)),
        "Rings": (("ring", "signet ring", "band"), ("sterling silver", "gold vermeil", "platinum"), ("metal",),
                  (25, 900)),
        "Earrings": (("earrings", "studs", "hoops"), ("sterling silver", "gold vermeil", "pearl"), ("metal",),
                     (20, 300)),
    },
    "Toys": {
        "Puzzles": (("jigsaw puzzle", "puzzle box", "tangram"), ("cardboard", "wood"), (), (8, 60)),
        "Games": (("board game", "card game", "chess set", "dominoes"), ("wood", "cardboard", "resin"), (),
                  (10, 120)),
        "Plush": (("teddy bear", "plush rabbit", "plush fox"), ("organic cotton", "wool felt"), ("colour",),
                  (12, 70)),
    },
}
GIFT_PATH = ("Gifts", "Under 25")
ADJECTIVES = ("classic", "everyday", "heritage", "modern", "rugged", "slim", "relaxed", "compact", "deluxe",
              "essential", "vintage", "nordic", "coastal", "alpine", "urban", "handmade", "lightweight", "cosy",
              "weatherproof", "minimal", "signature", "studio", "field", "travel", "premium", "organic", "artisan",
              "tailored", "soft", "bold")
FEATURES = ("stitched by hand", "built to last for years", "finished with care", "tested in harsh weather",
            "designed in a small studio", "made in small batches", "easy to look after", "light enough to carry",
            "shaped for comfort", "given a brushed finish")
USES = ("It suits daily use as well as weekends away.", "It makes a thoughtful present.",
        "It pairs well with the rest of the range.", "Customers keep coming back for it.",
        "It is a quiet favourite of our team.", "It gets better with age.")
CARE = ("Wipe clean with a damp cloth.", "Wash at 30 degrees.", "Store somewhere dry.", "Hand wash only.",
        "Keep away from direct heat.")
ORIGINS = ("Portugal", "Italy", "Japan", "Denmark", "Scotland", "Vietnam", "Peru", "Germany", "India", "Mexico")
REVIEW_TITLES = ("Love it", "Does the job", "Great quality", "Not quite right", "Better than expected",
                 "Would buy again", "Good value", "A bit small")
REVIEWERS = ("Anna", "Ben", "Chloe", "Dev", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kemi", "Luca")
SYLLABLES = ("ka", "lo", "ri", "ven", "tar", "mi", "so", "del", "ra", "no", "vik", "len", "ber", "ta", "lu", "mar",
             "sa", "ro", "fen", "dal", "ki", "ne", "pe", "sil", "tor", "quin", "ba", "zen", "mo", "ul")
BRAND_COUNT, MODEL_COUNT = 60, 4000


@dataclass(frozen=True)
class GenerateResult:
    products: int
    variants: int
    seconds: float


def _vocabulary(rng: random.Random, count: int, syllables: tuple[int, int]) -> list[str]:
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(*syllables))).capitalize()
        if word not in seen and len(word) > 3:
            seen.add(word)
            words.append(word)
    return words


class _Catalog:
    """Produces product rows from one seeded random stream (so the output is fixed)."""

    def __init__(self, seed: int, currency: str, category_ids: dict[tuple[str, ...], int]):
        words = random.Random(f"storefront-vocabulary-{seed}")
        self.brands = _vocabulary(words, BRAND_COUNT, (2, 3))
        self.models = _vocabulary(words, MODEL_COUNT, (2, 3))
        self.rng = random.Random(seed)
        self.currency = currency
        self.category_ids = category_ids
        self.leaves = [(department, name, spec) for department, categories in DEPARTMENTS.items()
                       for name, spec in categories.items()]

    def product(self, product_id: int, variant_id: int) -> dict[str, Any]:
        """Rows for one product: {"product", "categories", "variants", "attributes",
        "reviews", "movements"}."""
        rng = self.rng
        department, leaf, (nouns, materials, option_kinds, (low, high)) = rng.choice(self.leaves)
        noun, material, adjective, model = (rng.choice(nouns), rng.choice(materials), rng.choice(ADJECTIVES),
                                            rng.choice(self.models))
        title = f"{model} {adjective.capitalize()} {material.capitalize()} {noun.capitalize()}"
        paragraphs = [f"The {model} {noun} is made of {material} and {rng.choice(FEATURES)}. {rng.choice(USES)}",
                      rng.choice(CARE)]
        description = "\n\n".join(paragraphs)
        created = EPOCH - timedelta(seconds=rng.randrange(2 * 365 * 86400))
        status = rng.choices(("active", "draft", "archived"), (94, 4, 2))[0]
        own_attributes = [("material", material)]
        if rng.random() < 0.5:
            own_attributes.append(("origin", rng.choice(ORIGINS)))
        base_minor = rng.randint(low, high) * 100 + rng.choice((0, 50, 90, 95))
        variants = self._variants(product_id, variant_id, option_kinds, base_minor)
        categories = [self.category_ids[(department, leaf)]]
        if base_minor < 2500 and rng.random() < 0.3:
            categories.append(self.category_ids[GIFT_PATH])
        reviews = self._reviews(product_id, created) if status == "active" and rng.random() < 0.2 else []
        summary = summarise(((v["price_minor"], v["stock"], v["active"], v["options"]) for v in variants),
                            own_attributes)
        ratings = [r["rating"] for r in reviews]
        return {
            "product": {
                "id": product_id, "title": title, "slug": f"{slugify(title)}-{product_id}",
                "description": description,
                # What services.render_description makes of plain paragraphs (checked by a test).
                "description_html": "\n".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs),
                "status": status, "brand": rng.choice(self.brands), "seo_title": "", "seo_description": "",
                "featured": status == "active" and rng.random() < 0.01, "currency": self.currency,
                "price_min_minor": summary.price_min_minor, "in_stock": summary.in_stock,
                "rating_avg_x100": round(sum(ratings) * 100 / len(ratings)) if ratings else 0,
                "rating_count": len(ratings), "created_at": created, "updated_at": created},
            "categories": [{"product_id": product_id, "category_id": c} for c in categories],
            "variants": variants,
            "attributes": [{"product_id": product_id, "name": n, "value": v, "from_variant": False}
                           for n, v in own_attributes]
                          + [{"product_id": product_id, "name": n, "value": v, "from_variant": True}
                             for n, v in summary.option_attributes],
            "reviews": reviews,
            "movements": [{"variant_id": v["id"], "delta": v["stock"], "stock_after": v["stock"], "reason": "import",
                           "note": "generated", "order_id": None, "user_id": None, "created_at": created}
                          for v in variants if v["stock"]],
        }

    def _variants(self, product_id: int, first_id: int, option_kinds: tuple[str, ...], base_minor: int
                  ) -> list[dict[str, Any]]:
        rng = self.rng
        choices = {"size": SIZES, "shoe size": SHOE_SIZES, "colour": COLOURS, "metal": METALS, "volume": VOLUMES,
                   "capacity": CAPACITIES}
        count = rng.randint(1, 3) if option_kinds else 1
        combos: list[dict[str, str]] = []
        while len(combos) < count:
            options = {kind: rng.choice(choices[kind]) for kind in option_kinds}
            if options in combos:
                break  # small option spaces: fewer variants rather than twins
            combos.append(options)
        variants = []
        for position, options in enumerate(combos):
            price = base_minor + position * rng.choice((0, 0, 200, 500))
            variants.append({
                "id": first_id + position, "product_id": product_id,
                "sku": f"{SKU_PREFIX}{product_id:08d}-{position + 1}", "options": options, "price_minor": price,
                "compare_at_minor": price * 6 // 5 if rng.random() < 0.15 else None, "currency": self.currency,
                "stock": 0 if rng.random() < 0.1 else rng.randint(1, 120), "weight_grams": rng.randint(50, 5000),
                "active": rng.random() < 0.97, "position": position})
        return variants

    def _reviews(self, product_id: int, created: datetime) -> list[dict[str, Any]]:
        rng = self.rng
        return [{"product_id": product_id, "user_id": None, "author_name": rng.choice(REVIEWERS),
                 "rating": rng.choices((1, 2, 3, 4, 5), (1, 1, 3, 6, 8))[0], "title": rng.choice(REVIEW_TITLES),
                 "body": "Arrived quickly and is just as described.", "verified_buyer": rng.random() < 0.6,
                 "status": "approved", "created_at": created + timedelta(days=rng.randint(3, 200))}
                for _ in range(rng.randint(1, 5))]


def _category_ids() -> dict[tuple[str, ...], int]:
    """Every generated category path → id, creating what is missing."""
    paths = CategoryPaths()
    wanted = [(department, leaf) for department, leaves in DEPARTMENTS.items() for leaf in leaves] + [GIFT_PATH]
    ids = {path: paths.ensure(path) for path in wanted}
    db.session.commit()
    return ids


def _next_id(model: Any) -> int:
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


def generate_catalog(products: int, *, seed: int = 1, batch_size: int = DEFAULT_BATCH_SIZE,
                     progress: Callable[[int], None] | None = None) -> GenerateResult:
    """Add ``products`` generated products (committed per ``batch_size``); ``progress(n)``
    is told about each committed batch. Meant for a quiet database: ids continue from
    the largest existing one."""
    from flask import current_app

    started = time.perf_counter()
    catalog = _Catalog(seed, current_app.config["STORE_CURRENCY"], _category_ids())
    product_id, variant_id = _next_id(Product), _next_id(Variant)
    made = variants_made = 0
    while made < products:
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in ("product", "categories", "variants",
                                                                        "attributes", "reviews", "movements")}
        for _ in range(min(batch_size, products - made)):
            one = catalog.product(product_id, variant_id)
            rows["product"].append(one["product"])
            for name in ("categories", "variants", "attributes", "reviews", "movements"):
                rows[name].extend(one[name])
            product_id += 1
            variant_id += len(one["variants"])
        for table, name in ((Product.__table__, "product"), (product_categories, "categories"),
                            (Variant.__table__, "variants"), (ProductAttribute.__table__, "attributes"),
                            (Review.__table__, "reviews"), (StockMovement.__table__, "movements")):
            if rows[name]:
                db.session.execute(insert(table), rows[name])
        db.session.commit()
        made += len(rows["product"])
        variants_made += len(rows["variants"])
        if progress is not None:
            progress(len(rows["product"]))
    return GenerateResult(made, variants_made, time.perf_counter() - started)
