"""Read-side queries for the shop's catalog pages: plain data in, plain data out.

Everything here returns frozen dataclasses (never ORM objects), so results can be cached
(:mod:`storefront.catalog.cache`) and templates only present them. Shoppers only ever see
``active`` products in visible categories.

Speed rules, because category pages must stay fast with a very large catalog:

* lists read the denormalised, indexed product columns (``status``, ``price_min_minor``,
  ``created_at``, ``rating_avg_x100``, ``in_stock``) and the category-first index of
  ``product_categories``; a category page includes its subcategories through the
  descendant ids of the (small, cached) category tree;
* pagination is keyset ("after this sort key and id"), never OFFSET, with the position
  in a signed cursor token (:func:`encode_cursor`);
* counts and facet counts look at no more than ``count_limit`` products, so a category
  of a million products costs the same as one of a thousand;
* the query plan is chosen here rather than left to MariaDB's optimiser, which tends to
  scan every active product and probe the category: a page is read by its known ids
  (short lists), from the category's members (categories up to
  :data:`MEMBERS_READ_LIMIT`), or by walking the sort's index (big categories);
* every page costs a small constant number of statements whatever its product count:
  cards are one query for the products and one for their images.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from html import unescape
from typing import Any, Iterator, Mapping, Sequence

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import selectinload

from ..errors import InvalidInput
from ..extensions import db
from ..money import Money
from ..plugins.types import Facet, FacetValue
from .models import (Category, Product, ProductAttribute, ProductImage, Review, SlugRedirect, WishlistItem,
                     product_categories)

#: Approved reviews shown on a product page (newest first).
REVIEWS_SHOWN = 20
#: Related products shown on a product page.
RELATED_SHOWN = 4
#: Facet rows read per facet query, and values shown per facet.
FACET_ROWS = 500
FACET_VALUES_SHOWN = 30
#: Matches whose attributes give a capped list's facet values (shown without counts).
FACET_SAMPLE = 300
#: Clothing sizes sort in this order in facets and pickers, before any other value.
SIZE_ORDER = ("XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL")
CURSOR_SALT = "storefront.catalog.cursor"


# --- plain data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageRef:
    """A product image: its storage key (give it to ``image_url()``) and alt text."""

    path: str
    alt: str
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class ProductCard:
    """What a product list shows for one product."""

    id: int
    slug: str
    title: str
    brand: str
    price: Money
    in_stock: bool
    rating_avg_x100: int
    rating_count: int
    image: ImageRef | None


@dataclass(frozen=True)
class CategoryNode:
    id: int
    parent_id: int | None
    slug: str
    name: str
    description: str
    image_path: str | None


@dataclass(frozen=True)
class CategoryTree:
    """Every visible category (active, under active parents), in display order."""

    nodes: Mapping[int, CategoryNode]
    children: Mapping[int | None, tuple[int, ...]]

    @property
    def top_level(self) -> tuple[CategoryNode, ...]:
        return tuple(self.nodes[i] for i in self.children.get(None, ()))

    def by_slug(self, slug: str) -> CategoryNode | None:
        return next((node for node in self.nodes.values() if node.slug == slug), None)

    def subcategories(self, category_id: int) -> tuple[CategoryNode, ...]:
        return tuple(self.nodes[i] for i in self.children.get(category_id, ()))

    def with_descendants(self, category_id: int) -> tuple[int, ...]:
        """The category's id and those of all visible categories below it."""
        found, pending = [], [category_id]
        while pending:
            current = pending.pop()
            found.append(current)
            pending.extend(self.children.get(current, ()))
        return tuple(found)

    def path(self, category_id: int) -> tuple[CategoryNode, ...]:
        """From the top-level category down to this one (breadcrumbs)."""
        trail: list[CategoryNode] = []
        node = self.nodes.get(category_id)
        while node is not None and node not in trail:
            trail.append(node)
            node = self.nodes.get(node.parent_id) if node.parent_id is not None else None
        return tuple(reversed(trail))


@dataclass(frozen=True)
class SortOrder:
    """A way to order product lists: ``keys`` are (Product column name, descending) pairs,
    ending with ``id`` so the order is total (which keyset pagination needs); ``index`` is
    the ``products`` index holding ``status`` followed by those keys (see the models).

    ``featured_first`` orders by ``featured`` (the first key) before the others; no index
    serves that, so a walk takes the featured products through their own index first.
    """

    label: str
    keys: tuple[tuple[str, bool], ...]
    index: str
    featured_first: bool = False


