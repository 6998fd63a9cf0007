"""Server-side sessions in the app database, through Flask-Session's SQLAlchemy backend.

We own the ``sessions`` table (model below, created by our migrations) instead of
letting Flask-Session define and create it at start-up: its own model is re-declared on
every ``init_app`` (which breaks a second app on the same metadata, flask-session#245)
and needs the database reachable before the app can even be built.

Flask-Session commits ``db.session`` when it saves the session after a request, so a
service must never leave pending changes behind (see DESIGN §4).
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask, current_app, request, session
from flask_session.sqlalchemy import SqlAlchemySessionInterface
from flask_session.base import ServerSideSessionInterface
from sqlalchemy import DateTime, LargeBinary, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db


class SessionRecord(db.Model):
    """One browser session: Flask-Session reads and writes these columns by name."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(255), unique=True)
    # BLOB on MariaDB (64 KiB): sessions hold ids and small flags, never documents.
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Naive UTC, as Flask-Session writes it.
    expiry: Mapped[datetime | None] = mapped_column(DateTime, index=True)


class DatabaseSessionInterface(SqlAlchemySessionInterface):
    """Flask-Session's SQLAlchemy backend bound to :class:`SessionRecord`."""

    def __init__(self, app: Flask) -> None:
        # Deliberately skip SqlAlchemySessionInterface.__init__: it declares a new
        # model and runs CREATE TABLE. Everything else is the upstream behaviour.
        self.client = db
        self.sql_session_model = SessionRecord
        ServerSideSessionInterface.__init__(
            self,
            app,
            key_prefix="session:",
            permanent=True,
            sid_length=32,
            serialization_format="msgpack",
            cleanup_n_requests=None,
        )

    def get_cookie_secure(self, app: Flask) -> bool:
        # Secure whenever the request came over HTTPS (ProxyFix tells us behind a proxy).
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure

    def _register_cleanup_app_command(self) -> None:
        # Our periodic job and `flask sessions cleanup` replace upstream's command.
        pass


def init_app(app: Flask) -> None:
    app.session_interface = DatabaseSessionInterface(app)


def rotate_session_id() -> None:
    """Give the current session a new id, keeping its data (cart, CSRF token).

    Call it at login, logout and any privilege change so that an id seen before
    (session fixation) is useless afterwards. The old row is deleted at once.
    """
    current_app.session_interface.regenerate(session)


def end_session() -> None:
    """Drop every value and the stored row; the browser gets an expired cookie."""
    session.clear()


def remove_expired_sessions(now: datetime | None = None) -> int:
    """Delete session rows whose expiry has passed; returns how many went."""
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)  # naive UTC, as stored
    result = db.session.execute(delete(SessionRecord).where(SessionRecord.expiry <= now))
    db.session.commit()
    return result.rowcount or 0


def count_sessions() -> int:
    return db.session.scalar(select(func.count()).select_from(SessionRecord)) or 0
