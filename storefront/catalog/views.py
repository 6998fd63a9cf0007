"""The shop's catalog pages: home, categories, products, search, wishlist and the files
crawlers read (sitemap.xml, robots.txt).

Views parse the query string or form, fetch page data through :mod:`.queries` (cached
per catalog generation by :mod:`.cache`), and render; writes go through
:mod:`.services` and redirect (post/redirect/get). Bad query strings — a price that is
not an amount, an unknown sort, a damaged page cursor — answer 400 with a message.

URL parameters of product lists: ``min`` / ``max`` (price in major units, the store
locale's notation), ``in_stock=1``, ``f.<attribute>=<value>`` (repeatable; any value of
one attribute, all attributes), ``sort`` (see :data:`queries.SORTS`) and ``after`` (the
signed cursor of the next page). Search uses ``q``, the same ``f.`` filters, ``sort``
and ``page``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence
from urllib.parse import urlencode, urljoin

from flask import (Response, current_app, flash, has_request_context, redirect, request, stream_with_context,
                   url_for)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MultiDict
from wtforms import RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..auth.views import safe_next
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..media import image_url
from ..money import MoneyParseError, parse_money
from ..plugins.types import SearchQuery
from . import bp, cache, queries, services
from .models import Product
from .queries import CategoryTree, ListingFilters, ProductDetail, VariantView
from .search import MAX_QUERY_LENGTH, search_products

#: Limits on filter parameters: more than a page could ever offer is a 400, not a big query.
MAX_FILTER_NAMES = 10
MAX_FILTER_VALUES = 30
FILTER_PREFIX = "f."
#: Search result pages are numbered; beyond this they are not worth a query.
MAX_SEARCH_PAGE = 200
SEARCH_SORTS = {"relevance": "Best match", "price_asc": "Price: low to high",
                "price_desc": "Price: high to low", "newest": "Newest"}
#: URLs per sitemap file (the sitemaps.org limit is 50,000).
SITEMAP_URLS_PER_FILE = 50_000
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
#: Seconds browsers and proxies may keep robots.txt and the sitemaps.
CRAWLER_FILES_MAX_AGE = 3600
#: Products per list on the home page.
HOME_LIST_SIZE = 8
#: Where a request keeps the category tree it already read.
TREE_KEY = "storefront.catalog.tree"


# --- shared helpers ----------------------------------------------------------------------------


def category_tree() -> CategoryTree:
    """The visible categories; read once per request (the page and the header menu both
    ask), from the cache when it is on."""
    if not has_request_context():
        return cache.remember("tree", "", queries.category_tree)
    if TREE_KEY not in request.environ:
        request.environ[TREE_KEY] = cache.remember("tree", "", queries.category_tree)
    return request.environ[TREE_KEY]


@bp.app_template_global("catalog_menu")
def catalog_menu() -> tuple[queries.CategoryNode, ...]:
    """Top-level categories for the header menu; empty (and logged) when the database
    cannot answer, so an error page still renders."""
    try:
        return category_tree().top_level
    except SQLAlchemyError:
        current_app.logger.warning("catalog menu unavailable", exc_info=True)
        db.session.rollback()
        return ()


@bp.app_template_filter("highlight")
def highlight(text: str, query: str) -> Markup:
    """``text`` escaped, with the words of ``query`` (and words they begin) in ``<mark>``."""
    terms = sorted({t for t in re.findall(r"\w+", query or "") if len(t) > 1}, key=len, reverse=True)
    if not terms:
        return escape(text)
    pattern = re.compile(r"\b(" + "|".join(re.escape(t) for t in terms) + r")", re.IGNORECASE)
    pieces, position = [], 0
    for match in pattern.finditer(text):
        pieces.append(escape(text[position:match.start()]))
        pieces.append(Markup("<mark>%s</mark>") % match.group(0))
        position = match.end()
    pieces.append(escape(text[position:]))
    return Markup("").join(pieces)


@bp.app_template_filter("stars")
def stars(rating_x100: int) -> str:
    """An average rating (x100) as "4.3" for people and machines."""
    return f"{rating_x100 / 100:.1f}"


def _config(key: str) -> Any:
    return current_app.config[key]


def _with_query(url: str, pairs: Iterable[tuple[str, str]]) -> str:
    query = urlencode(list(pairs))
    return f"{url}?{query}" if query else url


# --- parsing list parameters ---------------------------------------------------------------------


def _price(raw: str | None, what: str) -> int | None:
    if raw is None or not raw.strip():
        return None
    try:
        return parse_money(raw, _config("STORE_CURRENCY"), _config("STORE_LOCALE")).minor
    except MoneyParseError as error:
        raise InvalidInput(f"{what}: {error}") from None


def _flag(raw: str | None, what: str) -> bool:
    if raw in (None, "", "0"):
        return False
    if raw in ("1", "on", "true", "yes"):
        return True
    raise InvalidInput(f"{what} must be 1 or left out.")


def attribute_filters(args: MultiDict) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``f.<name>=<value>`` parameters as sorted (name, values) pairs; 400 when absurd."""
    chosen: dict[str, set[str]] = {}
    for key, value in args.items(multi=True):
        if not key.startswith(FILTER_PREFIX) or not value.strip():
            continue
        name = key[len(FILTER_PREFIX):].strip().lower()
        if not name or len(name) > 60 or len(value) > 120:
            raise InvalidInput("That filter is not one this shop offers.")
        chosen.setdefault(name, set()).add(value.strip())
    if len(chosen) > MAX_FILTER_NAMES or any(len(values) > MAX_FILTER_VALUES for values in chosen.values()):
        raise InvalidInput("Too many filters at once. Please choose fewer.")
    return tuple((name, tuple(sorted(values))) for name, values in sorted(chosen.items()))


