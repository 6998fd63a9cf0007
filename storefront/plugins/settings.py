"""Plugin settings: declared in code, stored as data, overridable from config.

A plugin declares ``SETTINGS = [Setting(...), ...]`` in its module. Values are, last
one wins: the declared defaults → the saved JSON document (``plugin_state.settings``,
edited in the back office or with ``flask plugins settings``) → the config key
``PLUGIN_<NAME>_<KEY>`` (so secrets need not live in the database). Saving validates
every value against its declaration and saves all or nothing; changes reach every
process within ``PLUGINS_REFRESH_SECONDS``.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterable, Literal, Mapping

from flask import current_app

from ..errors import InvalidInput
from . import manager

log = logging.getLogger(__name__)

SettingType = Literal["str", "text", "int", "bool", "list"]
SETTING_TYPES: tuple[str, ...] = ("str", "text", "int", "bool", "list")
#: How a secret is shown once set (never its value).
SECRET_MASK = "********"
_KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


class SettingError(InvalidInput):
    """A value does not fit its setting's declaration; ``message`` says why."""

    code = "invalid_setting"

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


class SettingsInvalid(InvalidInput):
    """Some submitted settings were refused; nothing was saved. ``errors``: key → message."""

    code = "invalid_settings"

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{key}: {message}" for key, message in self.errors.items()))


