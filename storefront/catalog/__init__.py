"""Catalog: home page, categories, products and search (filled in by the catalog issue)."""
from flask import Blueprint

bp = Blueprint("catalog", __name__, template_folder="templates")

from . import models, views  # noqa: E402,F401  (models register tables; routes register on bp)