def listing_filters(args: MultiDict) -> ListingFilters:
    """The filters and sort of a category page; :class:`InvalidInput` names what is wrong."""
    price_min = _price(args.get("min"), "Lowest price")
    price_max = _price(args.get("max"), "Highest price")
    if price_min is not None and price_max is not None and price_min > price_max:
        raise InvalidInput("The lowest price is above the highest price.")
    sort = args.get("sort") or "relevance"
    if sort not in queries.SORTS:
        raise InvalidInput(f"Sort by one of: {', '.join(queries.SORTS)}.")
    return ListingFilters(price_min_minor=price_min, price_max_minor=price_max,
                          in_stock=_flag(args.get("in_stock"), "In stock"),
                          attributes=attribute_filters(args), sort=sort)


def filter_pairs(args: MultiDict, filters: ListingFilters) -> list[tuple[str, str]]:
    """The query parameters that reproduce ``filters`` (prices as the shopper typed them)."""
    pairs = [(key, args[key].strip()) for key in ("min", "max") if (args.get(key) or "").strip()]
    if filters.in_stock:
        pairs.append(("in_stock", "1"))
    pairs += [(FILTER_PREFIX + name, value) for name, values in filters.attributes for value in values]
    return pairs


@dataclass(frozen=True)
class ActiveFilter:
    """A filter in force, shown as a chip that removes it."""

    label: str
    remove_url: str


def active_filters(base_url: str, pairs: list[tuple[str, str]], before: Sequence[tuple[str, str]] = (),
                   after: Sequence[tuple[str, str]] = ()) -> list[ActiveFilter]:
    """A chip per filter parameter in ``pairs``; its link keeps ``before``, the other
    filters and ``after`` (query text, sort)."""
    labels = {"min": "From {}", "max": "Up to {}", "in_stock": "In stock only"}
    chips = []
    for index, (key, value) in enumerate(pairs):
        if key.startswith(FILTER_PREFIX):
            label = f"{queries.attribute_label(key[len(FILTER_PREFIX):])}: {value}"
        else:
            label = labels[key].format(value)
        others = pairs[:index] + pairs[index + 1:]
        chips.append(ActiveFilter(label, _with_query(base_url, [*before, *others, *after])))
    return chips


