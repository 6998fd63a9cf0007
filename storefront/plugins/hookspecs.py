"""Every hook a Storefront plugin can implement: the plugin API's contract.

Each spec's docstring is its documentation (``docs/plugins.md`` is generated from
it by ``flask plugins docs``). It says what the hook is for, when and where the core
calls it, what to return, whether results are *collected* from every plugin or the
call *stops at the first* non-``None`` answer, and gives an example.

Implement a hook with a function of the same name marked ``@hookimpl``::

    from storefront.plugins import hookimpl

    @hookimpl
    def storefront_order_paid(order):
        ...

Rules that hold for every hook:

* Arguments are passed by keyword; an implementation may accept *fewer* arguments
  than the spec (take only what you need), never others.
* Hooks run only for **enabled** plugins, except the *app setup* hooks, which run
  once per process for every loaded plugin (enabling is data that changes while the
  process runs; setup happens once). A disabled plugin's blueprints answer 404.
* A plugin that raises never breaks the shop: events are logged, a failing
  contribution is left out, a failing provider or decision becomes a
  :class:`~storefront.plugins.PluginFailure` the calling service handles.
* Wrappers (``wrapper=True`` / ``hookwrapper=True``) are not supported: the core
  calls each implementation on its own to keep failures apart.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .manager import hookspec

if TYPE_CHECKING:
    import click
    from flask import Blueprint, Flask
    from markupsafe import Markup

    from ..money import Money
    from .types import (CheckoutSnapshot, CustomerSummary, MenuItem, OrderSummary, PaymentGateway,
                        PaymentRef, SearchBackend, ShippingQuote, ShippingRequest, TaxRequest,
                        TaxResult)


# ---------------------------------------------------------------------------------------------
# App setup: called once from create_app(), for every loaded plugin (enabled or not)
# ---------------------------------------------------------------------------------------------


@hookspec
def storefront_blueprints() -> list[Blueprint] | None:
    """Return Flask blueprints to register on the app.

    Called once from ``create_app()``, right after the core's blueprints. Collected
    from every plugin. Name each blueprint after the plugin (``"flatrate"``) or
    prefix it (``"flatrate_admin"``) and namespace its templates under
    ``templates/<plugin>/``. While the plugin is disabled its blueprints answer 404.

    Example::

        bp = Blueprint("flatrate", __name__, url_prefix="/flatrate", template_folder="templates")

        @hookimpl
        def storefront_blueprints():
            return [bp]
    """


@hookspec
def storefront_cli_commands() -> list[click.Command] | None:
    """Return click commands or groups for the ``flask`` command line.

    Called once from ``create_app()``. Collected from every plugin; the commands
    appear under ``flask plugins <plugin> …``.

    Example::

        @click.command("recalculate")
        def recalculate():
            click.echo("done")

        @hookimpl
        def storefront_cli_commands():
            return [recalculate]
    """


@hookspec
def storefront_migration_dirs() -> list[str] | None:
    """Return the paths of this plugin's Alembic ``versions`` directories.

    Called when ``flask db …`` builds its Alembic configuration. Collected from every
    plugin. A plugin's first revision carries ``branch_labels = ("<plugin>",)`` and
    ``depends_on`` a core revision; tables are prefixed with the plugin name.
    Merchants deploy with ``flask db upgrade heads``.

    Example::

        @hookimpl
        def storefront_migration_dirs():
            return [os.path.join(os.path.dirname(__file__), "migrations")]
    """


@hookspec
def storefront_app_ready(app: Flask) -> None:
    """The app is fully built: register template filters, request hooks, middleware.

    Called once, as the last step of ``create_app()``. Return value ignored. What
    you install here stays installed while the plugin is disabled, so prefer the
    other hooks, which the core skips for disabled plugins.

    Example::

        @hookimpl
        def storefront_app_ready(app):
            app.add_template_filter(lambda grams: f"{grams / 1000:.1f} kg", "kilograms")
    """


@hookspec
def storefront_admin_menu() -> list[MenuItem] | None:
    """Return links for the back-office navigation.

    Called on every back-office page. Collected; the core's own pages come first,
    then plugins' items in plugin order. Items naming an endpoint that does not exist
    are left out (and logged).

    Example::

        @hookimpl
        def storefront_admin_menu():
            return [MenuItem("Shipping zones", "flatrate.zones")]
    """


# ---------------------------------------------------------------------------------------------
# Providers: return objects implementing a Protocol from storefront.plugins.types
# ---------------------------------------------------------------------------------------------


@hookspec
def storefront_payment_gateways() -> list[PaymentGateway] | None:
    """Return the payment gateways this plugin offers.

    Called when checkout lists payment methods and whenever a payment is started,
    captured, refunded or called back: the core routes each call to the gateway whose
    ``id`` matches. Collected from every plugin; ids must be unique store-wide. A
    gateway that raises fails that one payment cleanly (:class:`PaymentUnavailable`)
    and the order stays payable.

    Example::

        class BankTransfer:
            id = "bank_transfer"
            name = "Bank transfer"
            ...

        @hookimpl
        def storefront_payment_gateways():
            return [BankTransfer()]
    """


@hookspec
def storefront_search_backends() -> list[SearchBackend] | None:
    """Return search backends this plugin offers.

    Called when the shop searches and when products need (re-)indexing. Collected
    from every plugin; the store's search configuration picks one by ``id``. When the
    chosen backend raises, the core's basic search answers instead.

    Example::

        @hookimpl
        def storefront_search_backends():
            return [TantivySearch(index_dir=get_settings("tantivy")["index_dir"])]
    """


# ---------------------------------------------------------------------------------------------
# Contributions: collected from every plugin; a raising plugin is left out (and logged)
# ---------------------------------------------------------------------------------------------


@hookspec
def storefront_shipping_quotes(request: ShippingRequest) -> list[ShippingQuote] | None:
    """Offer shipping options for a cart going to a destination.

    Called by checkout when the shopper picks shipping, and again when the order is
    placed (the choice is matched by quote id, never by a price from the browser).
    Collected from every plugin: return a list of quotes, or ``None``/``[]`` when you
    do not ship there. Quote ids are ``"<plugin>:<code>"``.

    Example::

        @hookimpl
        def storefront_shipping_quotes(request):
            if request.destination.country != "DE":
                return None
            return [ShippingQuote("flatrate:standard", "Standard", Money(490, "EUR"))]
    """


@hookspec
def storefront_validate_checkout(checkout: CheckoutSnapshot) -> list[str] | None:
    """Return problems that stop this checkout from becoming an order.

    Called just before an order is placed. Collected from every plugin; each string
    is shown to the shopper as is. Return ``None`` or ``[]`` when all is well.

    Example::

        @hookimpl
        def storefront_validate_checkout(checkout):
            if checkout.destination and checkout.destination.country == "XK":
                return ["We cannot deliver to Kosovo yet."]
    """


@hookspec
def storefront_csp_sources() -> list[tuple[str, str]] | None:
    """Return ``(directive, source)`` pairs to add to the Content-Security-Policy header.

    For plugins whose pages load a provider's script or frame (a payment widget).
    Collected from every enabled plugin when security headers are set; the merged
    policy is cached until a plugin is switched or its settings change. Directives:
    ``script-src``, ``frame-src``, ``connect-src``, ``img-src``, ``style-src``,
    ``font-src`` (one the base policy lacks starts from ``default-src``). A source is
    an origin — scheme, host (``*.`` allowed in front), optional port. Anything else
    (``'unsafe-inline'``, paths, other directives) is refused and logged: plugins ship
    ``.js`` files, never inline script.

    Example::

        @hookimpl
        def storefront_csp_sources():
            return [("script-src", "https://js.stripe.com"), ("frame-src", "https://js.stripe.com")]
    """


# ---------------------------------------------------------------------------------------------
# Decisions: first result wins; the core's default is registered trylast
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def storefront_calculate_tax(request: TaxRequest) -> TaxResult | None:
    """Compute the tax of a cart or order.

    Called by checkout pricing whenever totals are computed. **Stops at the first
    non-None result.** Answer one amount per request line and one for shipping: the tax
    *contained* in those amounts when ``request.prices_include_tax`` is true, the tax to
    add on top otherwise. The core's default (a rate per destination country from the
    ``TAX_RATES`` config key, else the flat ``TAX_RATE``, zero unless set) is registered
    ``trylast``, so any plugin that answers wins;
    return ``None`` to leave the decision to the next plugin. A plugin that raises
    stops the pricing with a :class:`PluginFailure` rather than charging a wrong tax.

    Example::

        @hookimpl
        def storefront_calculate_tax(request):
            rate = Decimal("0.19") if request.destination.country == "DE" else Decimal(0)
            return TaxResult(lines=tuple(l.total.multiply(rate) for l in request.lines),
                             shipping=request.shipping.multiply(rate), label="VAT 19%")
    """


# ---------------------------------------------------------------------------------------------
# Events: called after the database commit; return values are ignored, exceptions logged
# ---------------------------------------------------------------------------------------------


@hookspec
def storefront_order_placed(order: OrderSummary) -> None:
    """An order was placed (not necessarily paid yet).

    Called by the orders service after the order is committed. Every plugin is told;
    an exception is logged and never undoes the order. Enqueue slow work as a job.

    Example::

        @hookimpl
        def storefront_order_placed(order):
            enqueue(notify_warehouse, order.id)
    """


@hookspec
def storefront_order_paid(order: OrderSummary, payment: PaymentRef) -> None:
    """An order was paid in full.

    Called after the payment is committed, once per order. Every plugin is told.

    Example::

        @hookimpl
        def storefront_order_paid(order, payment):
            log.info("order %s paid through %s", order.number, payment.gateway_id)
    """


@hookspec
def storefront_order_cancelled(order: OrderSummary, reason: str) -> None:
    """An order was cancelled (by staff, by the shopper, or unpaid past its hold time).

    Called after commit; its stock is back already. Every plugin is told.

    Example::

        @hookimpl
        def storefront_order_cancelled(order, reason):
            enqueue(release_label, order.id)
    """


@hookspec
def storefront_order_fulfilled(order: OrderSummary) -> None:
    """An order was shipped or handed over.

    Called after commit. Every plugin is told.

    Example::

        @hookimpl
        def storefront_order_fulfilled(order):
            enqueue(ask_for_review, order.id)
    """


@hookspec
def storefront_order_refunded(order: OrderSummary, amount: Money) -> None:
    """Part or all of an order was refunded.

    Called after the refund is committed, with the amount of this refund. Every
    plugin is told.

    Example::

        @hookimpl
        def storefront_order_refunded(order, amount):
            enqueue(book_credit_note, order.id, amount.minor, amount.currency)
    """


@hookspec
def storefront_product_changed(product_id: int, deleted: bool) -> None:
    """A product was created, changed or deleted.

    Called after the catalog write is committed. Search backends use it to re-index
    (through a job). Every plugin is told.

    Example::

        @hookimpl
        def storefront_product_changed(product_id, deleted):
            enqueue(reindex, product_id, deleted)
    """


@hookspec
def storefront_user_registered(user: CustomerSummary) -> None:
    """A customer created an account.

    Called after the account is committed. Every plugin is told.

    Example::

        @hookimpl
        def storefront_user_registered(user):
            enqueue(subscribe_to_newsletter, user.id)
    """


# ---------------------------------------------------------------------------------------------
# Template slots: {{ slot("<name>", …) }} in templates; Markup is injected, str is escaped
# ---------------------------------------------------------------------------------------------
# Collected from every enabled plugin and joined. Return Markup for HTML (you escape
# what you interpolate: Markup("<b>{}</b>").format(value)), a str for text (escaped by
# the core), or None for nothing. A plugin that raises is left out of the page.


@hookspec
def storefront_tpl_head() -> Markup | str | None:
    """Inside ``<head>`` of every shop page (``layout.html``): meta tags, stylesheets.

    Example::

        @hookimpl
        def storefront_tpl_head():
            return Markup('<link rel="stylesheet" href="/flatrate/static/flatrate.css">')
    """


@hookspec
def storefront_tpl_header_nav() -> Markup | str | None:
    """At the end of the main navigation in the page header (``_header.html``).

    Example::

        @hookimpl
        def storefront_tpl_header_nav():
            return Markup('<a href="/stores">Our stores</a>')
    """


@hookspec
def storefront_tpl_footer() -> Markup | str | None:
    """In the page footer of every shop page (``_footer.html``).

    Example::

        @hookimpl
        def storefront_tpl_footer():
            return "Free shipping on orders over €50"
    """


@hookspec
def storefront_tpl_product_detail(product: object) -> Markup | str | None:
    """Below the buy button on a product page; ``product`` is the page's product view
    (``id``, ``sku``, ``title``, ``price``: Money).

    Example::

        @hookimpl
        def storefront_tpl_product_detail(product):
            return f"Ships within 2 days ({product.sku})"
    """


@hookspec
def storefront_tpl_cart_summary(cart: object) -> Markup | str | None:
    """Under the cart totals; ``cart`` is the cart view (``lines``, ``subtotal``: Money).

    Example::

        @hookimpl
        def storefront_tpl_cart_summary(cart):
            return "Add €5.00 more for free shipping"
    """


@hookspec
def storefront_tpl_checkout(checkout: CheckoutSnapshot | None) -> Markup | str | None:
    """Above the place-order button on the checkout page.

    Example::

        @hookimpl
        def storefront_tpl_checkout(checkout):
            return "Orders placed before 2 pm ship today."
    """


@hookspec
def storefront_tpl_order_confirmation(order: OrderSummary | None) -> Markup | str | None:
    """On the thank-you page after an order is placed.

    Example::

        @hookimpl
        def storefront_tpl_order_confirmation(order):
            return f"Your order {order.number} is on its way to the warehouse."
    """


@hookspec
def storefront_tpl_account_menu(user: object) -> Markup | str | None:
    """At the end of the customer's account menu (``account/_nav.html``); ``user`` is the
    signed-in customer (``id``, ``email``, ``name``).

    Example::

        @hookimpl
        def storefront_tpl_account_menu(user):
            return Markup('<a href="/loyalty">Loyalty points</a>')
    """