SORTS: dict[str, SortOrder] = {
    "relevance": SortOrder("Featured", (("featured", True), ("created_at", True), ("id", True)),
                           "ix_products_status_created", featured_first=True),
    "price_asc": SortOrder("Price: low to high", (("price_min_minor", False), ("id", False)),
                           "ix_products_status_price"),
    "price_desc": SortOrder("Price: high to low", (("price_min_minor", True), ("id", True)),
                            "ix_products_status_price"),
    "newest": SortOrder("Newest", (("created_at", True), ("id", True)), "ix_products_status_created"),
    "rating": SortOrder("Top rated", (("rating_avg_x100", True), ("id", True)), "ix_products_status_rating"),
}
#: Featured products in sort order. Filters on booleans are written ``== true()``, never
#: ``.is_(True)``: MariaDB cannot use an index for ``IS TRUE`` and scans the table instead.
FEATURED_INDEX = "ix_products_featured_status_created"


@dataclass(frozen=True)
class ListingFilters:
    """What a shopper narrowed a category page to. ``attributes`` pairs a lower-case
    attribute name with the accepted values (any of them); names are sorted so equal
    filters make equal cache keys."""

    price_min_minor: int | None = None
    price_max_minor: int | None = None
    in_stock: bool = False
    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    sort: str = "relevance"

    def selected(self, name: str) -> tuple[str, ...]:
        return next((values for key, values in self.attributes if key == name), ())

    @property
    def narrowed(self) -> bool:
        return bool(self.attributes or self.in_stock or self.price_min_minor is not None
                    or self.price_max_minor is not None)


@dataclass(frozen=True)
class Cursor:
    """A position in a sorted list: the sort and the last shown product's sort values."""

    sort: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class ListingSummary:
    """What a filtered product list is like, whatever its sort and page."""

    #: Matching products, at most the count limit ...
    total: int
    #: ... and whether there were more (show "more than N"; facet counts are partial).
    capped: bool
    facets: tuple[Facet, ...]
    #: Products filed in the category and its subcategories (an upper bound: a product
    #: in two of them counts twice); it decides how pages are read.
    category_size: int
    #: The matching products' ids when not capped (pages are then read by id).
    matching_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class VariantView:
    id: int
    sku: str
    options: tuple[tuple[str, str], ...]
    price: Money
    compare_at: Money | None
    stock: int

    @property
    def label(self) -> str:
        return " / ".join(value for _, value in self.options) or "Standard"

    def option(self, name: str) -> str | None:
        return dict(self.options).get(name)


@dataclass(frozen=True)
class ReviewView:
    author_name: str
    rating: int
    title: str
    body: str
    verified_buyer: bool
    created_at: datetime


@dataclass(frozen=True)
class ProductDetail:
    """Everything a product page shows that is the same for every shopper."""

    id: int
    slug: str
    title: str
    brand: str
    description_html: str
    description_text: str
    seo_title: str
    seo_description: str
    price: Money
    in_stock: bool
    rating_avg_x100: int
    rating_count: int
    images: tuple[ImageRef, ...]
    variants: tuple[VariantView, ...]
    #: Option names and their values in the order the variants list them.
    options: tuple[tuple[str, tuple[str, ...]], ...]
    #: The product's own facts (material: linen), not variant options.
    attributes: tuple[tuple[str, tuple[str, ...]], ...]
    breadcrumbs: tuple[CategoryNode, ...]
    reviews: tuple[ReviewView, ...]
    related: tuple[ProductCard, ...]
    updated_at: datetime

    def variant(self, variant_id: int) -> VariantView | None:
        return next((v for v in self.variants if v.id == variant_id), None)

    def matching_variant(self, chosen: Mapping[str, str]) -> VariantView | None:
        """The variant whose options include every chosen ``name: value``."""
        return next((v for v in self.variants if all(v.option(k) == val for k, val in chosen.items())), None)

    @property
    def default_variant(self) -> VariantView | None:
        """The first variant in stock, else the first variant."""
        return next((v for v in self.variants if v.stock > 0), self.variants[0] if self.variants else None)


