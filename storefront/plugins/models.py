"""What the database remembers about each plugin: enabled or not, and its settings."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class PluginState(db.Model):
    """One row per plugin someone enabled, disabled or configured.

    No row means "enabled, default settings": a newly installed plugin is on. Every
    write bumps ``revision``; processes notice changes by comparing the sum of
    revisions (see :func:`storefront.plugins.manager.refresh`).
    """

    __tablename__ = "plugin_state"

    #: The plugin's entry-point name.
    name: Mapped[str] = mapped_column(String(191), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The saved settings as one JSON object (declared keys only; validated on save).
    settings: Mapped[str] = mapped_column(Text, default="{}")
    #: The plugin's distribution version when this row was last written.
    version_seen: Mapped[str | None] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
