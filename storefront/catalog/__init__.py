"""Catalog: home page, categories, products and search (filled in by the catalog issue)."""
from flask import Blueprint

bp = Blueprint("catalog", __name__, template_folder="templates")

from . import views  # noqa: E402,F401  (routes register on bp)