@dataclass(frozen=True)
class HomePage:
    featured: tuple[ProductCard, ...]
    newest: tuple[ProductCard, ...]


@dataclass(frozen=True)
class SitemapEntry:
    slug: str
    updated_at: datetime | None = None


@dataclass(frozen=True)
class SearchResults:
    cards: tuple[ProductCard, ...]
    total: int
    facets: tuple[Facet, ...] = ()
    backend: str = ""
    fell_back: bool = False
    #: ``total`` counts only the backend's most relevant hits; there are more.
    capped: bool = False


# --- cursors --------------------------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=CURSOR_SALT)


def encode_cursor(cursor: Cursor) -> str:
    """A URL-safe, signed token for ``cursor`` (shoppers cannot forge positions)."""
    values = [v.isoformat() if isinstance(v, datetime) else int(v) for v in cursor.values]
    return _serializer().dumps([cursor.sort, values])


def decode_cursor(token: str, sort: str) -> Cursor:
    """The cursor in ``token``; :class:`InvalidInput` when it was altered or belongs to
    another sort order."""
    message = "That page link is damaged or out of date. Please start again from the first page."
    try:
        sort_name, values = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        raise InvalidInput(message) from None
    order = SORTS.get(sort)
    if sort_name != sort or order is None or len(values) != len(order.keys):
        raise InvalidInput(message)
    try:
        typed = tuple(datetime.fromisoformat(v) if name == "created_at" else int(v)
                      for (name, _), v in zip(order.keys, values))
    except (TypeError, ValueError):
        raise InvalidInput(message) from None
    return Cursor(sort, typed)


# --- categories ------------------------------------------------------------------------------------


def category_tree() -> CategoryTree:
    """Every visible category: active and under active parents (one query)."""
    rows = db.session.execute(select(Category.id, Category.parent_id, Category.slug, Category.name,
                                     Category.description, Category.image_path, Category.active)
                              .order_by(Category.position, Category.name, Category.id)).all()
    by_id = {row.id: row for row in rows}
    known: dict[int, bool] = {}

    def visible(row: Any, seen: frozenset[int] = frozenset()) -> bool:
        if row.id not in known:
            if not row.active or row.id in seen:  # inactive, or a cycle in bad data
                known[row.id] = False
            elif row.parent_id is None:
                known[row.id] = True
            else:
                parent = by_id.get(row.parent_id)
                known[row.id] = parent is not None and visible(parent, seen | {row.id})
        return known[row.id]

    nodes: dict[int, CategoryNode] = {}
    children: dict[int | None, list[int]] = {}
    for row in rows:
        if visible(row):
            nodes[row.id] = CategoryNode(row.id, row.parent_id, row.slug, row.name, row.description or "",
                                         row.image_path)
            children.setdefault(row.parent_id, []).append(row.id)
    return CategoryTree(nodes, {parent: tuple(ids) for parent, ids in children.items()})


def redirected_slug(kind: str, old_slug: str) -> str | None:
    """The current slug of the product or category that used to be ``old_slug``."""
    target_id = db.session.scalar(select(SlugRedirect.target_id)
                                  .where(SlugRedirect.kind == kind, SlugRedirect.old_slug == old_slug))
    if target_id is None:
        return None
    if kind == "product":
        return db.session.scalar(select(Product.slug).where(Product.id == target_id, Product.status == "active"))
    return db.session.scalar(select(Category.slug).where(Category.id == target_id, Category.active == true()))


# --- product lists -----------------------------------------------------------------------------------

_CARD_COLUMNS = (Product.id, Product.slug, Product.title, Product.brand, Product.price_min_minor,
                 Product.currency, Product.in_stock, Product.rating_avg_x100, Product.rating_count,
                 Product.featured, Product.created_at)


#: A category of up to this many products is listed by reading all of its members and
#: sorting the matches: the cost grows with the category, never with the catalog, and
#: does not depend on how its products spread over the sort order. A bigger category is
#: listed by walking the sort's index and checking each product's membership, which
#: stops after one page because its products are plentiful.
MEMBERS_READ_LIMIT = 5000


