"""Catalog page latency for a single client, over real HTTP, on a generated catalog.

Run it against MariaDB (the production case; the database must exist)::

    STOREFRONT_DATABASE_URL='mysql+pymysql://root@127.0.0.1:3306/storefront_bench?charset=utf8mb4' \\
        .venv/bin/python bench/catalog_bench.py [--products 100000] [--requests 200] [--seconds 30]

Without ``STOREFRONT_DATABASE_URL`` it uses a SQLite file kept between runs
(``$TMPDIR/storefront-bench/catalog.db``), so ``make bench`` works out of the box.

1. The schema is migrated (``flask db upgrade``). When the catalog has fewer than
   ``--products`` products, generated ones are added (``flask catalog generate``) and
   the search index is rebuilt (``flask search reindex``); a catalog holding products
   that were not generated is never added to. A catalog of the right size is reused
   (``--reindex`` rebuilds its search index first).
2. The app runs under gunicorn on 127.0.0.1 (``storefront.testing.serve``) with the
   catalog data cache **off** (``CATALOG_CACHE_SECONDS=0``, so every request reaches the
   database; ``--cache-seconds 60`` measures with it) and rate limits off.
3. One client asks, one request after another, for: the home page; category pages (the
   first page of a subcategory and of a top-level category with all its subcategories'
   products, page 2 via the page's own "next" link, and a filtered, price-sorted page);
   product pages; search results. URLs rotate over samples of categories,
   products and words, so repeated URLs do not flatter the figures. Each scenario has a
   few warm-up requests, then at most ``--requests`` requests or ``--seconds`` seconds.
4. A table of p50 / p95 / p99 / max latency (ms, as the client sees it) is printed.

The issue's target: with 100,000 products on MariaDB, category pages and search answer
under 50 ms at p95 for a single client.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from html import unescape
from typing import Callable
from urllib.parse import urlencode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import requests  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from storefront import create_app  # noqa: E402
from storefront.catalog.generate import SKU_PREFIX  # noqa: E402
from storefront.catalog.models import Category, Product, Variant, product_categories  # noqa: E402
from storefront.extensions import db  # noqa: E402
from storefront.testing import serve  # noqa: E402

DEFAULT_SQLITE = os.path.join(tempfile.gettempdir(), "storefront-bench", "catalog.db")
WARM_UP = 5
SEARCH_WORDS = ("headphones", "kettle", "merino sweater", "binoculars", "linen", "walnut lamp", "moisturiser",
                "hedphones", "cardig", "copper", "chelsea boots", "necklace")


@dataclass
class Scenario:
    name: str
    urls: list[str]


@dataclass
class Timings:
    name: str
    samples: list[float]  # milliseconds
    failures: int

    def percentile(self, share: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def log(message: str) -> None:
    print(message, flush=True)


def bench_config(args: argparse.Namespace, database_url: str) -> dict:
    return {"DATABASE_URL": database_url, "SECRET_KEY": secrets.token_hex(16), "RATELIMIT_ENABLED": False,
            "CATALOG_CACHE_SECONDS": args.cache_seconds, "LOG_LEVEL": "WARNING", "REDIS_URL": None}


def flask(config: dict, *arguments: str) -> None:
    """Run a ``flask`` command with the bench's configuration (its own progress bars show)."""
    from storefront.testing import app_environment

    done = subprocess.run([sys.executable, "-m", "flask", "--app", "storefront", *arguments], cwd=ROOT,
                          env=app_environment(config))
    if done.returncode:
        sys.exit(f"`flask {' '.join(arguments)}` failed (exit status {done.returncode}); see its output above.")


def prepare_catalog(config: dict, wanted: int, reindex: bool) -> None:
    flask(config, "db", "upgrade")
    app = create_app(config)
    with app.app_context():
        total = db.session.scalar(select(func.count(Product.id))) or 0
        foreign = db.session.scalar(select(func.count(Variant.id)).where(~Variant.sku.startswith(SKU_PREFIX)))
    if total >= wanted:
        log(f"reusing the catalog of {total:,} products")
        if reindex:
            flask(config, "search", "reindex")
        return
    if foreign:
        sys.exit(f"refusing to add generated products: this database holds {total:,} products that were not "
                 f"generated. Point STOREFRONT_DATABASE_URL at an empty database.")
    log(f"generating {wanted - total:,} products (the catalog has {total:,})")
    flask(config, "catalog", "generate", "--products", str(wanted - total))
    flask(config, "search", "reindex")


