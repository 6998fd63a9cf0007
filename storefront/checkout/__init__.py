"""Checkout: contact, address, shipping, payment method, review, place the order; coupons."""
from flask import Blueprint

bp = Blueprint("checkout", __name__, template_folder="templates")

from . import models, views  # noqa: E402,F401  (models register tables; routes register on bp)
