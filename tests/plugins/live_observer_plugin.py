"""A plugin exposing which shipping plugins answer, as the served process sees them."""
from flask import Blueprint, jsonify

from storefront.money import Money
from storefront.plugins import Address, Line, ShippingRequest, hookimpl
from storefront.plugins.manager import collect_answers

PLUGIN_NAME = "observer"
STOREFRONT_REQUIRES = ">=0.1"

bp = Blueprint("observer", __name__, url_prefix="/_plugin_observer")


@bp.get("/shipping")
def shipping_plugins():
    subtotal = Money(1000, "EUR")
    request = ShippingRequest((Line("SKU", 1, subtotal),), Address("DE"), subtotal)
    answers = collect_answers("storefront_shipping_quotes", request=request)
    return jsonify(plugins=sorted({answer.plugin for answer in answers}))


@hookimpl
def storefront_blueprints():
    return [bp]
