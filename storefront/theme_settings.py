"""Theme settings as data: declared in ``theme.json``, edited in the back office, live.

A theme declares its settings (key, type, default, label, help) in ``theme.json``; a child
theme inherits its parents' declarations and may re-declare one to change its default.
The merchant's values live as **one JSON document per theme** in ``theme_settings``,
always validated against the declaration: on save (bad input is refused as a whole) and
again on read (a value a newer ``theme.json`` no longer accepts falls back to its default).

Every web process keeps the active theme's saved values in memory and looks at the
database again at most every ``THEMES_REFRESH_SECONDS`` (one primary-key read), so a save
shows on every process within seconds, without a restart.

Colour settings also reach CSS: :func:`settings_stylesheet` turns them into
``:root { --<key>: #rrggbb; }``, served as ``/theme-settings.css`` (the CSP forbids inline
styles). Colours are checked against ``#rgb``/``#rrggbb`` only, so nothing else can ever
reach that stylesheet.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping

from sqlalchemy import JSON, DateTime, String, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from . import audit
from .clock import utcnow
from .errors import InvalidInput
from .extensions import db

log = logging.getLogger("storefront.themes")

#: The types a theme may declare, and what each accepts.
SETTING_TYPES = ("str", "int", "bool", "colour")
#: Setting keys double as CSS custom property names (``accent`` → ``--accent``).
SETTING_KEY = re.compile(r"[a-z][a-z0-9_]{0,62}")
COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
#: Longest text a ``str`` setting takes: settings are labels and short texts, not pages.
TEXT_MAX_LENGTH = 500
#: Largest magnitude of an ``int`` setting (counts and sizes; JSON and JavaScript keep it exact).
INT_LIMIT = 10**9
#: Fields a setting declaration in theme.json may have; anything else is a typo.
DECLARATION_FIELDS = frozenset({"key", "type", "default", "label", "help"})
#: Default of a declaration that names none (colours must name one: there is no neutral colour).
IMPLICIT_DEFAULTS: dict[str, Any] = {"str": "", "int": 0, "bool": False}


@dataclass(frozen=True)
class ThemeSetting:
    """One declared theme setting. ``default`` is already in canonical form."""

    key: str
    type: str
    default: Any
    label: str
    help: str = ""

    def clean(self, value: Any) -> Any:
        """``value`` in canonical form (colours as lower-case ``#rrggbb``).

        Raises ``ValueError`` whose message completes "<label> …" for the merchant.
        """
        if self.type == "str":
            if not isinstance(value, str):
                raise ValueError("must be text")
            if len(value) > TEXT_MAX_LENGTH:
                raise ValueError(f"must be at most {TEXT_MAX_LENGTH} characters")
            return value
        if self.type == "int":
            # bool is an int subclass in Python; True is not a number a merchant typed.
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError("must be a whole number")
            if abs(value) > INT_LIMIT:
                raise ValueError(f"must be between -{INT_LIMIT} and {INT_LIMIT}")
            return value
        if self.type == "bool":
            if not isinstance(value, bool):
                raise ValueError("must be on or off")
            return value
        if not isinstance(value, str) or not COLOUR.fullmatch(value):
            raise ValueError("must be a colour written #rgb or #rrggbb, for example #2f5d50")
        return normalise_colour(value)

    @classmethod
    def from_declaration(cls, raw: Any) -> "ThemeSetting":
        """Build a setting from its theme.json object; ``ValueError`` says what is wrong."""
        if not isinstance(raw, dict):
            raise ValueError("must be an object with at least a \"key\"")
        unknown = sorted(set(raw) - DECLARATION_FIELDS)
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(map(repr, unknown))}; "
                             f"allowed: {', '.join(sorted(DECLARATION_FIELDS))}")
        key = raw.get("key")
        if not isinstance(key, str) or not SETTING_KEY.fullmatch(key):
            raise ValueError("\"key\" must be lower-case letters, digits and _ (starting with a "
                             "letter), e.g. \"accent\"")
        kind = raw.get("type", "str")
        if kind not in SETTING_TYPES:
            raise ValueError(f"{key}: \"type\" {kind!r} is not one of {', '.join(SETTING_TYPES)}")
        label = raw.get("label", key)
        help_text = raw.get("help", "")
        if not isinstance(label, str) or not isinstance(help_text, str):
            raise ValueError(f"{key}: \"label\" and \"help\" must be text")
        if "default" not in raw and kind not in IMPLICIT_DEFAULTS:
            raise ValueError(f"{key}: a {kind} setting needs a \"default\"")
        setting = cls(key=key, type=kind, default=None, label=label, help=help_text)
        try:
            default = setting.clean(raw.get("default", IMPLICIT_DEFAULTS.get(kind)))
        except ValueError as exc:
            raise ValueError(f"{key}: \"default\" {exc}") from None
        return cls(key=key, type=kind, default=default, label=label, help=help_text)


def normalise_colour(value: str) -> str:
    """``#ABC`` → ``#aabbcc``: one spelling per colour (and what ``<input type=color>`` shows)."""
    digits = value[1:].lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits


class ThemeSettingsRecord(db.Model):
    """The saved settings of one theme: one JSON document, keys as declared in theme.json."""

    __tablename__ = "theme_settings"

    theme: Mapped[str] = mapped_column(String(100), primary_key=True)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ThemeSettingsInvalid(InvalidInput):
    """Some submitted theme settings are not valid; nothing was saved."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("Please correct the marked settings: "
                         + "; ".join(f"{key}: {message}" for key, message in self.errors.items()))


Declarations = Mapping[str, ThemeSetting]


def clean_settings(declared: Declarations, submitted: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``submitted`` against ``declared``: canonical values, or ThemeSettingsInvalid
    listing every bad field (unknown keys included) so a form can mark them all at once."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for key, value in submitted.items():
        setting = declared.get(key)
        if setting is None:
            errors[key] = "is not a setting of this theme"
            continue
        try:
            cleaned[key] = setting.clean(value)
        except ValueError as exc:
            errors[key] = f"{setting.label} {exc}"
    if errors:
        raise ThemeSettingsInvalid(errors)
    return cleaned


def valid_saved_values(declared: Declarations, stored: Any, theme: str) -> dict[str, Any]:
    """The stored values the declaration still accepts. Others are dropped (logged), so a
    theme update that renames or retypes a setting falls back to its default, not to a 500."""
    if not isinstance(stored, dict):
        return {}
    values = {}
    for key, value in stored.items():
        setting = declared.get(key)
        try:
            if setting is None:
                raise ValueError("is no longer declared")
            values[key] = setting.clean(value)
        except ValueError as exc:
            log.warning("theme %s: saved setting %r ignored: %s", theme, key, exc)
    return values


def load_saved_settings(theme: str, declared: Declarations) -> dict[str, Any]:
    """The saved (valid) values of ``theme``, read now — for pages that must not be stale."""
    record = db.session.get(ThemeSettingsRecord, theme)
    return valid_saved_values(declared, record.values if record else None, theme)


def save_theme_settings(theme: str, declared: Declarations, changes: Mapping[str, Any], *,
                        actor: Any = None) -> dict[str, Any]:
    """Validate ``changes`` and store them over ``theme``'s saved values; returns the new values.

    All or nothing: one bad value raises :class:`ThemeSettingsInvalid` and nothing is saved.
    The change is audited (``actor``: the staff member, before and after). Commits.
    """
    cleaned = clean_settings(declared, changes)
    try:
        return _store(theme, declared, cleaned, actor)
    except IntegrityError:
        # Two first saves raced to insert the row; the loser's save becomes an update.
        db.session.rollback()
        return _store(theme, declared, cleaned, actor)


def _store(theme: str, declared: Declarations, cleaned: dict[str, Any], actor: Any) -> dict[str, Any]:
    record = db.session.get(ThemeSettingsRecord, theme)
    if record is None:
        record = ThemeSettingsRecord(theme=theme, values={})
        db.session.add(record)
    before = valid_saved_values(declared, record.values, theme)
    # A new dict, not an in-place update, so that SQLAlchemy sees the JSON column change.
    record.values = {**before, **cleaned}
    record.updated_at = utcnow()
    audit.record("admin.theme_settings.saved", actor=actor, target_type="theme", target_id=theme,
                 before=before, after=record.values)
    db.session.commit()
    return record.values


def reset_theme_settings(theme: str, *, actor: Any = None) -> None:
    """Forget every saved value of ``theme``: its declared defaults apply again. Audited;
    commits."""
    record = db.session.get(ThemeSettingsRecord, theme)
    if record is not None:
        audit.record("admin.theme_settings.reset", actor=actor, target_type="theme", target_id=theme,
                     before=dict(record.values or {}), after={})
        db.session.delete(record)
        db.session.commit()


class SavedThemeSettings:
    """The active theme's saved values, cached per process and re-read at most every
    ``refresh_seconds`` — how a save in one process reaches all the others.

    Reads use their own short connection, so they never join (or break) the request's
    transaction. A database failure keeps the last values known (logged): a colour is not
    worth an outage.
    """

    def __init__(self, theme: str, declared: Declarations, refresh_seconds: float,
                 clock: Callable[[], float] = time.monotonic):
        self.theme = theme
        self.declared = declared
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._values: dict[str, Any] = {}
        self._stored: Any = None
        self._next_read = float("-inf")
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, Any]:
        if self.clock() >= self._next_read:
            with self._lock:
                if self.clock() >= self._next_read:
                    self._refresh()
        return self._values

    def invalidate(self) -> None:
        """Read again on next use (after this process saved)."""
        self._next_read = float("-inf")

    def _refresh(self) -> None:
        try:
            with db.engine.connect() as connection:
                stored = connection.execute(
                    select(ThemeSettingsRecord.values).where(ThemeSettingsRecord.theme == self.theme)
                ).scalar_one_or_none()
            if stored != self._stored:
                # Validate (and log what is dropped) once per change, not once per read.
                self._values = valid_saved_values(self.declared, stored, self.theme)
                self._stored = stored
        except SQLAlchemyError:
            log.warning("theme settings of %s could not be read; keeping the last known values",
                        self.theme, exc_info=True)
        self._next_read = self.clock() + self.refresh_seconds


def css_property(key: str) -> str:
    """The CSS custom property a colour setting sets: ``link_colour`` → ``--link-colour``."""
    return "--" + key.replace("_", "-")


def settings_stylesheet(declared: Declarations, values: Mapping[str, Any]) -> str:
    """``:root { --<key>: <colour>; }`` for every colour setting, from validated values."""
    lines = []
    for setting in declared.values():
        if setting.type != "colour":
            continue
        # Re-cleaned here so that only a #rrggbb string can ever be written into CSS.
        try:
            colour = setting.clean(values.get(setting.key, setting.default))
        except ValueError:
            colour = setting.default
        lines.append(f"  {css_property(setting.key)}: {colour};")
    return ":root {\n" + "\n".join(lines) + "\n}\n" if lines else "/* no colour settings */\n"
