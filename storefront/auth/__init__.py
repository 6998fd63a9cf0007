"""Customer accounts and staff sign-in: registration, sign-in with optional TOTP,
e-mail verification, password reset, sessions, address book."""
from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/account", template_folder="templates")

from . import views  # noqa: E402,F401  (routes register on bp)
