"""Values and interfaces that cross the plugin boundary.

Everything a hook receives or returns is defined here: frozen dataclasses for data
(immutable, so a plugin cannot change the core's view of a cart behind its back) and
:class:`typing.Protocol` classes for the provider objects plugins return (payment
gateways, search backends). Money is always :class:`storefront.money.Money`.

The domain errors at the end are what the core raises to its callers when a plugin
fails; plugins may raise :class:`PluginFailure` themselves to report a clean failure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, ClassVar, Iterable, Iterator, Literal, Mapping, Protocol, runtime_checkable

from markupsafe import Markup

from ..errors import StorefrontError
from ..money import Money

# --- places and goods ----------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    """Where goods go. ``country`` is an ISO 3166-1 alpha-2 code in upper case ("DE")."""

    country: str
    postal_code: str = ""
    city: str = ""
    region: str = ""

    def __post_init__(self) -> None:
        if len(self.country) != 2 or not self.country.isalpha() or not self.country.isupper():
            raise ValueError(f"country must be an upper-case ISO 3166 code like 'DE', got {self.country!r}")


@dataclass(frozen=True)
class Line:
    """One cart or order line as plugins see it: what, how many, at what unit price."""

    sku: str
    quantity: int
    unit_price: Money
    #: Shipping weight of one unit in grams (0 when the product has none).
    weight_grams: int = 0
    product_id: int | None = None

    @property
    def total(self) -> Money:
        return self.unit_price * self.quantity


# --- shipping ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ShippingRequest:
    """A cart about to ship: its lines, the destination and the goods' subtotal."""

    lines: tuple[Line, ...]
    destination: Address
    subtotal: Money

    @property
    def weight_grams(self) -> int:
        return sum(line.weight_grams * line.quantity for line in self.lines)

    def subtotal_reaches(self, threshold_minor: int | None) -> bool:
        """Whether the subtotal reaches ``threshold_minor`` minor units of its currency
        (a "free shipping from" setting; None never does)."""
        return threshold_minor is not None and self.subtotal >= Money(threshold_minor, self.subtotal.currency)


@dataclass(frozen=True)
class ShippingQuote:
    """One shipping option offered to the shopper.

    ``id`` is ``"<plugin>:<code>"`` and must be stable: checkout re-quotes when the
    order is placed and matches the shopper's choice by id, never by price.
    """

    id: str
    label: str
    price: Money
    #: Estimated days to delivery, when the plugin knows.
    eta_days: int | None = None

    def __post_init__(self) -> None:
        plugin, _, code = self.id.partition(":")
        if not plugin or not code:
            raise ValueError(f"ShippingQuote.id must look like '<plugin>:<code>', got {self.id!r}")


# --- tax ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaxRequest:
    """What tax is computed on: the lines, the shipping price and the destination.

    With ``prices_include_tax`` (the store's ``PRICES_INCLUDE_TAX``) the amounts already
    contain the tax and the answer is the part they contain; otherwise it is the tax to
    add on top.
    """

    lines: tuple[Line, ...]
    shipping: Money
    destination: Address
    currency: str
    prices_include_tax: bool = False


@dataclass(frozen=True)
class TaxResult:
    """Tax owed: one amount per request line (same order), one for shipping, and a label."""

    lines: tuple[Money, ...]
    shipping: Money
    #: Shown next to the amount at checkout and on invoices ("VAT 19%").
    label: str = "Tax"

    @property
    def total(self) -> Money:
        return Money.sum((*self.lines, self.shipping), self.shipping.currency)


# --- checkout, orders, customers ------------------------------------------------------------


@dataclass(frozen=True)
class CheckoutSnapshot:
    """A checkout about to become an order (what validation hooks look at)."""

    lines: tuple[Line, ...]
    destination: Address | None
    subtotal: Money
    email: str = ""
    shipping_quote_id: str | None = None
    payment_gateway_id: str | None = None


@dataclass(frozen=True)
class OrderSummary:
    """An order as event hooks see it. Read-only: to change an order, enqueue a job
    that calls a core service."""

    id: int
    number: str
    email: str
    status: str
    total: Money
    lines: tuple[Line, ...] = ()


@dataclass(frozen=True)
class CustomerSummary:
    """A customer account as event hooks and slots see it."""

    id: int
    email: str
    name: str = ""


# --- payments ------------------------------------------------------------------------------

PaymentStatus = Literal["pending", "authorized", "paid", "failed", "refunded", "cancelled"]


