"""Two-factor sign-in with TOTP (RFC 6238) and single-use recovery codes.

The QR code is drawn by the server (segno, as inline SVG): the secret never leaves for
a third-party QR service.
"""
from __future__ import annotations

import hashlib
import io
import secrets
import time

import pyotp
import segno
from flask import current_app, session
from markupsafe import Markup
from sqlalchemy import delete, select, update

from .. import audit
from ..extensions import db
from ..sessions import rotate_session_id
from .models import RecoveryCode, User
from .services import AccountError, InvalidCredentials
from .passwords import verify_password
from .tokens import utcnow

ENROLMENT_KEY = "mfa_enrolment_secret"
RECOVERY_CODE_COUNT = 10


class InvalidCode(AccountError):
    """That code is not correct. Enter the 6-digit code your app shows now, or a recovery code."""

    code = "invalid_code"


def start_enrolment(user: User) -> str:
    """A new secret, kept in the session until the user proves their app has it."""
    secret = session.get(ENROLMENT_KEY) or pyotp.random_base32()
    session[ENROLMENT_KEY] = secret
    return secret


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=current_app.config["STORE_NAME"])


def qr_svg(uri: str) -> Markup:
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False, svgns=True,
                                    title="Scan with your authenticator app")
    return Markup(buffer.getvalue().decode())


def _step_accepted(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to (±1 step of clock drift), unless already used."""
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(time.time()) // totp.interval
    for step in (now_step, now_step - 1, now_step + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            if last_step is not None and step <= last_step:
                return None  # replayed
            return step
    return None


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Turn MFA on once the first code checks out; returns recovery codes (shown once)."""
    secret = session.get(ENROLMENT_KEY)
    if not secret:
        raise AccountError("Start again: the set-up expired.")
    step = _step_accepted(secret, code, None)
    if step is None:
        raise InvalidCode()
    user.mfa_secret = secret
    user.mfa_enabled_at = utcnow()
    user.mfa_last_step = step
    codes = _new_recovery_codes(user)
    audit.record("auth.mfa_enabled", actor=user, target_type="user", target_id=user.id)
    db.session.commit()
    session.pop(ENROLMENT_KEY, None)
    rotate_session_id()
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_digest(code)))
    return codes


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().lower().encode()).hexdigest()


def verify_second_factor(user: User, code: str) -> str:
    """Accept a current TOTP code or an unused recovery code; returns which one was used."""
    step = _step_accepted(user.mfa_secret or "", code, user.mfa_last_step)
    if step is not None:
        # Conditional update: two requests with the same code cannot both pass.
        won = db.session.execute(update(User).where(User.id == user.id,
                                                    (User.mfa_last_step.is_(None)) | (User.mfa_last_step < step))
                                 .values(mfa_last_step=step)).rowcount == 1
        if won:
            db.session.commit()
            return "totp"
    recovery = db.session.scalar(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                            RecoveryCode.code_hash == _digest(code or ""),
                                                            RecoveryCode.used_at.is_(None)))
    if recovery is not None:
        used = db.session.execute(update(RecoveryCode).where(RecoveryCode.id == recovery.id,
                                                             RecoveryCode.used_at.is_(None))
                                  .values(used_at=utcnow())).rowcount == 1
        if used:
            audit.record("auth.mfa_recovery_code_used", actor=user, target_type="user", target_id=user.id)
            db.session.commit()
            return "recovery_code"
    audit.record("auth.mfa_failed", actor=user, target_type="user", target_id=user.id)
    db.session.commit()
    raise InvalidCode()


def remaining_recovery_codes(user: User) -> int:
    return len(db.session.scalars(select(RecoveryCode.id).where(RecoveryCode.user_id == user.id,
                                                                RecoveryCode.used_at.is_(None))).all())


def regenerate_recovery_codes(user: User, code: str) -> list[str]:
    verify_second_factor(user, code)
    codes = _new_recovery_codes(user)
    audit.record("auth.mfa_recovery_codes_regenerated", actor=user, target_type="user", target_id=user.id)
    db.session.commit()
    return codes


def disable(user: User, password: str, code: str) -> None:
    if not verify_password(user.password_hash, password):
        raise InvalidCredentials("Your password is not correct.")
    verify_second_factor(user, code)
    _clear(user)
    audit.record("auth.mfa_disabled", actor=user, target_type="user", target_id=user.id)
    db.session.commit()
    rotate_session_id()


def reset_by_staff(user: User, actor: User) -> None:
    """Staff remove a customer's second factor (lost phone, no recovery codes)."""
    _clear(user)
    audit.record("admin.customer.mfa_reset", actor=actor, target_type="user", target_id=user.id)
    db.session.commit()


def _clear(user: User) -> None:
    user.mfa_secret = None
    user.mfa_enabled_at = None
    user.mfa_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def current_code(secret: str) -> str:
    """The code an authenticator app shows now (tests and the browser journey use it)."""
    return pyotp.TOTP(secret).now()