# --- home and categories ------------------------------------------------------------------------


@bp.get("/")
def home():
    page = cache.remember("home", str(HOME_LIST_SIZE), lambda: queries.home_page(HOME_LIST_SIZE))
    return cache.render_page("catalog/home.html", featured=page.featured, newest=page.newest,
                             categories=category_tree().top_level)


@bp.get("/c/<slug>")
def category(slug: str):
    tree = category_tree()
    node = tree.by_slug(slug)
    if node is None:
        return _moved_or_missing("category", slug, "catalog.category", "We could not find that category.")
    args = request.args
    filters = listing_filters(args)
    token = args.get("after") or None
    after = queries.decode_cursor(token, filters.sort) if token else None
    category_ids = tree.with_descendants(node.id)
    per_page, count_limit = int(_config("CATALOG_PAGE_SIZE")), int(_config("CATALOG_COUNT_LIMIT"))
    filter_key = f"{category_ids}|{filters.price_min_minor}|{filters.price_max_minor}|{filters.in_stock}|" \
                 f"{filters.attributes}"
    summary = cache.remember("summary", f"{filter_key}|{count_limit}",
                             lambda: queries.listing_summary(category_ids, filters, count_limit=count_limit))
    cards, next_cursor = cache.remember(
        "listing", f"{filter_key}|{filters.sort}|{token}|{per_page}",
        lambda: queries.listing_page(category_ids, filters, after, per_page=per_page, summary=summary))
    base_url = url_for("catalog.category", slug=node.slug)
    pairs = filter_pairs(args, filters)
    sort_pairs = [("sort", filters.sort)] if filters.sort != "relevance" else []
    return cache.render_page(
        "catalog/category.html", category=node, breadcrumbs=tree.path(node.id)[:-1],
        subcategories=tree.subcategories(node.id), cards=cards, filters=filters, facets=summary.facets,
        total=summary.total, total_capped=summary.capped, sorts=queries.SORTS, price_min=args.get("min", ""),
        price_max=args.get("max", ""), active_filters=active_filters(base_url, pairs, after=sort_pairs),
        clear_url=_with_query(base_url, sort_pairs), first_url=_with_query(base_url, pairs + sort_pairs),
        next_url=_with_query(base_url, pairs + sort_pairs + [("after", queries.encode_cursor(next_cursor))])
        if next_cursor else None,
        is_first_page=after is None, canonical_url=url_for("catalog.category", slug=node.slug, _external=True))


def _moved_or_missing(kind: str, slug: str, endpoint: str, message: str):
    """301 to the current address of a renamed product or category; 404 otherwise."""
    current = queries.redirected_slug(kind, slug)
    if current is None:
        raise NotFound(message)
    query = request.query_string.decode("latin-1")
    return redirect(url_for(endpoint, slug=current) + (f"?{query}" if query else ""), 301)


# --- product page ------------------------------------------------------------------------------------


class ReviewForm(FlaskForm):
    rating = RadioField("Your rating", choices=[SelectChoice(n, f"{n} star{'s' if n > 1 else ''}")
                                                for n in range(5, 0, -1)], coerce=int,
                        validators=[DataRequired("Choose a rating from 1 to 5 stars.")])
    title = StringField("Title", validators=[Length(max=200)])
    body = TextAreaField("Your review", validators=[DataRequired("Please write a few words."), Length(max=5000)])


@dataclass(frozen=True)
class VariantChoice:
    """The variant a shopper picked (None when the picked options match no variant)."""

    variant: VariantView | None
    selected: dict[str, str]
    unavailable: bool


