"""Unbound Flask extension objects; :func:`storefront.create_app` binds them.

Import these (``from storefront.extensions import db``) rather than reaching into
``current_app.extensions``.
"""
from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, registry

# Deterministic constraint names: SQLite batch migrations need them to alter tables,
# and MariaDB and SQLite then agree on every name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    # MariaDB needs a VARCHAR length: a bare Mapped[str] becomes VARCHAR(255). The map
    # sits on the registry because Flask-SQLAlchemy subclasses this base once more.
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={str: String(255)},
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
# Configured from RATELIMIT_* keys (see storefront.config); key = client address,
# which ProxyFix corrects when PROXY_COUNT is set.
limiter = Limiter(get_remote_address)


def init_app(app) -> None:
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