@dataclass(frozen=True)
class PaymentRequest:
    """Start paying ``amount`` for an order.

    ``idempotency_key`` is derived from the core's payment id: send it to the provider
    so a retried start never charges twice.
    """

    payment_id: str
    order_number: str
    amount: Money
    email: str
    return_url: str
    cancel_url: str
    webhook_url: str
    idempotency_key: str
    #: The provider's reference from an earlier ``start`` of this same payment (the
    #: shopper reloaded the page or came back): resume that one instead of creating another.
    psp_reference: str = ""


@dataclass(frozen=True)
class PaymentRef:
    """A payment the core already knows: its id, gateway and the provider's reference."""

    payment_id: str
    gateway_id: str
    amount: Money
    psp_reference: str = ""
    #: For :meth:`PaymentGateway.capture` and :meth:`PaymentGateway.refund`: derived from
    #: the core's capture or refund; send it so a retried call never captures or refunds twice.
    idempotency_key: str = ""


@dataclass(frozen=True)
class PaymentResult:
    """What the provider says happened. ``psp_reference`` is the provider's id for it.

    From :meth:`PaymentGateway.handle_callback`, a ``"refunded"`` result's ``amount`` is
    the total refunded so far on the payment (the core books any difference it did not
    make itself); from :meth:`PaymentGateway.refund` it is the amount of that refund.
    """

    status: PaymentStatus
    amount: Money
    psp_reference: str = ""
    #: Safe to show to the shopper ("Card declined").
    message: str = ""
    #: The provider's id of the webhook event this result comes from: the core records
    #: it and acknowledges a redelivery without acting on it again.
    event_id: str = ""
    #: The core's payment id (:attr:`PaymentRequest.payment_id`) when the provider echoes
    #: it back (metadata): finds the payment even before its ``psp_reference`` is stored.
    payment_id: str = ""


@dataclass(frozen=True)
class PaymentStep:
    """What checkout does next after :meth:`PaymentGateway.start`.

    Build one with :meth:`redirect`, :meth:`render` or :meth:`done`.
    """

    kind: Literal["redirect", "render", "done"]
    url: str | None = None
    html: Markup | None = None
    result: PaymentResult | None = None
    #: The provider's id for this payment (a PaymentIntent id …), when ``start`` created
    #: or resumed one: the core stores it to match webhooks to the payment.
    psp_reference: str = ""

    def __post_init__(self) -> None:
        needed = {"redirect": self.url, "render": self.html, "done": self.result}
        if self.kind not in needed or needed[self.kind] is None:
            raise ValueError(f"PaymentStep {self.kind!r} needs its value; use PaymentStep.{self.kind}(…)")

    @classmethod
    def redirect(cls, url: str, psp_reference: str = "") -> PaymentStep:
        """Send the shopper to the provider's page (hosted checkout, 3-D Secure …)."""
        return cls("redirect", url=url, psp_reference=psp_reference)

    @classmethod
    def render(cls, html: Markup, psp_reference: str = "") -> PaymentStep:
        """Show this HTML on the payment page (bank details, a provider widget …)."""
        return cls("render", html=Markup(html), psp_reference=psp_reference)

    @classmethod
    def done(cls, result: PaymentResult) -> PaymentStep:
        """The payment is settled (or failed) already; nothing for the shopper to do."""
        return cls("done", result=result, psp_reference=result.psp_reference)


@dataclass(frozen=True)
class PaymentCallback:
    """An HTTP request the provider (or the returning shopper) sent to
    ``/payments/<gateway id>/return`` or ``…/webhook``, as plain values."""

    method: str
    path: str
    args: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    #: The payment the URL names, when it names one (webhooks usually do not).
    payment: PaymentRef | None = None


@runtime_checkable
class PaymentGateway(Protocol):
    """A way to pay, returned by ``storefront_payment_gateways``.

    Calls for one payment are routed to the gateway by its ``id``. Raise nothing for
    a declined card: return a :class:`PaymentResult` with status ``"failed"`` and a
    message. An exception means the gateway itself is broken; the core turns it into
    :class:`PaymentUnavailable` and leaves the order payable again.
    """

    #: Stable identifier stored on payments ("manual", "stripe").
    id: str
    #: Shown to shoppers at checkout.
    name: str

    def is_available(self, amount: Money, country: str) -> bool:
        """May this gateway take ``amount`` from a shopper in ``country`` right now?"""
        ...

    def start(self, request: PaymentRequest) -> PaymentStep:
        """Begin paying; returns what the shopper sees next."""
        ...

    def handle_callback(self, callback: PaymentCallback) -> PaymentResult:
        """Interpret a return or webhook request (verify its signature first).

        Raise :class:`InvalidCallback` for a request that is not authentic or not
        readable (the core answers 400 and changes nothing); answer a status other than
        ``"paid"`` for one about a payment the provider does not know.
        """
        ...

    def capture(self, payment: PaymentRef, amount: Money) -> PaymentResult:
        """Capture an authorised payment (gateways that charge at once return it as paid)."""
        ...

    def refund(self, payment: PaymentRef, amount: Money) -> PaymentResult:
        """Refund part or all of a paid payment."""
        ...


