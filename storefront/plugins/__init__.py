"""The public plugin API: plugins import from here (and from ``storefront.money``) only.

A plugin is a module (found through the ``storefront.plugins`` entry-point group)
with hook implementations::

    from storefront.money import Money
    from storefront.plugins import Setting, ShippingQuote, get_settings, hookimpl

    STOREFRONT_REQUIRES = ">=0.1,<1"
    SETTINGS = [Setting("rate_minor", "int", default=490, min=0)]

    @hookimpl
    def storefront_shipping_quotes(request):
        rate = get_settings("myplugin")["rate_minor"]
        return [ShippingQuote("myplugin:standard", "Standard", Money(rate, request.subtotal.currency))]

Every hook is documented in :mod:`storefront.plugins.hookspecs` (and ``docs/plugins.md``).
"""
from ..jobs import enqueue
from .data import db_metadata, db_session, load_product_documents
from .manager import ENTRY_POINT_GROUP, HOOK_PREFIX, SLOT_PREFIX, hookimpl
from .settings import Setting, SettingError, SettingsInvalid, get_settings
from .types import (Address, CheckoutSnapshot, CustomerSummary, DocumentCategory, Facet, FacetValue,
                    InvalidCallback, Line, MenuItem, OrderSummary, PaymentCallback, PaymentGateway, PaymentRef,
                    PaymentRequest, PaymentResult, PaymentStatus, PaymentStep, PaymentUnavailable, PluginFailure,
                    ProductDocument, SearchBackend, SearchFilters, SearchPage, SearchQuery, SearchUnavailable,
                    ShippingQuote, ShippingRequest, TaxRequest, TaxResult, UnknownProvider)

__all__ = [
    "ENTRY_POINT_GROUP", "HOOK_PREFIX", "SLOT_PREFIX", "hookimpl",
    "Setting", "SettingError", "SettingsInvalid", "get_settings",
    "db_metadata", "db_session", "enqueue", "load_product_documents",
    "Address", "CheckoutSnapshot", "CustomerSummary", "DocumentCategory", "Facet", "FacetValue",
    "InvalidCallback", "Line", "MenuItem", "OrderSummary", "PaymentCallback", "PaymentGateway", "PaymentRef",
    "PaymentRequest", "PaymentResult", "PaymentStatus", "PaymentStep", "PaymentUnavailable", "PluginFailure",
    "ProductDocument", "SearchBackend", "SearchFilters", "SearchPage", "SearchQuery", "SearchUnavailable",
    "ShippingQuote", "ShippingRequest", "TaxRequest", "TaxResult", "UnknownProvider",
]