def choose_variant(detail: ProductDetail, args: MultiDict) -> VariantChoice:
    """The variant named by ``?variant=<id>``, else by option parameters (``?size=M``),
    else the product's default one."""
    raw_id = args.get("variant")
    if raw_id:
        variant = detail.variant(int(raw_id)) if raw_id.isdigit() else None
        if variant is None:
            raise InvalidInput("That option is not available for this product.")
        return VariantChoice(variant, dict(variant.options), False)
    picked = {name: args[name] for name, _ in detail.options if args.get(name)}
    if picked:
        variant = detail.matching_variant(picked)
        selected = dict(variant.options) if variant else picked
        return VariantChoice(variant, selected, variant is None)
    variant = detail.default_variant
    return VariantChoice(variant, dict(variant.options) if variant else {}, False)


def availability(variant: VariantView | None) -> tuple[str, str]:
    """(kind, label) of the stock indicator: in stock, only N left, out of stock."""
    if variant is None or variant.stock <= 0:
        return "out", "Out of stock"
    if variant.stock <= int(_config("CATALOG_FEW_LEFT")):
        return "few", f"Only {variant.stock} left"
    return "in", "In stock"


def product_json_ld(detail: ProductDetail, choice: VariantChoice, image_urls: list[str]) -> dict:
    """schema.org Product markup for search engines (rendered as application/ld+json)."""
    url = url_for("catalog.product", slug=detail.slug, _external=True)

    def offer(variant: VariantView) -> dict:
        return {"@type": "Offer", "sku": variant.sku, "price": str(variant.price.as_decimal()),
                "priceCurrency": variant.price.currency, "url": url,
                "availability": "https://schema.org/" + ("InStock" if variant.stock > 0 else "OutOfStock")}

    data: dict[str, Any] = {"@context": "https://schema.org", "@type": "Product", "name": detail.title,
                            "url": url, "description": detail.seo_description or detail.description_text[:500]}
    if image_urls:
        data["image"] = image_urls
    if detail.brand:
        data["brand"] = {"@type": "Brand", "name": detail.brand}
    if choice.variant is not None:
        data["sku"] = choice.variant.sku
    if len(detail.variants) == 1:
        data["offers"] = offer(detail.variants[0])
    elif detail.variants:
        prices = [v.price for v in detail.variants]
        data["offers"] = {"@type": "AggregateOffer", "priceCurrency": detail.price.currency,
                          "lowPrice": str(min(prices).as_decimal()), "highPrice": str(max(prices).as_decimal()),
                          "offerCount": len(detail.variants), "offers": [offer(v) for v in detail.variants]}
    if detail.rating_count:
        data["aggregateRating"] = {"@type": "AggregateRating", "ratingValue": stars(detail.rating_avg_x100),
                                   "reviewCount": detail.rating_count, "bestRating": 5, "worstRating": 1}
    if detail.reviews:
        data["review"] = [{"@type": "Review", "author": {"@type": "Person", "name": r.author_name},
                           "reviewRating": {"@type": "Rating", "ratingValue": r.rating, "bestRating": 5},
                           "name": r.title, "reviewBody": r.body, "datePublished": r.created_at.date().isoformat()}
                          for r in detail.reviews]
    return data


def product_detail_or_none(slug: str) -> ProductDetail | None:
    tree = category_tree()
    return cache.remember("product", slug, lambda: queries.product_detail(slug, tree))


@bp.get("/p/<slug>")
def product(slug: str):
    return _product_page(slug)


def _product_page(slug: str, form: ReviewForm | None = None, status: int = 200):
    detail = product_detail_or_none(slug)
    if detail is None:
        return _moved_or_missing("product", slug, "catalog.product", "We could not find that product.")
    choice = choose_variant(detail, request.args)
    signed_in = current_user.is_authenticated
    if signed_in and form is None:
        form = ReviewForm()
    return cache.render_page(
        "catalog/product.html", status=status, product=detail, choice=choice,
        availability=availability(choice.variant), review_form=form,
        in_wishlist=signed_in and queries.in_wishlist(current_user.id, detail.id),
        sign_in_url=url_for("auth.login", next=request.full_path.rstrip("?")),
        json_ld=product_json_ld(detail, choice, [urljoin(request.host_url, image_url(image.path, "large"))
                                                 for image in detail.images]),
        canonical_url=url_for("catalog.product", slug=detail.slug, _external=True))


