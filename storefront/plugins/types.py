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
from typing import Literal, Mapping, Protocol, runtime_checkable

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
    """What tax is computed on: the lines, the shipping price and the destination."""

    lines: tuple[Line, ...]
    shipping: Money
    destination: Address
    currency: str


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


@dataclass(frozen=True)
class PaymentRef:
    """A payment the core already knows: its id, gateway and the provider's reference."""

    payment_id: str
    gateway_id: str
    amount: Money
    psp_reference: str = ""


@dataclass(frozen=True)
class PaymentResult:
    """What the provider says happened. ``psp_reference`` is the provider's id for it."""

    status: PaymentStatus
    amount: Money
    psp_reference: str = ""
    #: Safe to show to the shopper ("Card declined").
    message: str = ""


@dataclass(frozen=True)
class PaymentStep:
    """What checkout does next after :meth:`PaymentGateway.start`.

    Build one with :meth:`redirect`, :meth:`render` or :meth:`done`.
    """

    kind: Literal["redirect", "render", "done"]
    url: str | None = None
    html: Markup | None = None
    result: PaymentResult | None = None

    def __post_init__(self) -> None:
        needed = {"redirect": self.url, "render": self.html, "done": self.result}
        if self.kind not in needed or needed[self.kind] is None:
            raise ValueError(f"PaymentStep {self.kind!r} needs its value; use PaymentStep.{self.kind}(…)")

    @classmethod
    def redirect(cls, url: str) -> PaymentStep:
        """Send the shopper to the provider's page (hosted checkout, 3-D Secure …)."""
        return cls("redirect", url=url)

    @classmethod
    def render(cls, html: Markup) -> PaymentStep:
        """Show this HTML on the payment page (bank details, a provider widget …)."""
        return cls("render", html=Markup(html))

    @classmethod
    def done(cls, result: PaymentResult) -> PaymentStep:
        """The payment is settled (or failed) already; nothing for the shopper to do."""
        return cls("done", result=result)


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
        """Interpret a return or webhook request (verify its signature first)."""
        ...

    def capture(self, payment: PaymentRef, amount: Money) -> PaymentResult:
        """Capture an authorised payment (gateways that charge at once return it as paid)."""
        ...

    def refund(self, payment: PaymentRef, amount: Money) -> PaymentResult:
        """Refund part or all of a paid payment."""
        ...


# --- search --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    """A shopper's search: free text, facet filters (name → accepted values), a page.

    Filter names, shared by every backend and by the facets they return (a
    :class:`FacetValue`'s ``value`` goes back into ``filters`` as is):

    * ``"brand"`` — brand names;
    * ``"category"`` — category slugs; a category also finds its sub-categories' products;
    * ``"in_stock"`` — ``("true",)`` keeps only products in stock;
    * ``"price_min"`` / ``"price_max"`` — one value each, minor units, inclusive;
    * any other name — a product attribute or variant option (``"size": ("M", "L")``),
      names in lower case.

    The values of one name are alternatives (any may match); different names must all
    match. Backends ignore values they cannot read (a non-numeric ``price_min``).
    """

    text: str
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    page: int = 1
    per_page: int = 24
    sort: Literal["relevance", "price_asc", "price_desc", "newest"] = "relevance"


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


@dataclass(frozen=True)
class SearchPage:
    """One page of results: product ids in rank order (the core loads and renders them),
    the total number of hits, and the facets of the whole result."""

    product_ids: tuple[int, ...]
    total: int
    facets: tuple[Facet, ...] = ()


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


class SearchUnavailable(PluginFailure):
    """Search is limited right now."""

    code = "search_unavailable"


class UnknownProvider(StorefrontError):
    """That payment method or search backend is not available."""

    status = 404
    code = "unknown_provider"
