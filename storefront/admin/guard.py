"""Who may enter the back office.

Temporary: one shared staff password (``ADMIN_PASSWORD``). The accounts issue replaces
:func:`is_staff` and :func:`staff_required` with role checks; views only use these two.
"""
from __future__ import annotations

import hmac
from functools import wraps

from flask import abort, current_app, redirect, request, session, url_for

from ..sessions import rotate_session_id

STAFF_SESSION_KEY = "staff"


def back_office_open() -> bool:
    return bool(current_app.config.get("ADMIN_PASSWORD"))


def is_staff() -> bool:
    return back_office_open() and session.get(STAFF_SESSION_KEY) is True


def check_password(candidate: str) -> bool:
    expected = current_app.config.get("ADMIN_PASSWORD") or ""
    return bool(expected) and hmac.compare_digest(candidate.encode(), expected.encode())


def sign_in_staff() -> None:
    rotate_session_id()  # privilege change: a pre-login session id must be useless
    session[STAFF_SESSION_KEY] = True


def sign_out_staff() -> None:
    rotate_session_id()
    session.pop(STAFF_SESSION_KEY, None)


def staff_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not back_office_open():
            abort(403, "The back office is closed: set ADMIN_PASSWORD in instance/config.py.")
        if not is_staff():
            return redirect(url_for("admin.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapper
