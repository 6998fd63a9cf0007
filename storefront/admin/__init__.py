"""The back office (not themeable): staff pages under /admin.

Only signed-in staff and admins enter (see :mod:`storefront.admin.guard`); every write
here is recorded in the audit log.
"""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
               static_folder="static")

from . import views, customers, plugins, themes, catalog, catalog_import, orders, coupons  # noqa: E402,F401  (routes register on bp)
