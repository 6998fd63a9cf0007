"""Who may enter the back office: signed-in staff and admins (with a second factor when
MFA_REQUIRED_FOR_STAFF is on). Back-office views use :func:`staff_required` or
:func:`admin_required` and nothing else."""
from __future__ import annotations

from flask_login import current_user

from ..auth.roles import admin_required, needs_mfa_enrolment, staff_required

__all__ = ["admin_required", "is_staff", "staff_required"]


def is_staff() -> bool:
    return bool(current_user.is_authenticated and current_user.is_staff
                and not needs_mfa_enrolment(current_user))