def sample_scenarios(config: dict, base: str, rng: random.Random) -> list[Scenario]:
    app = create_app(config)
    with app.app_context():
        leaves = db.session.execute(
            select(Category.slug, func.count(product_categories.c.product_id).label("n"))
            .join(product_categories, product_categories.c.category_id == Category.id)
            .where(Category.parent_id.is_not(None)).group_by(Category.slug)
            .order_by(func.count(product_categories.c.product_id).desc())).all()
        top_level = db.session.scalars(select(Category.slug).where(Category.parent_id.is_(None))
                                       .order_by(Category.slug)).all()
        last_id = db.session.scalar(select(func.max(Product.id))) or 0
        picks = sorted(rng.sample(range(1, last_id + 1), min(last_id, 400)))
        products = db.session.scalars(select(Product.slug).where(Product.id.in_(picks),
                                                                 Product.status == "active")).all()
    if not leaves or not products:
        sys.exit("the catalog has no categorised active products to browse")
    categories = [slug for slug, _ in leaves]
    colours = ("black", "navy", "olive", "sand", "teal")
    filtered = [f"/c/{slug}?" + urlencode({"sort": "price_asc", "min": "20", "max": "200", "in_stock": "1",
                                           "f.colour": rng.choice(colours)}) for slug in categories]
    second_pages = [url for url in (next_page_url(base, f"/c/{slug}") for slug in categories[:12]) if url]
    scenarios = [
        Scenario("home", ["/"]),
        Scenario("category, first page", [f"/c/{slug}" for slug in categories]),
        # A top-level category lists its subcategories' products too (tens of thousands).
        Scenario("category, top level", [f"/c/{slug}" for slug in top_level]),
        Scenario("category, page 2", second_pages),
        Scenario("category, filtered + sorted", filtered),
        Scenario("product page", [f"/p/{slug}" for slug in products]),
        Scenario("search", [f"/search?{urlencode({'q': word})}" for word in SEARCH_WORDS]),
    ]
    return [s for s in scenarios if s.urls]


def next_page_url(base: str, path: str) -> str | None:
    """The category page's own link to its next page (keyset cursor), if it has one."""
    html = requests.get(base + path, timeout=30).text
    match = re.search(r'href="([^"]*[?&]after=[^"]*)"', html)
    return unescape(match.group(1)) if match else None


def measure(session: requests.Session, base: str, scenario: Scenario, count: int, seconds: float) -> Timings:
    urls = scenario.urls
    for url in urls[:WARM_UP]:
        session.get(base + url, timeout=30)
    samples, failures = [], 0
    deadline = time.monotonic() + seconds
    for n in range(count):
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        response = session.get(base + urls[n % len(urls)], timeout=30)
        samples.append((time.perf_counter() - started) * 1000)
        failures += response.status_code != 200
    return Timings(scenario.name, samples, failures)


def print_table(results: list[Timings], describe: Callable[[], str]) -> None:
    log("")
    log(describe())
    log(f"{'scenario':<30}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}")
    for r in results:
        log(f"{r.name:<30}{len(r.samples):>9}{r.percentile(.5):>9.1f}{r.percentile(.95):>9.1f}"
            f"{r.percentile(.99):>9.1f}{max(r.samples):>9.1f}{r.failures:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=int(os.environ.get("BENCH_PRODUCTS", 100_000)))
    parser.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_REQUESTS", 200)),
                        help="requests per scenario at most")
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 30)),
                        help="time per scenario at most")
    parser.add_argument("--cache-seconds", type=int, default=0, help="CATALOG_CACHE_SECONDS (0: cache off)")
    parser.add_argument("--seed", type=int, default=1, help="which URLs are sampled")
    parser.add_argument("--reindex", action="store_true", help="rebuild the search index of a reused catalog")
    args = parser.parse_args()

    database_url = os.environ.get("STOREFRONT_DATABASE_URL")
    if not database_url:
        os.makedirs(os.path.dirname(DEFAULT_SQLITE), exist_ok=True)
        database_url = f"sqlite:///{DEFAULT_SQLITE}"
        log(f"STOREFRONT_DATABASE_URL is not set: using {database_url} (MariaDB is the case that matters)")
    config = bench_config(args, database_url)
    prepare_catalog(config, args.products, args.reindex)
    with tempfile.TemporaryDirectory() as instance, serve(config, instance_path=instance) as base:
        scenarios = sample_scenarios(config, base, random.Random(args.seed))
        with requests.Session() as session:
            results = [measure(session, base, s, args.requests, args.seconds) for s in scenarios]
    backend = db_name(database_url)
    print_table(results, lambda: f"{args.products:,}+ products on {backend}, one client, data cache "
                                 f"{'off' if not args.cache_seconds else f'{args.cache_seconds}s'}")


def db_name(url: str) -> str:
    from sqlalchemy import make_url

    parsed = make_url(url)
    return f"{parsed.get_backend_name()} ({parsed.database})"


if __name__ == "__main__":
    main()
