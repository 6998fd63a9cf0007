"""The audit log: security events and every back-office write.

One row per event: who (user id and e-mail at the time), what (an action name such as
``auth.login_failed`` or ``admin.customer.locked``), on what (target type and id), the
state before and after (JSON, secrets never included), when, from which address, and the
request id that ties it to the log lines.

:func:`record` adds the row to the caller's transaction, so the event is stored exactly
when the change it describes is committed — never for a change that was rolled back.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import has_request_context, request
from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db
from .logs import current_request_id


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    action: Mapped[str] = mapped_column(String(100), index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_email: Mapped[str | None] = mapped_column(String(191))
    target_type: Mapped[str | None] = mapped_column(String(50))
    target_id: Mapped[str | None] = mapped_column(String(100), index=True)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(45))
    request_id: Mapped[str | None] = mapped_column(String(64))


def record(action: str, *, actor=None, target_type: str | None = None, target_id: Any = None,
           before: dict | None = None, after: dict | None = None) -> AuditEvent:
    """Add an audit row to the current transaction (the caller commits).

    ``actor`` is the user acting (None for anonymous events such as a failed sign-in,
    whose target is then the account concerned).
    """
    event = AuditEvent(
        at=datetime.now(timezone.utc).replace(tzinfo=None),
        action=action,
        actor_id=getattr(actor, "id", None),
        actor_email=getattr(actor, "email", None),
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=before,
        after=after,
        ip=request.remote_addr if has_request_context() else None,
        request_id=current_request_id() if has_request_context() else None,
    )
    db.session.add(event)
    return event
