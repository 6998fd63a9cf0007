from __future__ import annotations

from flask import redirect, render_template, request, url_for

from . import bp
from .guard import is_staff, staff_required


@bp.context_processor
def admin_context():
    from .menu import menu_items

    return {"admin_menu": menu_items()} if is_staff() else {}


@bp.get("/login")
def login():
    """Staff sign in like everyone else; kept so old bookmarks still work."""
    return redirect(url_for("auth.login", next=request.args.get("next") or url_for("admin.dashboard")))


@bp.get("/")
@staff_required
def dashboard():
    from .dashboard import sales_overview

    return render_template("admin/dashboard.html", sales=sales_overview())