# --- search --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchFilters(Mapping[str, tuple[str, ...]]):
    """The filters of a :class:`SearchQuery`, read once by the core (``query.filters``).

    Typed fields for what has a meaning of its own, and every other filter as a product
    attribute::

        query.filters.brands        # ("Acme",)
        query.filters.categories    # ("shirts",) — category slugs
        query.filters.in_stock      # True: in stock only, False: out of stock only, None: either
        query.filters.price_min     # 1000 — minor units, inclusive (None: no bound)
        query.filters.attributes    # {"size": ("M", "L")} — names in lower case

    The values of one name are alternatives (any may match); different names must all
    match. :attr:`by_facet` gives every filter but the price range as facet name →
    values, the way the facets of a :class:`SearchPage` name them.

    It is also the mapping backends written against the older ``filters`` see (name →
    values as text, ``"in_stock": ("true",)``, ``"price_min": ("1000",)``), already
    cleaned: names lower case, values trimmed, repeats and unreadable values dropped.
    """

    #: Filter names with a meaning of their own; every other name is an attribute.
    BRAND: ClassVar[str] = "brand"
    CATEGORY: ClassVar[str] = "category"
    IN_STOCK: ClassVar[str] = "in_stock"
    PRICE_MIN: ClassVar[str] = "price_min"
    PRICE_MAX: ClassVar[str] = "price_max"
    RESERVED: ClassVar[frozenset[str]] = frozenset({"brand", "category", "in_stock", "price_min", "price_max"})
    #: Values kept per name, and the longest name and value read (longer ones are cut).
    MAX_VALUES: ClassVar[int] = 50
    MAX_NAME_LENGTH: ClassVar[int] = 60
    MAX_VALUE_LENGTH: ClassVar[int] = 120

    categories: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    in_stock: bool | None = None
    price_min: int | None = None
    price_max: int | None = None
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", tuple(self.categories))
        object.__setattr__(self, "brands", tuple(self.brands))
        object.__setattr__(self, "attributes", MappingProxyType(
            {name: tuple(values) for name, values in sorted(dict(self.attributes).items()) if values}))

    @classmethod
    def read(cls, raw: Mapping[str, Any] | None) -> SearchFilters:
        """Filters from name → values (a value may be a lone string), as a search page's
        ``f.<name>=<value>`` parameters give them. Never raises: a value no backend could
        use (a non-numeric or negative price, an ``in_stock`` other than true/false) is
        left out, as if the shopper had not chosen it."""
        if isinstance(raw, SearchFilters):
            return raw
        chosen_by_name: dict[str, list[str]] = {}
        for name, given in (raw or {}).items():
            name = str(name).strip().lower()[:cls.MAX_NAME_LENGTH]
            values = [given] if isinstance(given, str) else list(given or ())
            chosen = chosen_by_name.setdefault(name, []) if name else []
            chosen += [str(value).strip()[:cls.MAX_VALUE_LENGTH] for value in values]
        found: dict[str, tuple[str, ...]] = {}
        for name, chosen in chosen_by_name.items():
            values = tuple(value for value in dict.fromkeys(chosen) if value)[:cls.MAX_VALUES]
            if values:
                found[name] = values
        stock = {value.lower() for value in found.pop(cls.IN_STOCK, ())} & {"true", "false"}
        return cls(categories=found.pop(cls.CATEGORY, ()), brands=found.pop(cls.BRAND, ()),
                   in_stock=(stock == {"true"}) if len(stock) == 1 else None,
                   price_min=_whole_number(found.pop(cls.PRICE_MIN, ())),
                   price_max=_whole_number(found.pop(cls.PRICE_MAX, ())), attributes=found)

    @cached_property
    def by_facet(self) -> Mapping[str, tuple[str, ...]]:
        """Every filter but the price range, as facet name → chosen values: ``category``,
        ``brand``, the attributes, then ``in_stock`` (``("true",)`` or ``("false",)``)."""
        facets: dict[str, tuple[str, ...]] = {}
        if self.categories:
            facets[self.CATEGORY] = self.categories
        if self.brands:
            facets[self.BRAND] = self.brands
        facets.update((name, values) for name, values in self.attributes.items() if name not in self.RESERVED)
        if self.in_stock is not None:
            facets[self.IN_STOCK] = ("true" if self.in_stock else "false",)
        return MappingProxyType(facets)

    @cached_property
    def _as_text(self) -> Mapping[str, tuple[str, ...]]:
        prices = {self.PRICE_MIN: self.price_min, self.PRICE_MAX: self.price_max}
        return {**self.by_facet, **{name: (str(value),) for name, value in prices.items() if value is not None}}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SearchFilters):
            return (self.categories, self.brands, self.in_stock, self.price_min, self.price_max,
                    dict(self.attributes)) == (other.categories, other.brands, other.in_stock, other.price_min,
                                               other.price_max, dict(other.attributes))
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # attributes is a mapping

    # The read-only mapping of the older ``SearchQuery.filters`` (name → values as text).
    def __getitem__(self, name: str) -> tuple[str, ...]:
        return self._as_text[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._as_text)

    def __len__(self) -> int:
        return len(self._as_text)


