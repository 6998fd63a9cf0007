"""A plugin the multi-process tests switch on and off (loaded through PLUGINS_EXTRA).

It offers one shipping quote and one page; the observer plugin reports what it sees.
"""
from flask import Blueprint, jsonify

from storefront.money import Money
from storefront.plugins import ShippingQuote, hookimpl

PLUGIN_NAME = "probe"
STOREFRONT_REQUIRES = ">=0.1"

bp = Blueprint("probe", __name__, url_prefix="/_plugin_probe")


@bp.get("/hello")
def hello():
    return jsonify(hello="from probe")


@hookimpl
def storefront_blueprints():
    return [bp]


@hookimpl
def storefront_shipping_quotes(request):
    return [ShippingQuote("probe:standard", "Probe post", Money(100, request.subtotal.currency))]
