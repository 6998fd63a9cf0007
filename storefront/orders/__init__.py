"""Orders: status rules, fulfilment, cancellation, customer history, guest lookup, invoices."""
from flask import Blueprint

bp = Blueprint("orders", __name__, template_folder="templates", static_folder="static",
               static_url_path="/orders/static")

from . import models, views  # noqa: E402,F401  (models register tables; routes register on bp)