def _active_product(slug: str) -> Product:
    product = db.session.scalar(select(Product).where(Product.slug == slug, Product.status == "active"))
    if product is None:
        raise NotFound("We could not find that product.")
    return product


def _sign_in_first(slug: str, why: str):
    flash(why, "info")
    return redirect(url_for("auth.login", next=url_for("catalog.product", slug=slug)))


@bp.post("/p/<slug>/reviews")
def submit_review(slug: str):
    if not current_user.is_authenticated:
        return _sign_in_first(slug, "Please sign in to write a review.")
    product = _active_product(slug)
    form = ReviewForm()
    if not form.validate():
        return _product_page(slug, form=form, status=400)
    # Verified-buyer needs orders, which do not exist yet: every review starts unverified.
    services.add_review(product, current_user, form.rating.data, form.title.data, form.body.data)
    flash("Thank you! Your review will appear once it has been checked.", "success")
    return redirect(url_for("catalog.product", slug=slug) + "#reviews")


# --- wishlist ----------------------------------------------------------------------------------------


@bp.post("/p/<slug>/wishlist")
def add_to_wishlist(slug: str):
    if not current_user.is_authenticated:
        return _sign_in_first(slug, "Please sign in to save products to your wishlist.")
    detail = product_detail_or_none(slug)
    if detail is None:
        raise NotFound("We could not find that product.")
    raw_variant = request.form.get("variant_id") or ""
    variant = detail.variant(int(raw_variant)) if raw_variant.isdigit() else None
    if raw_variant and variant is None:
        raise InvalidInput("That option is not available for this product.")
    services.add_to_wishlist(current_user, detail.id, variant.id if variant else None)
    flash(f"{detail.title} is in your wishlist.", "success")
    back = url_for("catalog.product", slug=slug)
    return redirect(_with_query(back, [("variant", str(variant.id))] if variant else []))


@bp.post("/account/wishlist/remove")
@login_required
def remove_from_wishlist():
    raw_id = request.form.get("product_id") or ""
    if not raw_id.isdigit():
        raise InvalidInput("Choose a product to remove.")
    # Only the signed-in shopper's own entry can go: the service filters by owner.
    services.remove_from_wishlist(current_user, int(raw_id))
    flash("Removed from your wishlist.", "info")
    return redirect(safe_next(request.form.get("next"), url_for("catalog.wishlist")))


@bp.get("/account/wishlist")
@login_required
def wishlist():
    return cache.render_page("catalog/wishlist.html", cards=queries.wishlist_cards(current_user.id))


# --- search ------------------------------------------------------------------------------------------


def _search_page_number(raw: str | None) -> int:
    if raw in (None, ""):
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_SEARCH_PAGE:
        raise InvalidInput(f"Page must be a number from 1 to {MAX_SEARCH_PAGE}.")
    return int(raw)


@bp.get("/search")
def search():
    args = request.args
    text = (args.get("q") or "").strip()[:MAX_QUERY_LENGTH]
    sort = args.get("sort") or "relevance"
    if sort not in SEARCH_SORTS:
        raise InvalidInput(f"Sort by one of: {', '.join(SEARCH_SORTS)}.")
    page_number = _search_page_number(args.get("page"))
    filters = attribute_filters(args)
    per_page = int(_config("CATALOG_PAGE_SIZE"))
    query = SearchQuery(text=text, filters=dict(filters), page=page_number, per_page=per_page, sort=sort)
    results = None
    if text:
        results = cache.remember("search", repr(query), lambda: _search_results(query))
    base_url = url_for("catalog.search")
    filter_args = [(FILTER_PREFIX + name, value) for name, values in filters for value in values]
    pairs = [("q", text), *filter_args]
    sort_pairs = [("sort", sort)] if sort != "relevance" else []
    has_next = results is not None and page_number * per_page < results.total and page_number < MAX_SEARCH_PAGE
    return cache.render_page(
        "catalog/search.html", q=text, results=results, sort=sort, sorts=SEARCH_SORTS,
        selected=ListingFilters(attributes=filters).selected, filter_args=filter_args, page_number=page_number,
        active_filters=active_filters(base_url, filter_args, before=[("q", text)], after=sort_pairs),
        previous_url=_with_query(base_url, pairs + sort_pairs + ([("page", str(page_number - 1))]
                                                                  if page_number > 2 else []))
        if page_number > 1 else None,
        next_url=_with_query(base_url, pairs + sort_pairs + [("page", str(page_number + 1))]) if has_next else None,
        canonical_url=_with_query(url_for("catalog.search", _external=True), [("q", text)] if text else []))


