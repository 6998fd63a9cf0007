"""Cart: guest and customer carts, the mini-cart, re-validation against price and stock."""
from flask import Blueprint

bp = Blueprint("cart", __name__, template_folder="templates")

from . import models, views  # noqa: E402,F401  (models register tables; routes register on bp)