def _whole_number(values: tuple[str, ...]) -> int | None:
    """The first value as a non-negative whole number, else None (a filter typed by hand)."""
    try:
        number = int(values[0]) if values else None
    except ValueError:
        return None
    return number if number is not None and number >= 0 else None


@dataclass(frozen=True)
class SearchQuery:
    """A shopper's search: free text, facet filters, a page and a sort.

    ``filters`` may be given as a :class:`SearchFilters` or as any mapping of filter name
    → accepted values, which is read with :meth:`SearchFilters.read`; either way the
    query holds a :class:`SearchFilters`. Filter names, shared by every backend and by
    the facets they return (a :class:`FacetValue`'s ``value`` goes back into ``filters``
    as is):

    * ``"brand"`` — brand names;
    * ``"category"`` — category slugs; a category also finds its sub-categories' products;
    * ``"in_stock"`` — ``("true",)`` keeps only products in stock, ``("false",)`` only the others;
    * ``"price_min"`` / ``"price_max"`` — one value each, minor units, inclusive;
    * any other name — a product attribute or variant option (``"size": ("M", "L")``),
      names in lower case.
    """

    text: str
    filters: SearchFilters = field(default_factory=SearchFilters)
    page: int = 1
    per_page: int = 24
    sort: Literal["relevance", "price_asc", "price_desc", "newest"] = "relevance"

    def __post_init__(self) -> None:
        object.__setattr__(self, "filters", SearchFilters.read(self.filters))


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int


@dataclass(frozen=True)
class Facet:
    """One filter dimension of a result page ("Colour": red (3), blue (5))."""

    name: str
    label: str
    values: tuple[FacetValue, ...]

    #: Labels of the facets with a meaning of their own, and of the availability values.
    LABELS: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"category": "Category", "brand": "Brand", "in_stock": "Availability"})
    STOCK_LABELS: ClassVar[Mapping[str, str]] = MappingProxyType({"true": "In stock", "false": "Out of stock"})

    @classmethod
    def from_counts(cls, name: str, counts: Iterable[tuple[str, str, int]], *, limit: int = 20,
                    chosen: Iterable[str] = ()) -> Facet:
        """A facet from ``(value, label, products)`` counts: the ``limit`` most common values
        (ties by label), plus any ``chosen`` by the shopper beyond them, so a filter in force
        stays visible. The facet's label, and the labels of ``in_stock`` values, are the
        shop's own ("Availability": "In stock")."""
        rows = sorted(counts, key=lambda row: (-row[2], row[1].lower()))
        kept = set(chosen)
        shown = rows[:limit] + [row for row in rows[limit:] if row[0] in kept]
        value_label = cls.STOCK_LABELS.get if name == SearchFilters.IN_STOCK else (lambda value, label: label)
        return cls(name, cls.LABELS.get(name) or name.replace("_", " ").capitalize(),
                   tuple(FacetValue(value, value_label(value, label), count) for value, label, count in shown))

    @staticmethod
    def in_order(facets: Iterable[Facet]) -> tuple[Facet, ...]:
        """The shop's facet order: category, brand, the attributes by name, availability last."""
        rank = {SearchFilters.CATEGORY: (0, ""), SearchFilters.BRAND: (1, ""), SearchFilters.IN_STOCK: (3, "")}
        return tuple(sorted(facets, key=lambda facet: rank.get(facet.name, (2, facet.name))))


