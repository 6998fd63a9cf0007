"""Single-use, expiring e-mail tokens (verification, reset, e-mail change, invitation).

The link carries a random secret; the database keeps only its SHA-256, so a leaked
database backup cannot be used to reset passwords. Using a token is one conditional
UPDATE, so two clicks racing each other cannot both succeed.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update

from ..clock import utcnow
from ..errors import StorefrontError
from ..extensions import db
from .models import AuthToken, User

PURPOSES = ("verify_email", "reset_password", "change_email", "invitation")


class InvalidToken(StorefrontError):
    """This link is invalid or has expired. Please request a new one."""

    status = 400
    code = "invalid_token"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user: User, purpose: str, max_age_seconds: int, payload: dict | None = None) -> str:
    """Create a token for ``user`` (earlier unused ones of the same purpose stop working)."""
    assert purpose in PURPOSES
    db.session.execute(delete(AuthToken).where(AuthToken.user_id == user.id, AuthToken.purpose == purpose,
                                               AuthToken.used_at.is_(None)))
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(AuthToken(user_id=user.id, purpose=purpose, token_hash=_digest(token), payload=payload,
                             created_at=now, expires_at=now + timedelta(seconds=max_age_seconds)))
    return token


def peek(token: str, purpose: str) -> AuthToken:
    """The live token record (for showing a form), without using it."""
    record = db.session.scalar(select(AuthToken).where(AuthToken.token_hash == _digest(token or ""),
                                                       AuthToken.purpose == purpose))
    if record is None or record.used_at is not None or record.expires_at <= utcnow():
        raise InvalidToken()
    return record


def consume(token: str, purpose: str) -> AuthToken:
    """Mark the token used and return it; raises InvalidToken if used, expired or unknown."""
    record = peek(token, purpose)
    used = db.session.execute(update(AuthToken).where(AuthToken.id == record.id, AuthToken.used_at.is_(None))
                              .values(used_at=utcnow()))
    if used.rowcount != 1:
        raise InvalidToken()
    return record
