from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for

from ..extensions import limiter
from . import bp
from .guard import back_office_open, check_password, sign_in_staff, sign_out_staff, staff_required


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after login is a phishing aid.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("admin.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    if not back_office_open():
        return render_template("admin/closed.html"), 403
    if request.method == "POST":
        if check_password(request.form.get("password", "")):
            sign_in_staff()
            return redirect(_safe_next(request.args.get("next")))
        flash("That password is not correct.", "error")
        return render_template("admin/login.html"), 401
    return render_template("admin/login.html")


@bp.post("/logout")
def logout():
    sign_out_staff()
    flash("You are signed out of the back office.", "info")
    return redirect(url_for("admin.login"))


@bp.context_processor
def admin_context():
    from .guard import is_staff
    from .menu import menu_items

    return {"admin_menu": menu_items()} if is_staff() else {}


@bp.get("/")
@staff_required
def dashboard():
    return render_template("admin/dashboard.html")
