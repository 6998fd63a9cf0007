"""Role checks for views: ``@login_required`` (Flask-Login) and ``@role_required(...)``."""
from __future__ import annotations

from functools import wraps

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from .models import STAFF_ROLES


def needs_mfa_enrolment(user) -> bool:
    return user.is_staff and current_app.config["MFA_REQUIRED_FOR_STAFF"] and not user.mfa_enabled


def role_required(*roles: str):
    """Signed-in users with one of ``roles``; others are sent to sign in (or get 403).

    Staff must have a second factor when MFA_REQUIRED_FOR_STAFF is on.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if current_user.role not in roles:
                abort(403)
            if needs_mfa_enrolment(current_user):
                flash("Set up two-factor sign-in to use the back office.", "info")
                return redirect(url_for("auth.mfa_setup"))
            return view(*args, **kwargs)

        return wrapper

    return decorator


staff_required = role_required(*STAFF_ROLES)
admin_required = role_required("admin")