def _search_results(query: SearchQuery) -> queries.SearchResults:
    outcome = search_products(query)
    return queries.SearchResults(cards=queries.cards_by_ids(list(outcome.page.product_ids)),
                                 total=outcome.page.total, facets=outcome.page.facets, backend=outcome.backend,
                                 fell_back=outcome.fell_back, capped=outcome.page.capped)


# --- crawlers ------------------------------------------------------------------------------------------


@bp.get("/robots.txt")
def robots_txt():
    lines = ["User-agent: *", "Disallow: /account", "Disallow: /admin", "Disallow: /search", "",
             f"Sitemap: {url_for('catalog.sitemap', _external=True)}", ""]
    return cache.cacheable_response(Response("\n".join(lines), mimetype="text/plain"), CRAWLER_FILES_MAX_AGE)


def _xml_escape(text: str) -> str:
    return str(escape(text))


def _urlset(entries: Iterator[tuple[str, Any]]) -> Iterator[str]:
    yield f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}">\n'
    for location, modified in entries:
        lastmod = f"<lastmod>{modified.date().isoformat()}</lastmod>" if modified else ""
        yield f"<url><loc>{_xml_escape(location)}</loc>{lastmod}</url>\n"
    yield "</urlset>\n"


def _category_locations() -> Iterator[tuple[str, Any]]:
    for node in category_tree().nodes.values():
        yield url_for("catalog.category", slug=node.slug, _external=True), None


def _product_locations(first_id: int, last_id: int) -> Iterator[tuple[str, Any]]:
    for entry in queries.sitemap_products(first_id, last_id):
        yield url_for("catalog.product", slug=entry.slug, _external=True), entry.updated_at


def _xml(body: Iterator[str]) -> Response:
    return cache.cacheable_response(Response(stream_with_context(body), mimetype="application/xml"),
                                    CRAWLER_FILES_MAX_AGE)


@bp.get("/sitemap.xml")
def sitemap():
    """Every visible category and active product. Up to one file's worth of products it
    is one streamed ``urlset``; beyond, a sitemap index of files by product-id range."""
    highest = queries.highest_product_id()
    if highest + len(category_tree().nodes) <= SITEMAP_URLS_PER_FILE:
        def everything() -> Iterator[tuple[str, Any]]:
            yield from _category_locations()
            yield from _product_locations(1, highest)

        return _xml(_urlset(everything()))
    files = [url_for("catalog.sitemap_categories", _external=True)]
    files += [url_for("catalog.sitemap_products", number=n, _external=True)
              for n in range(1, (highest - 1) // SITEMAP_URLS_PER_FILE + 2)]
    body = "".join(f"<sitemap><loc>{_xml_escape(f)}</loc></sitemap>\n" for f in files)
    return _xml(iter([f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">\n',
                      body, "</sitemapindex>\n"]))


@bp.get("/sitemaps/categories.xml")
def sitemap_categories():
    return _xml(_urlset(_category_locations()))


@bp.get("/sitemaps/products-<int:number>.xml")
def sitemap_products(number: int):
    if number < 1:
        raise NotFound()
    first = (number - 1) * SITEMAP_URLS_PER_FILE + 1
    return _xml(_urlset(_product_locations(first, first + SITEMAP_URLS_PER_FILE - 1)))