@dataclass(frozen=True)
class Setting:
    """One declared setting of a plugin.

    ``type`` is ``"str"``, ``"text"`` (several lines; the form shows a text area),
    ``"int"``, ``"bool"`` or ``"list"`` (of strings; typed as comma- or line-separated
    text). Values read back as ``str``, ``int`` (or None), ``bool`` and ``tuple[str, ...]``.

    ``validate`` checks what the type cannot (a rate table, a URL …): it is called with
    the typed value when it is not empty and raises :class:`ValueError` whose message
    says what is wrong, which refuses the value like any other bad input.
    """

    #: Lower-case identifier; also the ``PLUGIN_<NAME>_<KEY>`` config suffix.
    key: str
    type: SettingType = "str"
    #: Used until someone saves a value. None means "empty" (see ``optional``).
    default: Any = None
    #: Form label; defaults to the key in words.
    label: str = ""
    #: One sentence under the form field.
    help: str = ""
    #: Masked everywhere it is shown; a blank form field keeps the saved value.
    secret: bool = False
    #: Allowed values of a str setting, or of each item of a list setting.
    choices: tuple[str, ...] = ()
    #: Bounds of an int setting (inclusive).
    min: int | None = None
    max: int | None = None
    #: May be left empty: None for int, "" for str and text, () for list.
    optional: bool = False
    #: Extra check of a non-empty value: raise ValueError("what is wrong") to refuse it.
    validate: Callable[[Any], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not _KEY_PATTERN.fullmatch(self.key):
            raise ValueError(f"setting key {self.key!r} must be lower-case letters, digits and _")
        if self.type not in SETTING_TYPES:
            raise ValueError(f"setting {self.key!r}: type {self.type!r} is not one of {SETTING_TYPES}")
        if self.secret and self.type != "str":
            raise ValueError(f"setting {self.key!r}: only str settings can be secret")
        if self.validate is not None and not callable(self.validate):
            raise ValueError(f"setting {self.key!r}: validate must be a function")
        if (self.min is not None or self.max is not None) and self.type != "int":
            raise ValueError(f"setting {self.key!r}: min/max apply to int settings only")
        if self.choices and self.type not in ("str", "list"):
            raise ValueError(f"setting {self.key!r}: choices apply to str and list settings only")
        object.__setattr__(self, "choices", tuple(self.choices))
        if not self.label:
            object.__setattr__(self, "label", self.key.replace("_", " ").capitalize())
        try:
            default = self.coerce(self.default) if self.default is not None else self.empty()
        except SettingError as exc:
            raise ValueError(f"setting {self.key!r}: default {self.default!r} is invalid: {exc.message}") from None
        object.__setattr__(self, "default", default)

    def empty(self) -> Any:
        """The value of a setting left blank (refused unless ``optional``)."""
        if self.type == "bool":
            return False
        if not self.optional:
            raise SettingError(self.key, f"{self.label} is required.")
        return {"int": None, "str": "", "text": "", "list": ()}[self.type]

    def coerce(self, value: Any) -> Any:
        """Validate ``value`` (a Python/JSON value, or text from a form, the CLI or the
        environment) and return it in this setting's type; raises :class:`SettingError`."""
        if value is None or (isinstance(value, str) and not value.strip() and self.type != "str"):
            return self.empty()
        typed = getattr(self, f"_coerce_{self.type}")(value)
        if self.validate is not None and typed not in (None, "", ()):
            try:
                self.validate(typed)
            except ValueError as exc:
                raise SettingError(self.key, f"{self.label}: {exc}") from None
        return typed

    def _coerce_str(self, value: Any) -> str:
        if not isinstance(value, str):
            raise SettingError(self.key, f"{self.label} must be text.")
        if value == "":
            return self.empty()
        if self.choices and value not in self.choices:
            raise SettingError(self.key, f"{self.label} must be one of: {', '.join(self.choices)}.")
        return value

    def _coerce_text(self, value: Any) -> str:
        if not isinstance(value, str):
            raise SettingError(self.key, f"{self.label} must be text.")
        # Browsers send CRLF from a text area; keep one kind of line end.
        return value.replace("\r\n", "\n").replace("\r", "\n").strip()

    def _coerce_int(self, value: Any) -> int:
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise SettingError(self.key, f"{self.label} must be a whole number.") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingError(self.key, f"{self.label} must be a whole number.")
        if self.min is not None and value < self.min:
            raise SettingError(self.key, f"{self.label} must be at least {self.min}.")
        if self.max is not None and value > self.max:
            raise SettingError(self.key, f"{self.label} must be at most {self.max}.")
        return value

    def _coerce_bool(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise SettingError(self.key, f"{self.label} must be yes or no (true/false).")

    def _coerce_list(self, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [item.strip() for item in re.split(r"[,\n]", value)]
        if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
            raise SettingError(self.key, f"{self.label} must be a list of text values.")
        items = tuple(item for item in value if item)
        if not items:
            return self.empty()
        wrong = [item for item in items if self.choices and item not in self.choices]
        if wrong:
            raise SettingError(self.key, f"{self.label}: {', '.join(wrong)} not allowed; "
                                         f"choose from {', '.join(self.choices)}.")
        return items

    def as_text(self, value: Any) -> str:
        """The value as a form or the CLI shows it (secrets masked)."""
        if self.secret:
            return SECRET_MASK if value else ""
        if value is None:
            return ""
        if self.type == "list":
            return ", ".join(value)
        if self.type == "bool":
            return "true" if value else "false"
        return str(value)


def check_declaration(settings: Iterable[Any]) -> tuple[Setting, ...]:
    """A plugin's ``SETTINGS`` as a tuple, refusing non-Settings and repeated keys."""
    if isinstance(settings, (str, bytes)) or not isinstance(settings, Iterable):
        raise TypeError("SETTINGS must be a list of storefront.plugins.Setting")
    declared = tuple(settings)
    for item in declared:
        if not isinstance(item, Setting):
            raise TypeError(f"{item!r} is not a storefront.plugins.Setting")
    keys = [s.key for s in declared]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ValueError(f"setting keys declared twice: {', '.join(repeated)}")
    return declared


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingValue:
    """A setting's current value and where it comes from (for forms and the CLI)."""

    setting: Setting
    value: Any
    source: Literal["default", "saved", "config"]
    #: The config key that overrides it (set or not).
    config_key: str = ""

    @property
    def shown(self) -> str:
        return self.setting.as_text(self.value)


def _resolve(name: str) -> dict[str, SettingValue]:
    info = manager.known_plugin(name)
    registry = manager.state()
    saved = registry.states.settings.get(name, {})
    config = current_app.config
    resolved = {}
    for setting in info.settings:
        key = manager.config_key(name, setting.key)
        value, source = setting.default, "default"
        if setting.key in saved:
            try:
                value, source = setting.coerce(saved[setting.key]), "saved"
            except SettingError as exc:
                # The declaration changed since the value was saved (plugin upgrade).
                log.warning("plugin %r: saved %s ignored (%s); using the default",
                            name, setting.key, exc.message)
        if key in config:
            value, source = setting.coerce(config[key]), "config"
        resolved[setting.key] = SettingValue(setting, value, source, key)
    return resolved


def get_settings(name: str) -> Mapping[str, Any]:
    """The current settings of plugin ``name`` as a read-only mapping.

    Every declared key is present; an undeclared key is a KeyError. Refreshed from the
    database at most every ``PLUGINS_REFRESH_SECONDS``, so read it when you need it
    (per call, not once at import time).
    """
    manager.refresh()
    cache = manager.state().settings_cache
    if name not in cache:
        cache[name] = MappingProxyType({key: item.value for key, item in _resolve(name).items()})
    return cache[name]


def describe_settings(name: str) -> list[SettingValue]:
    """Each declared setting of ``name`` with its current value and source, in order."""
    manager.refresh()
    return list(_resolve(name).values())


# --- saving ----------------------------------------------------------------------------------------


def save_settings(name: str, submitted: Mapping[str, Any], *, actor: Any = None) -> Mapping[str, Any]:
    """Validate and save settings of plugin ``name`` (all or nothing).

    ``submitted`` maps keys to new values (text from a form or the CLI, or Python
    values). Keys not submitted keep their saved value; a blank secret keeps the
    saved secret. Refused, with every problem in :class:`SettingsInvalid`: undeclared
    keys, invalid values, and keys set by a ``PLUGIN_<NAME>_<KEY>`` config value
    (change those in the config). The change is audited (secrets as "(changed)"),
    ``actor`` being the staff user (None from the CLI). Returns the new settings.
    """
    info = manager.known_plugin(name)
    if not info.loaded:
        # Without its declaration nothing can be validated, and saving would wipe the rest.
        raise InvalidInput(f"{name} is not loaded ({info.status}: {info.reason}); "
                           f"its settings cannot be changed until it loads.")
    declared = {setting.key: setting for setting in info.settings}
    saved = dict(manager.state().states.settings.get(name, {}))
    document = {key: value for key, value in saved.items() if key in declared}
    errors: dict[str, str] = {}
    for key, raw in submitted.items():
        setting = declared.get(key)
        if setting is None:
            errors[key] = (f"{name} has no setting {key!r}; its settings are: "
                           f"{', '.join(declared) or 'none'}.")
            continue
        if manager.config_key(name, key) in current_app.config:
            errors[key] = (f"{setting.label} is set by {manager.config_key(name, key)} in the "
                           f"config; change it there.")
            continue
        if setting.secret and isinstance(raw, str) and raw == "":
            continue  # blank secret field: keep what is saved
        try:
            value = setting.coerce(raw)
        except SettingError as exc:
            errors[key] = exc.message
            continue
        document[key] = list(value) if isinstance(value, tuple) else value
    if errors:
        raise SettingsInvalid(errors)
    before = {s.key: s.default for s in declared.values()} | {
        key: value for key, value in saved.items() if key in declared}
    after = {s.key: s.default for s in declared.values()} | document
    manager.write_state(name, version=info.version, settings=document,
                        audit_action="plugin.settings_saved", actor=actor,
                        before=_audit_view(declared, before, before), after=_audit_view(declared, after, before))
    return get_settings(name)


def _audit_view(declared: Mapping[str, Setting], values: Mapping[str, Any],
                previous: Mapping[str, Any]) -> dict[str, Any]:
    """Values for the audit log: secrets never appear, only whether they changed."""
    view: dict[str, Any] = {}
    for key, value in values.items():
        if declared[key].secret:
            view[key] = "(changed)" if value != previous.get(key) else ("(set)" if value else "(empty)")
        else:
            view[key] = list(value) if isinstance(value, tuple) else value
    return view


def text_settings(current: Iterable[SettingValue]) -> dict[str, str]:
    """``{key: shown text}`` — what a form pre-fills (secrets masked to "")."""
    return {item.setting.key: "" if item.setting.secret else item.shown for item in current}