def _straight(query: Select) -> Select:
    """Join tables in the order written (MariaDB's ``STRAIGHT_JOIN``): its optimiser
    otherwise tends to scan every active product and probe the category."""
    return query.prefix_with("STRAIGHT_JOIN", dialect="mysql").prefix_with("STRAIGHT_JOIN", dialect="mariadb")


def _force_index(query: Select, index: str) -> Select:
    for dialect in ("mysql", "mariadb"):
        query = query.with_hint(Product, f"FORCE INDEX ({index})", dialect)
    return query


def _probe(column: Any, *where: ColumnElement[bool]) -> ColumnElement[bool]:
    """``EXISTS`` a row for this product: a primary-key probe per product. The
    ``LIMIT 1`` keeps MariaDB from turning it into a set it builds first."""
    return select(column).where(column == Product.id, *where).limit(1).exists()


def _listing(columns: Sequence[Any], category_ids: Sequence[int], filters: ListingFilters, *,
             walk: str | None = None, skip_attribute: str | None = None) -> Select:
    """SELECT ``columns`` of the active products in these categories matching ``filters``
    (leaving out the filter on attribute ``skip_attribute``).

    Read from the category's members (default), or, with ``walk`` naming an index, by
    walking that index and probing membership per product (see MEMBERS_READ_LIMIT).
    """
    conditions: list[ColumnElement[bool]] = [Product.status == "active"]
    if filters.price_min_minor is not None:
        conditions.append(Product.price_min_minor >= filters.price_min_minor)
    if filters.price_max_minor is not None:
        conditions.append(Product.price_min_minor <= filters.price_max_minor)
    if filters.in_stock:
        conditions.append(Product.in_stock == true())
    for name, values in filters.attributes:
        if name != skip_attribute:
            # Any of the values of one attribute; all of the attributes (the usual facet logic).
            conditions.append(_probe(ProductAttribute.product_id, ProductAttribute.name == name,
                                     ProductAttribute.value.in_(values)))
    if walk is not None:
        in_category = _probe(product_categories.c.product_id, product_categories.c.category_id.in_(category_ids))
        return _force_index(select(*columns).where(*conditions, in_category), walk)
    members = (select(product_categories.c.product_id).where(product_categories.c.category_id.in_(category_ids))
               .distinct().subquery("members"))
    return _straight(select(*columns).select_from(members).join(Product, Product.id == members.c.product_id)
                     .where(*conditions))