@dataclass(frozen=True)
class SearchPage:
    """One page of results: product ids in rank order (the core loads and renders them),
    the total number of hits, and the facets of the whole result."""

    product_ids: tuple[int, ...]
    total: int
    facets: tuple[Facet, ...] = ()
    #: The backend looked only at its most relevant hits (a very broad search): ``total``
    #: and the facet counts are those of these hits, and there are more.
    capped: bool = False


@dataclass(frozen=True)
class DocumentCategory:
    """A category a product sits in, as search sees it."""

    slug: str
    name: str
    #: Slugs from the root down to this category: ``"/clothing/shirts"``.
    path: str


@dataclass(frozen=True)
class ProductDocument:
    """Everything a search backend may index about one product, read from the catalog by
    :func:`storefront.plugins.load_product_documents` (plugins never read catalog tables).

    Only products with ``status == "active"`` belong in a shop's search results
    (:attr:`searchable`); a backend asked to index any other product forgets it.
    """

    id: int
    title: str
    slug: str
    #: The description as plain text (Markdown and HTML removed).
    description_text: str
    brand: str
    #: SKUs of the product's active variants.
    skus: tuple[str, ...]
    #: The categories it sits in.
    categories: tuple[DocumentCategory, ...]
    #: Those categories and every ancestor of theirs, each once, parents first: index
    #: these so a filter on "clothing" also finds a product filed under "clothing/shirts".
    categories_with_ancestors: tuple[DocumentCategory, ...]
    #: Filterable facts, own attributes and active variants' options alike:
    #: ``{"size": ("M", "L"), "colour": ("Red",)}``; names are lower case.
    attributes: Mapping[str, tuple[str, ...]]
    #: Lowest price of the active variants, in minor units of ``currency``.
    price_min_minor: int
    currency: str
    in_stock: bool
    status: str
    #: Average approved rating × 100 (0 = no ratings).
    rating_avg_x100: int
    #: When the product was created, as a POSIX timestamp (UTC).
    created_at: float

    @property
    def searchable(self) -> bool:
        return self.status == "active"

    @property
    def price(self) -> Money:
        return Money(self.price_min_minor, self.currency)

    @property
    def category_slugs(self) -> tuple[str, ...]:
        return tuple(category.slug for category in self.categories)

    @property
    def category_paths(self) -> tuple[str, ...]:
        return tuple(category.path for category in self.categories)


@runtime_checkable
class SearchBackend(Protocol):
    """A search engine, returned by ``storefront_search_backends``.

    A backend that raises is left aside for that query and the core's basic search
    answers instead (:class:`SearchUnavailable` tells the caller).
    """

    id: str
    name: str

    def search(self, query: SearchQuery) -> SearchPage:
        """Find products; ids only, never rendered HTML."""
        ...

    def index(self, product_ids: list[int]) -> None:
        """(Re-)index these products; called from a job after catalog changes and by
        ``flask search reindex`` (in batches of contiguous ids).

        Read them with :func:`storefront.plugins.load_product_documents`; an id with no
        document, or whose document is not :attr:`~ProductDocument.searchable`, is
        forgotten, so indexing a range of ids also clears out deleted products.
        """
        ...

    def remove(self, product_ids: list[int]) -> None:
        """Forget these products (they were deleted)."""
        ...


# --- back office -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MenuItem:
    """A back-office navigation link to one of the plugin's own endpoints."""

    label: str
    #: Flask endpoint, e.g. "flatrate.zones" (the plugin's blueprint is named after it).
    endpoint: str


# --- errors the core raises when a plugin fails ------------------------------------------------


class PluginFailure(StorefrontError):
    """A plugin failed; the shop carries on without it."""

    status = 503
    code = "plugin_failure"

    def __init__(self, message: str | None = None, *, plugin: str | None = None):
        super().__init__(message)
        #: Name of the plugin that failed, when known.
        self.plugin = plugin


class PaymentUnavailable(PluginFailure):
    """This payment method is not working right now. Please try another one or try again later."""

    code = "payment_unavailable"


class InvalidCallback(StorefrontError):
    """That payment callback is not authentic or cannot be read.

    Raised by :meth:`PaymentGateway.handle_callback` for a bad signature or a malformed
    body; the core answers 400 and changes nothing.
    """

    status = 400
    code = "invalid_callback"


class SearchUnavailable(PluginFailure):
    """Search is limited right now."""

    code = "search_unavailable"


class UnknownProvider(StorefrontError):
    """That payment method or search backend is not available."""

    status = 404
    code = "unknown_provider"
