"""Payments: start a payment with a gateway, returns and webhooks (exactly once), refunds."""
from flask import Blueprint

bp = Blueprint("payments", __name__, template_folder="templates")

from . import models, views  # noqa: E402,F401  (models register tables; routes register on bp)