def _strictly_after(keys: Sequence[tuple[str, bool]], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows after ``values`` in the ``keys`` order: (k1 > v1) or (k1 = v1 and k2 > v2) …,
    with the leading ``k1 >= v1`` spelled out so the database scans an index range."""
    columns = [(getattr(Product, name), descending) for name, descending in keys]
    branches = []
    for position, (column, descending) in enumerate(columns):
        equal_before = [columns[i][0] == values[i] for i in range(position)]
        beyond = column < values[position] if descending else column > values[position]
        branches.append(and_(*equal_before, beyond))
    first, first_descending = columns[0]
    bound = first <= values[0] if first_descending else first >= values[0]
    return and_(bound, or_(*branches))


def _page_rows(query: Select, keys: Sequence[tuple[str, bool]], after: Sequence[Any] | None,
               limit: int) -> list[Any]:
    if after is not None:
        query = query.where(_strictly_after(keys, after))
    order = [getattr(Product, name).desc() if descending else getattr(Product, name) for name, descending in keys]
    return list(db.session.execute(query.order_by(*order).limit(limit)).all())


def listing_page(category_ids: Sequence[int], filters: ListingFilters, after: Cursor | None, *, per_page: int,
                 summary: ListingSummary) -> tuple[tuple[ProductCard, ...], Cursor | None]:
    """One page of products and the cursor of the next page (None on the last).

    ``summary`` (from :func:`listing_summary`) chooses how the page is read: a list of
    at most the count limit is read by its known ids; a longer one in a big category is
    walked in sort order; anything else is read from the category's members (see
    :data:`MEMBERS_READ_LIMIT`).
    """
    order = SORTS[filters.sort]
    limit = per_page + 1  # one more tells whether a next page exists
    position = after.values if after else None
    if not summary.capped:
        known = select(*_CARD_COLUMNS).where(Product.id.in_(summary.matching_ids), Product.status == "active")
        rows = _page_rows(known, order.keys, position, limit) if summary.matching_ids else []
    elif summary.category_size <= MEMBERS_READ_LIMIT:
        rows = _page_rows(_listing(_CARD_COLUMNS, category_ids, filters), order.keys, position, limit)
    elif not order.featured_first:
        rows = _page_rows(_listing(_CARD_COLUMNS, category_ids, filters, walk=order.index), order.keys, position,
                          limit)
    else:
        # Featured products first, through their own (selective) index, then the rest.
        rest_keys, in_featured = order.keys[1:], position is None or bool(position[0])
        rows = []
        if in_featured:
            rows = _page_rows(_listing(_CARD_COLUMNS, category_ids, filters, walk=FEATURED_INDEX)
                              .where(Product.featured == true()), rest_keys, position and position[1:], limit)
        if len(rows) < limit:
            rows += _page_rows(_listing(_CARD_COLUMNS, category_ids, filters, walk=order.index)
                               .where(Product.featured == false()), rest_keys,
                               None if in_featured else position[1:], limit - len(rows))
    if len(rows) <= per_page:
        return _cards_from_rows(rows), None
    last = rows[per_page - 1]
    return (_cards_from_rows(rows[:per_page]),
            Cursor(filters.sort, tuple(getattr(last, name) for name, _ in order.keys)))


def listing_summary(category_ids: Sequence[int], filters: ListingFilters, *, count_limit: int) -> ListingSummary:
    """The (capped) total, the facets, the category size and — for a list of at most
    ``count_limit`` — the matching ids of a filtered list.

    Counting reads at most ``count_limit + 1`` matching ids, so a huge category costs the
    same as one of ``count_limit`` products. Facet counts are exact for a list that was
    not capped; a capped list shows its facets' common values without numbers, taken
    from its first :data:`FACET_SAMPLE` matches. A facet the shopper filters on is counted
    without its own filter (so its other values stay choosable): one more query each.
    """
    ids = list(db.session.scalars(_listing([Product.id], category_ids, filters).limit(count_limit + 1)))
    capped = len(ids) > count_limit
    sample = ids[:FACET_SAMPLE] if capped else ids
    facet_rows: list[tuple[str, str, int]] = []
    if sample:
        query = (select(ProductAttribute.name, ProductAttribute.value, func.count().label("count"))
                 .where(ProductAttribute.product_id.in_(sample))
                 .group_by(ProductAttribute.name, ProductAttribute.value)
                 .order_by(func.count().desc()).limit(FACET_ROWS))
        facet_rows = [(row.name, row.value, row.count) for row in db.session.execute(query)
                      if not filters.selected(row.name)]
    for name, _ in filters.attributes:
        facet_rows += _facet_rows(category_ids, filters, count_limit, name)
    size = db.session.scalar(select(func.count()).select_from(product_categories)
                             .where(product_categories.c.category_id.in_(category_ids))) or 0
    return ListingSummary(total=min(len(ids), count_limit), capped=capped, facets=_facets(facet_rows, filters),
                          category_size=size, matching_ids=() if capped else tuple(ids))


def _facet_rows(category_ids: Sequence[int], filters: ListingFilters, count_limit: int,
                name: str) -> list[tuple[str, str, int]]:
    """(name, value, count) of attribute ``name`` among at most ``count_limit`` products
    matching every filter but the one on ``name``."""
    matching = (_listing([Product.id.label("product_id")], category_ids, filters, skip_attribute=name)
                .limit(count_limit).subquery())
    query = (_straight(select(ProductAttribute.name, ProductAttribute.value, func.count().label("count"))
                       .select_from(matching)
                       .join(ProductAttribute, ProductAttribute.product_id == matching.c.product_id))
             .where(ProductAttribute.name == name)
             .group_by(ProductAttribute.name, ProductAttribute.value).order_by(func.count().desc()).limit(FACET_ROWS))
    return [(row.name, row.value, row.count) for row in db.session.execute(query)]


def value_order(value: str) -> tuple:
    """Sort key for attribute values: known sizes in size order, numbers by value."""
    upper = value.upper()
    if upper in SIZE_ORDER:
        return (0, SIZE_ORDER.index(upper))
    return (1, [(0, int(part), "") if part.isdigit() else (1, 0, part.lower())
                for part in re.split(r"(\d+)", value) if part])


def attribute_label(name: str) -> str:
    return name.replace("_", " ").replace("-", " ").capitalize()


def _facets(rows: Sequence[tuple[str, str, int]], filters: ListingFilters) -> tuple[Facet, ...]:
    """Facets from (name, value, count) rows: per attribute the most common values, plus
    every value the shopper picked, in a natural order."""
    grouped: dict[str, list[tuple[str, str, int]]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    facets = []
    for name in sorted(grouped):
        picked = set(filters.selected(name))
        top = sorted(grouped[name], key=lambda row: -row[2])
        kept = top[:FACET_VALUES_SHOWN] + [row for row in top[FACET_VALUES_SHOWN:] if row[1] in picked]
        values = tuple(FacetValue(value, value, count) for _, value, count in sorted(kept, key=lambda r: value_order(r[1])))
        facets.append(Facet(name, attribute_label(name), values))
    return tuple(facets)


def _first_images(product_ids: Sequence[int]) -> dict[int, ImageRef]:
    if not product_ids:
        return {}
    rows = db.session.execute(select(ProductImage.product_id, ProductImage.path, ProductImage.alt,
                                     ProductImage.width, ProductImage.height)
                              .where(ProductImage.product_id.in_(product_ids))
                              .order_by(ProductImage.product_id, ProductImage.position, ProductImage.id)).all()
    first: dict[int, ImageRef] = {}
    for row in rows:
        first.setdefault(row.product_id, ImageRef(row.path, row.alt, row.width, row.height))
    return first


def _cards_from_rows(rows: Sequence[Any]) -> tuple[ProductCard, ...]:
    images = _first_images([row.id for row in rows])
    return tuple(ProductCard(id=row.id, slug=row.slug, title=row.title, brand=row.brand or "",
                             price=Money(int(row.price_min_minor or 0), row.currency), in_stock=bool(row.in_stock),
                             rating_avg_x100=row.rating_avg_x100 or 0, rating_count=row.rating_count or 0,
                             image=images.get(row.id))
                 for row in rows)


def cards_by_ids(product_ids: Sequence[int]) -> tuple[ProductCard, ...]:
    """Cards of the active ones among ``product_ids``, in the given order."""
    if not product_ids:
        return ()
    rows = db.session.execute(select(*_CARD_COLUMNS).where(Product.id.in_(list(product_ids)),
                                                           Product.status == "active")).all()
    by_id = {row.id: row for row in rows}
    return _cards_from_rows([by_id[i] for i in product_ids if i in by_id])


def home_page(per_list: int) -> HomePage:
    """Featured products and the newest ones (each newest first)."""
    newest_first = (Product.created_at.desc(), Product.id.desc())
    featured = db.session.execute(select(*_CARD_COLUMNS)
                                  .where(Product.status == "active", Product.featured == true())
                                  .order_by(*newest_first).limit(per_list)).all()
    newest = db.session.execute(select(*_CARD_COLUMNS).where(Product.status == "active")
                                .order_by(*newest_first).limit(per_list)).all()
    cards = {card.id: card for card in _cards_from_rows([*featured, *newest])}
    return HomePage(featured=tuple(cards[row.id] for row in featured),
                    newest=tuple(cards[row.id] for row in newest))


# --- product page ------------------------------------------------------------------------------------


def product_detail(slug: str, tree: CategoryTree) -> ProductDetail | None:
    """The product page of the *active* product ``slug``; None for a draft, archived or
    unknown one."""
    product = db.session.scalar(select(Product).where(Product.slug == slug, Product.status == "active")
                                .options(selectinload(Product.variants), selectinload(Product.images),
                                         selectinload(Product.categories), selectinload(Product.attributes)))
    if product is None:
        return None
    variants = tuple(
        VariantView(v.id, v.sku, tuple((v.options or {}).items()), Money(v.price_minor, v.currency),
                    Money(v.compare_at_minor, v.currency) if v.compare_at_minor and v.compare_at_minor > v.price_minor
                    else None, v.stock)
        for v in product.variants if v.active)
    option_values: dict[str, list[str]] = {}
    for variant in variants:
        for name, value in variant.options:
            if value not in option_values.setdefault(name, []):
                option_values[name].append(value)
    own: dict[str, list[str]] = {}
    for attribute in product.attributes:
        if not attribute.from_variant:
            own.setdefault(attribute.name, []).append(attribute.value)
    category_ids = [c.id for c in product.categories if c.id in tree.nodes]
    reviews = db.session.scalars(select(Review).where(Review.product_id == product.id, Review.status == "approved")
                                 .order_by(Review.created_at.desc(), Review.id.desc()).limit(REVIEWS_SHOWN)).all()
    related: tuple[ProductCard, ...] = ()
    if category_ids:
        # The newest neighbours (highest ids) straight from the category-first index: a
        # bounded read whatever the size of the category; drafts among them are skipped.
        neighbours = (select(product_categories.c.product_id)
                      .where(product_categories.c.category_id.in_(category_ids),
                             product_categories.c.product_id != product.id)
                      .distinct().order_by(product_categories.c.product_id.desc()).limit(RELATED_SHOWN * 3)
                      .subquery())
        related = _cards_from_rows(db.session.execute(
            select(*_CARD_COLUMNS).join(neighbours, neighbours.c.product_id == Product.id)
            .where(Product.status == "active").order_by(Product.id.desc()).limit(RELATED_SHOWN)).all())
    return ProductDetail(
        id=product.id, slug=product.slug, title=product.title, brand=product.brand or "",
        description_html=product.description_html or "", description_text=_plain_text(product.description_html),
        seo_title=product.seo_title or "", seo_description=product.seo_description or "",
        price=Money(product.price_min_minor or 0, product.currency), in_stock=bool(product.in_stock),
        rating_avg_x100=product.rating_avg_x100 or 0, rating_count=product.rating_count or 0,
        images=tuple(ImageRef(i.path, i.alt or product.title, i.width, i.height) for i in product.images),
        variants=variants,
        options=tuple((name, tuple(sorted(values, key=value_order))) for name, values in option_values.items()),
        attributes=tuple((name, tuple(values)) for name, values in sorted(own.items())),
        breadcrumbs=tree.path(category_ids[0]) if category_ids else (),
        reviews=tuple(ReviewView(r.author_name or "A customer", r.rating, r.title, r.body, r.verified_buyer,
                                 r.created_at) for r in reviews),
        related=related, updated_at=product.updated_at)


def _plain_text(html: str | None, limit: int = 5000) -> str:
    """Sanitised description HTML as plain text (for JSON-LD and meta descriptions):
    block tags become spaces, inline tags vanish ("Soft <b>linen</b>." → "Soft linen.")."""
    text = re.sub(r"</?(?:p|br|li|ul|ol|h[1-6]|blockquote|pre|table|thead|tbody|tr|td|th|hr)\b[^>]*>", " ",
                  html or "")
    text = unescape(re.sub(r"<[^>]+>", "", text))
    return re.sub(r"\s+", " ", text).strip()[:limit]


# --- wishlists ------------------------------------------------------------------------------------------


def wishlist_cards(user_id: int) -> tuple[ProductCard, ...]:
    """The user's saved products that are still for sale, most recently saved first."""
    ids = db.session.scalars(select(WishlistItem.product_id).where(WishlistItem.user_id == user_id)
                             .order_by(WishlistItem.created_at.desc(), WishlistItem.id.desc())).all()
    return cards_by_ids(list(ids))


def in_wishlist(user_id: int, product_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(WishlistItem.user_id == user_id,
                                                        WishlistItem.product_id == product_id))))


# --- sitemap ----------------------------------------------------------------------------------------------


def highest_product_id() -> int:
    return db.session.scalar(select(func.max(Product.id))) or 0


def sitemap_products(first_id: int, last_id: int, batch: int = 1000) -> Iterator[SitemapEntry]:
    """Active products with ids in ``[first_id, last_id]``, read ``batch`` at a time by
    id (keyset), so a huge catalog streams in constant memory."""
    after = first_id - 1
    while True:
        rows = db.session.execute(select(Product.id, Product.slug, Product.updated_at)
                                  .where(Product.status == "active", Product.id > after, Product.id <= last_id)
                                  .order_by(Product.id).limit(batch)).all()
        for row in rows:
            yield SitemapEntry(row.slug, row.updated_at)
        if len(rows) < batch:
            return
        after = rows[-1].id
