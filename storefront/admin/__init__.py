"""The back office (not themeable): staff pages under /admin.

Until accounts arrive (the accounts issue), staff sign in with the shared
``ADMIN_PASSWORD`` from the config; with no password set the back office is closed.
"""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
               static_folder="static")

from . import views, plugins, themes  # noqa: E402,F401  (routes register on bp)
