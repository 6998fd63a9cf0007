"""Search latency for a single client, per backend, on a generated catalog.

Prepare once (any database; MariaDB is the production case)::

    flask db upgrade
    flask catalog generate --products 100000
    flask search reindex                      # the SQL backend (default)
    flask search reindex --backend tantivy    # to measure tantivy too

then run (same STOREFRONT_* environment as the commands above)::

    python bench/search_bench.py [--backend sql] [--rounds 30] [--pages]

Each query runs ``--rounds`` times after one warm-up, one after another (a single
client). The report gives hits, p50, p95 and the slowest run per query, and the p95 over
every run. ``--pages`` also times ``GET /search`` in-process (results cache off), which
adds loading the product cards and rendering. The target is p95 < 50 ms on MariaDB with
100,000 products.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from storefront import create_app  # noqa: E402
from storefront.catalog.search import search_products  # noqa: E402
from storefront.plugins import SearchQuery  # noqa: E402


@dataclass(frozen=True)
class Case:
    label: str
    text: str
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sort: str = "relevance"
    #: A stress case rather than a shopper's query (reported apart).
    stress: bool = False


#: Words from `flask catalog generate`'s vocabulary: selective nouns, broad adjectives and
#: materials, the worst case (a word in nearly every description), prefixes, short words,
#: stopwords, a misspelling, SKUs, filters and sorts.
CASES = (
    Case("noun", "headphones"),
    Case("two words", "linen dress"),
    Case("prefix", "headph"),
    Case("prefix, 2nd word", "copper tea"),
    Case("misspelt", "hedphones"),
    Case("broad adjective", "classic"),
    Case("broad material", "plastic"),
    Case("in every body", "made", stress=True),
    Case("two letters", "tv"),
    Case("stopword only", "the"),
    Case("stopword + noun", "the kettle"),
    Case("sku", "GEN-00004242-1"),
    Case("noun + brand filter", "shirt", {"brand": ("Lenulba", "Kimo")}),
    Case("noun + category", "lamp", {"category": ("home",)}),
    Case("broad + in stock, by price", "classic", {"in_stock": ("true",)}, "price_asc"),
    Case("noun + size + price", "dress", {"size": ("M",), "price_max": ("10000",)}),
    Case("noun, newest", "kettle", {}, "newest"),
)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def timed(call, rounds: int) -> tuple[list[float], object]:
    result = call()  # warm-up: opens connections and readers, fills OS caches
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default=None, help="SEARCH_BACKEND to measure (default: configured)")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--pages", action="store_true", help="also time GET /search pages")
    args = parser.parse_args()
    config = {"CATALOG_CACHE_SECONDS": 0, "RATELIMIT_ENABLED": False}
    if args.backend:
        config["SEARCH_BACKEND"] = args.backend
    app = create_app(config)
    every: list[float] = []
    every_page: list[float] = []
    shopper: list[float] = []
    with app.app_context():
        print(f"backend {app.config['SEARCH_BACKEND']!r} on {app.config['DATABASE_URL'].split('@')[-1]}, "
              f"{args.rounds} rounds per query, one client\n")
        print(f"{'query':<28}{'text':<18}{'hits':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
              + (f"{'page p95':>10}" if args.pages else "") + "  answered by")
        client = app.test_client()
        for case in CASES:
            query = SearchQuery(case.text, filters=case.filters, sort=case.sort)
            samples, outcome = timed(lambda: search_products(query), args.rounds)
            every.extend(samples)
            if not case.stress:
                shopper.extend(samples)
            line = (f"{case.label:<28}{case.text:<18}{outcome.page.total:>8}{statistics.median(samples):>9.1f}"
                    f"{percentile(samples, 0.95):>9.1f}{max(samples):>9.1f}")
            if args.pages:
                params = [("q", case.text), *(("f." + k, v) for k, vs in case.filters.items() for v in vs)]
                if case.sort != "relevance":
                    params.append(("sort", case.sort))
                url = "/search?" + urlencode(params)
                page_samples, response = timed(lambda: client.get(url), args.rounds)
                assert response.status_code == 200, (url, response.status_code)
                every_page.extend(page_samples)
                line += f"{percentile(page_samples, 0.95):>10.1f}"
            print(line + f"  {outcome.backend}{' (fell back)' if outcome.fell_back else ''}")
    print(f"\nall queries: p50 {statistics.median(every):.1f} ms, p95 {percentile(every, 0.95):.1f} ms, "
          f"max {max(every):.1f} ms")
    print(f"without stress cases: p50 {statistics.median(shopper):.1f} ms, p95 {percentile(shopper, 0.95):.1f} ms, "
          f"max {max(shopper):.1f} ms")
    if every_page:
        print(f"GET /search: p50 {statistics.median(every_page):.1f} ms, p95 {percentile(every_page, 0.95):.1f} ms, "
              f"max {max(every_page):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
