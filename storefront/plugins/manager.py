"""Finding, loading, switching and calling plugins.

Names quoted by the docs are defined here, once: :data:`PROJECT_NAME`,
:data:`HOOK_PREFIX`, :data:`SLOT_PREFIX`, :data:`ENTRY_POINT_GROUP`.

*Code vs data.* Which plugins are **loaded** is code: decided at start-up from the
installed entry points, :data:`CORE_PLUGINS`, ``create_app(plugins=…)``,
``PLUGINS_EXTRA``, minus ``PLUGINS_BLOCKED`` and everything in safe mode
(``PLUGINS_AUTOLOAD=False``) — those are never even imported. Whether a loaded plugin is
**enabled**, and its settings, is data in the ``plugin_state`` table: every process
re-reads it at most every ``PLUGINS_REFRESH_SECONDS`` (a one-row query tells whether
anything changed), so a switch in the back office or ``flask plugins disable`` reaches
every web and worker process within seconds, without a restart.

*Isolation.* The core calls hooks through :func:`notify` (events), :func:`collect`
(contributions), :func:`decide` (first result), :func:`providers` / :func:`provider`
(payment gateways, search backends) and :func:`storefront.plugins.slots.render_slot`.
Each calls every enabled plugin's implementation on its own, so one plugin's exception
never hides another's answer, and turns failures into log lines, counts and — where
the caller must react — domain errors.

All state lives on ``app.extensions[EXTENSION_KEY]`` (a :class:`PluginRegistry`).
"""
from __future__ import annotations

import importlib
import json
import logging
import os
import re
import time
import types
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Callable, Iterator, Literal, Mapping

import pluggy
from flask import Flask, abort, current_app, request
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .. import __version__ as CORE_VERSION
from ..config import ConfigurationError
from ..errors import NotFound
from ..extensions import db
from .models import PluginState
from .types import PluginFailure, UnknownProvider

log = logging.getLogger(__name__)

#: pluggy project name: ``HookspecMarker(PROJECT_NAME)`` / ``HookimplMarker(PROJECT_NAME)``.
PROJECT_NAME = "storefront"
#: Every hook's name starts with this.
HOOK_PREFIX = "storefront_"
#: Template slot hooks: ``storefront_tpl_<slot name>``.
SLOT_PREFIX = "storefront_tpl_"
#: Installed plugins declare an entry point in this group; its name is the plugin's name.
ENTRY_POINT_GROUP = "storefront.plugins"
#: A plugin's distribution is ``storefront-<kind>-<name>``, its import package ``storefront_<name>``.
DISTRIBUTION_PREFIX = "storefront-"
PACKAGE_PREFIX = "storefront_"
#: Where the :class:`PluginRegistry` lives on ``app.extensions``.
EXTENSION_KEY = "storefront.plugins"
#: Module attribute with the core versions a plugin supports, e.g. ``">=0.1,<1"``.
REQUIRES_ATTRIBUTE = "STOREFRONT_REQUIRES"
#: Module attribute with the plugin's declared settings (a list of ``Setting``).
SETTINGS_ATTRIBUTE = "SETTINGS"
#: Optional attribute naming a plugin object passed to ``create_app(plugins=…)``.
NAME_ATTRIBUTE = "PLUGIN_NAME"
#: Config keys ``PLUGIN_<NAME>_<KEY>`` override saved settings.
CONFIG_OVERRIDE_PREFIX = "PLUGIN_"

#: The core's own hook implementations, registered first, always enabled.
CORE_PLUGINS: tuple[str, ...] = (
    "storefront.plugins.core_defaults",
)

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

BLOCKED_REASON = "listed in PLUGINS_BLOCKED: not imported"

# Plugin names become DB keys, config prefixes and blueprint names.
PLUGIN_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")

Status = Literal["loaded", "blocked", "safe-mode", "incompatible", "broken", "refused"]
Source = Literal["core", "installed", "extra"]


class PluginSetupError(ConfigurationError):
    """A plugin failed while the app was being built; the message names it and the fix."""


class UnknownPlugin(NotFound):
    """There is no plugin with that name."""

    code = "unknown_plugin"


# --- what we know about each plugin ------------------------------------------------------------


@dataclass(frozen=True)
class PluginInfo:
    """One discovered plugin, loaded or not, with the reason when not."""

    name: str
    source: Source
    status: Status
    #: Why it is not loaded (blocked, incompatible, import error …); empty when loaded.
    reason: str = ""
    distribution: str = ""
    version: str = ""
    summary: str = ""
    #: The core versions it declares to support (``STOREFRONT_REQUIRES``).
    requires: str = ""
    #: Jobs whose module is this one or below it belong to the plugin.
    module: str = ""
    #: Declared settings (``storefront.plugins.Setting`` objects).
    settings: tuple = ()
    plugin: Any = field(default=None, repr=False, compare=False)

    @property
    def loaded(self) -> bool:
        return self.status == "loaded"

    @property
    def is_core(self) -> bool:
        return self.source == "core"

    def owns_module(self, module_name: str) -> bool:
        return bool(self.module) and (module_name == self.module
                                      or module_name.startswith(self.module + "."))


@dataclass(frozen=True)
class PluginStates:
    """The ``plugin_state`` table as this process last read it."""

    #: (row count, sum of revisions): changes whenever any row is written.
    fingerprint: tuple[int, int] | None = None
    enabled: Mapping[str, bool] = field(default_factory=dict)
    #: Saved settings documents, by plugin name (raw JSON values, validated on read).
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass
class PluginRegistry:
    """Everything plugin-related of one app (kept on ``app.extensions``)."""

    pm: pluggy.PluginManager
    plugins: dict[str, PluginInfo]
    refresh_seconds: float
    states: PluginStates = field(default_factory=PluginStates)
    checked_at: float = float("-inf")
    #: Blueprint name → plugin name, for the 404 gate.
    blueprint_owners: dict[str, str] = field(default_factory=dict)
    #: (plugin, hook) → failures since this process started.
    failures: Counter = field(default_factory=Counter)
    state_unreadable_logged: bool = False
    # Derived from `states`; replaced (not cleared) when they change, so a thread still
    # holding the old dict cannot mix old and new.
    hook_callers: dict[str, Any] = field(default_factory=dict)
    settings_cache: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def is_enabled(self, name: str) -> bool:
        """Loaded and not switched off (core plugins cannot be switched off)."""
        info = self.plugins.get(name)
        if info is None or not info.loaded:
            return False
        return info.is_core or self.states.enabled.get(name, True)

    def disabled_objects(self) -> list[Any]:
        return [info.plugin for info in self.plugins.values()
                if info.loaded and not self.is_enabled(info.name)]

    def enabled_hook(self, hook_name: str):
        """The hook caller restricted to enabled plugins (pluggy's subset caller)."""
        callers = self.hook_callers  # this snapshot's cache, even if states change meanwhile
        caller = callers.get(hook_name)
        if caller is None:
            if not hasattr(self.pm.hook, hook_name):
                raise ValueError(f"no hook named {hook_name!r}; see storefront/plugins/hookspecs.py")
            disabled = self.disabled_objects()
            caller = (self.pm.subset_hook_caller(hook_name, remove_plugins=disabled) if disabled
                      else getattr(self.pm.hook, hook_name))
            callers[hook_name] = caller
        return caller

    def replace_states(self, states: PluginStates) -> None:
        self.states = states
        self.hook_callers = {}
        self.settings_cache = {}

    def owner_of_module(self, module_name: str) -> PluginInfo | None:
        for info in self.plugins.values():
            if not info.is_core and info.owns_module(module_name):
                return info
        return None


def state(app: Flask | None = None) -> PluginRegistry:
    """The plugin registry of ``app`` (default: the current app)."""
    return (app or current_app).extensions[EXTENSION_KEY]


# --- loading --------------------------------------------------------------------------------------


def init_app(app: Flask, extra: tuple = ()) -> PluginRegistry:
    """Load plugins onto ``app`` and wire them in (everything but blueprints and app-ready).

    ``extra`` holds plugin objects or import paths (``create_app(plugins=…)``); the
    ``PLUGINS_EXTRA`` config key adds import paths.
    """
    from . import commands, slots

    registry = load_plugins(app, tuple(extra) + tuple(app.config["PLUGINS_EXTRA"]))
    app.extensions[EXTENSION_KEY] = registry
    with app.app_context():
        refresh(app, force=True)
    check_config_overrides(app)
    app.before_request(_refresh_and_gate_blueprints)
    from .. import jobs

    jobs.state(app).guards.append(refuse_jobs_of_disabled_plugins)
    app.jinja_env.globals["slot"] = slots.render_slot
    app.cli.add_command(commands.build_plugins_group(setup_results(app, "storefront_cli_commands")))
    _add_migration_dirs_callback()
    return registry


def load_plugins(app: Flask, extra: tuple = ()) -> PluginRegistry:
    """Build the plugin manager: core plugins, installed entry points, then ``extra``.

    Blocked plugins and, in safe mode, all installed ones are recorded *without being
    imported*. An installed plugin must declare the core versions it supports; one
    that does not fit is imported but not registered, and the reason is kept.
    """
    from . import hookspecs

    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    found: dict[str, PluginInfo] = {}

    for path in CORE_PLUGINS:
        module = importlib.import_module(path)
        name = "core." + path.rsplit(".", 1)[-1]
        found[name] = _register(pm, PluginInfo(name, "core", "loaded", module=path), module)

    autoload = bool(app.config["PLUGINS_AUTOLOAD"])
    blocked = set(app.config["PLUGINS_BLOCKED"])
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        info = _describe_entry_point(ep)
        if info.name in found:
            info = replace(info, status="refused",
                           reason=f"the name {info.name!r} is already used by "
                                  f"{found[info.name].distribution or 'another plugin'}")
        elif not PLUGIN_NAME_PATTERN.fullmatch(info.name):
            info = replace(info, status="refused", reason=_bad_name(info.name))
        elif info.name in blocked:
            info = replace(info, status="blocked", reason=BLOCKED_REASON)
        elif not autoload:
            info = replace(info, status="safe-mode",
                           reason="safe mode (PLUGINS_AUTOLOAD is off): not imported")
        else:
            try:
                plugin = ep.load()
            except Exception as exc:  # noqa: BLE001 - any import failure is the plugin's
                log.exception("plugin %r could not be imported", info.name)
                info = replace(info, status="broken", reason=f"import failed: {exc!r}")
            else:
                info = _register(pm, info, plugin, require_declaration=True)
        if info.name not in found:
            found[info.name] = info

    for item in extra:
        _load_extra(pm, found, item, blocked)

    if app.debug or app.testing:
        # A hookimpl without a spec is a typo; fail while the developer is watching.
        pm.check_pending()
    return PluginRegistry(pm=pm, plugins=found,
                          refresh_seconds=float(app.config["PLUGINS_REFRESH_SECONDS"]))


def _load_extra(pm: pluggy.PluginManager, found: dict[str, PluginInfo], item: Any,
                blocked: set[str]) -> None:
    """Register one ``create_app(plugins=…)`` / ``PLUGINS_EXTRA`` item into ``found``.

    An import path whose plugin is blocked is not imported. An item that is an
    installed plugin loads once, with its distribution metadata, even in safe mode
    (it was asked for by name).
    """
    def record_blocked(name: str, module: str) -> None:
        found.setdefault(name, PluginInfo(name, "extra", "blocked", BLOCKED_REASON, module=module))

    if isinstance(item, str):
        if _name_for_module(item) in blocked:
            record_blocked(_name_for_module(item), item)
            return
        item = importlib.import_module(item)
    name = plugin_name(item)
    if any(info.plugin is item for info in found.values()):
        return  # already loaded from its entry point (a plugin's own tests do this)
    if name in blocked:
        record_blocked(name, _module_of(item))
        return
    existing = found.get(name)
    if existing is not None and existing.status != "safe-mode":
        raise PluginSetupError(f"extra plugin {item!r}: the name {name!r} is taken; "
                               f"give it another {NAME_ATTRIBUTE}")
    if not PLUGIN_NAME_PATTERN.fullmatch(name):
        raise PluginSetupError(f"extra plugin {item!r}: {_bad_name(name)}; set its {NAME_ATTRIBUTE}")
    base = (replace(existing, status="loaded", reason="") if existing is not None
            else PluginInfo(name, "extra", "loaded", module=_module_of(item)))
    info = _register(pm, base, item)
    if not info.loaded:
        raise PluginSetupError(f"extra plugin {name!r} was not registered: {info.reason}")
    found[name] = info


def _name_for_module(module_name: str) -> str:
    """The plugin name of module ``module_name``: its installed entry point's name, or
    its last part without the ``storefront_`` prefix (``storefront_flatrate`` → ``flatrate``)."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.value == module_name:
            return ep.name
    return module_name.rsplit(".", 1)[-1].removeprefix(PACKAGE_PREFIX)


def plugin_name(plugin: Any) -> str:
    """The name of a plugin object given to ``create_app(plugins=…)``.

    Its ``PLUGIN_NAME`` attribute; else, for a module, the name of the installed entry
    point naming it, or its name without the ``storefront_`` prefix
    (``storefront_flatrate`` → ``flatrate``); else its class name in lower case.
    """
    explicit = getattr(plugin, NAME_ATTRIBUTE, None)
    if isinstance(explicit, str):
        return explicit
    if isinstance(plugin, types.ModuleType):
        return _name_for_module(plugin.__name__)
    cls = plugin if isinstance(plugin, type) else type(plugin)
    return cls.__name__.lower()


def _module_of(plugin: Any) -> str:
    if isinstance(plugin, types.ModuleType):
        return plugin.__name__
    return plugin.__module__ if isinstance(plugin, type) else type(plugin).__module__


def _bad_name(name: str) -> str:
    return (f"the name {name!r} is not a valid plugin name "
            f"(lower-case letters, digits and _, starting with a letter, at most 64)")


def _describe_entry_point(ep: EntryPoint) -> PluginInfo:
    """What the admin page shows about an installed plugin, read without importing it."""
    dist = ep.dist
    summary = ""
    if dist is not None:
        summary = dist.metadata.get("Summary") or ""
    top_package = ep.module.split(".", 1)[0]
    # Jobs under the plugin's top-level package are its own (unless it lives in ours).
    module = ep.module if top_package == PROJECT_NAME else top_package
    return PluginInfo(name=ep.name, source="installed", status="loaded",
                      distribution=dist.name if dist else "", version=dist.version if dist else "",
                      summary=summary, module=module)


def _register(pm: pluggy.PluginManager, info: PluginInfo, plugin: Any, *,
              require_declaration: bool = False) -> PluginInfo:
    """Check ``plugin`` and register it; the returned info says whether it was."""
    from .settings import check_declaration

    requires = getattr(plugin, REQUIRES_ATTRIBUTE, None)
    if requires is None and require_declaration:
        return replace(info, status="incompatible",
                       reason=f"declares no {REQUIRES_ATTRIBUTE} (e.g. {REQUIRES_ATTRIBUTE} = \">=0.1,<1\")")
    if requires is not None:
        try:
            fits = supports_version(str(requires), CORE_VERSION)
        except ValueError as exc:
            return replace(info, status="incompatible", requires=str(requires),
                           reason=f"{REQUIRES_ATTRIBUTE} is not a version range: {exc}")
        info = replace(info, requires=str(requires))
        if not fits:
            return replace(info, status="incompatible",
                           reason=f"supports Storefront {requires}, this is {CORE_VERSION}")
    try:
        settings = check_declaration(getattr(plugin, SETTINGS_ATTRIBUTE, ()) or ())
    except (TypeError, ValueError) as exc:
        return replace(info, status="refused", reason=f"bad {SETTINGS_ATTRIBUTE}: {exc}")
    try:
        pm.register(plugin, name=info.name)
    except (ValueError, pluggy.PluginValidationError) as exc:
        return replace(info, status="refused", reason=str(exc))
    wrappers = [impl.hookwrapper or impl.wrapper for caller in pm.get_hookcallers(plugin) or ()
                for impl in caller.get_hookimpls() if impl.plugin is plugin]
    if any(wrappers):
        pm.unregister(plugin)
        return replace(info, status="refused",
                       reason="uses a hook wrapper; Storefront calls each implementation on its own")
    return replace(info, status="loaded", reason="", settings=settings, plugin=plugin)


# --- core-version ranges -----------------------------------------------------------------------------


def supports_version(requirement: str, version: str) -> bool:
    """Does ``version`` satisfy ``requirement`` (a PEP 440 range such as ``">=0.1,<1"``)?

    Raises ValueError for a malformed range. Uses :mod:`packaging` when installed,
    else a small comparator for the common operators (``>= > <= < == !=``).
    """
    try:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet
        from packaging.version import Version
    except ImportError:  # pragma: no cover - packaging ships with pip's environments
        return _supports_version_simple(requirement, version)
    try:
        return SpecifierSet(requirement).contains(Version(version), prereleases=True)
    except InvalidSpecifier as exc:
        raise ValueError(str(exc)) from None


_CLAUSE = re.compile(r"\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)*)\s*")


def _supports_version_simple(requirement: str, version: str) -> bool:
    def parts(text: str) -> tuple[int, ...]:
        numbers = [int(p) for p in text.split(".")]
        while len(numbers) > 1 and numbers[-1] == 0:
            numbers.pop()  # 1.0 == 1
        return tuple(numbers)

    have = parts(re.match(r"\d+(?:\.\d+)*", version).group(0))  # type: ignore[union-attr]
    checks: dict[str, Callable[[tuple, tuple], bool]] = {
        ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
        "<": lambda a, b: a < b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}
    clauses = [c for c in requirement.split(",") if c.strip()]
    if not clauses:
        raise ValueError(f"empty version range {requirement!r}")
    for clause in clauses:
        match = _CLAUSE.fullmatch(clause)
        if match is None:
            raise ValueError(f"cannot read {clause.strip()!r} (use e.g. \">=0.1,<1\")")
        if not checks[match.group(1)](have, parts(match.group(2))):
            return False
    return True


# --- settings overrides from config ----------------------------------------------------------------


def config_key(plugin: str, key: str) -> str:
    """The config key overriding a setting: ``PLUGIN_<NAME>_<KEY>``."""
    return f"{CONFIG_OVERRIDE_PREFIX}{plugin}_{key}".upper()


def check_config_overrides(app: Flask) -> None:
    """Refuse to start with a ``PLUGIN_<NAME>_<KEY>`` value its declaration rejects."""
    from .settings import SettingError

    for info in state(app).plugins.values():
        for setting in info.settings:
            key = config_key(info.name, setting.key)
            if key in app.config:
                try:
                    setting.coerce(app.config[key])
                except SettingError as exc:
                    raise ConfigurationError(f"{key}: {exc.message}") from None


# --- enabled state: read, refresh, write --------------------------------------------------------------


def refresh(app: Flask | None = None, *, force: bool = False) -> None:
    """Re-read the ``plugin_state`` table if ``PLUGINS_REFRESH_SECONDS`` passed (or ``force``).

    Costs one aggregate query per interval; rows are loaded only when something
    changed. An unreadable table (not migrated yet, database down) keeps what this
    process knew — at start-up that is "every plugin enabled, default settings".
    """
    app = app or current_app._get_current_object()
    registry = state(app)
    now = time.monotonic()
    if not force and now - registry.checked_at < registry.refresh_seconds:
        return
    registry.checked_at = now
    try:
        # Its own short transaction: a request's open one could show a stale snapshot
        # (MariaDB's REPEATABLE READ), and reading must not disturb it.
        with db.engine.connect() as connection:
            count, total = connection.execute(
                select(func.count(), func.coalesce(func.sum(PluginState.revision), 0))).one()
            fingerprint = (int(count), int(total))
            if fingerprint == registry.states.fingerprint and not force:
                return
            rows = connection.execute(
                select(PluginState.name, PluginState.enabled, PluginState.settings)).all()
    except SQLAlchemyError as exc:
        if not registry.state_unreadable_logged:
            registry.state_unreadable_logged = True
            log.warning("plugin_state is unreadable (%s); run `flask db upgrade`. Until then "
                        "every plugin counts as enabled, with default settings.", exc.__class__.__name__)
        return
    registry.replace_states(PluginStates(
        fingerprint=fingerprint,
        enabled={row.name: bool(row.enabled) for row in rows},
        settings={row.name: _read_document(row.name, row.settings) for row in rows},
    ))


def _read_document(name: str, raw: str | None) -> Mapping[str, Any]:
    try:
        document = json.loads(raw or "{}")
    except ValueError:
        log.error("saved settings of plugin %r are not JSON; using defaults", name)
        return {}
    return document if isinstance(document, dict) else {}


def known_plugin(name: str, app: Flask | None = None) -> PluginInfo:
    """The plugin called ``name``, or :class:`UnknownPlugin` listing the known ones."""
    registry = state(app)
    info = registry.plugins.get(name)
    if info is None or info.is_core:
        names = ", ".join(sorted(n for n, i in registry.plugins.items() if not i.is_core)) or "none"
        raise UnknownPlugin(f"There is no plugin named {name!r}. Installed: {names}.")
    return info


def set_enabled(name: str, enabled: bool, *, actor: Any = None) -> PluginInfo:
    """Switch a plugin on or off for every process (within ``PLUGINS_REFRESH_SECONDS``).

    Raises :class:`UnknownPlugin` for a name that is not installed. A plugin that is
    not loaded here (blocked, incompatible …) may still be switched: the state is data
    and applies once the plugin loads. ``actor`` (the staff user, None from the CLI)
    is written to the audit log.
    """
    info = known_plugin(name)
    before = state().states.enabled.get(name, True)
    write_state(name, version=info.version, enabled=enabled,
                audit_action=f"plugin.{'enabled' if enabled else 'disabled'}", actor=actor,
                before={"enabled": before}, after={"enabled": enabled})
    return info


def write_state(name: str, *, version: str = "", enabled: bool | None = None,
                settings: Mapping[str, Any] | None = None, audit_action: str | None = None,
                actor: Any = None, before: dict | None = None, after: dict | None = None) -> None:
    """Insert or update a ``plugin_state`` row, bump its revision, commit (with its audit
    event, when ``audit_action`` is given), and refresh this process at once (others
    follow within ``PLUGINS_REFRESH_SECONDS``)."""
    from .. import audit

    for attempt in (1, 2):
        row = db.session.get(PluginState, name, with_for_update=True, populate_existing=True)
        if row is None:
            row = PluginState(name=name, enabled=True, settings="{}", revision=0)
            db.session.add(row)
        if enabled is not None:
            row.enabled = enabled
        if settings is not None:
            row.settings = json.dumps(dict(settings), sort_keys=True)
        row.version_seen = version or row.version_seen
        row.updated_at = datetime.now(timezone.utc).replace(tzinfo=None)
        row.revision = (row.revision or 0) + 1
        if audit_action:
            audit.record(audit_action, actor=actor, target_type="plugin", target_id=name,
                         before=before, after=after)
        try:
            db.session.commit()
            break
        except IntegrityError:
            # Another process inserted the row first; update theirs.
            db.session.rollback()
            if attempt == 2:
                raise
    refresh(force=True)


# --- request and job gates ------------------------------------------------------------------------------


def _refresh_and_gate_blueprints() -> None:
    """Before each request: pick up switches made elsewhere; a disabled plugin's pages 404."""
    refresh()
    if request.blueprint:
        owner = state().blueprint_owners.get(request.blueprint.split(".", 1)[0])
        if owner is not None and not state().is_enabled(owner):
            abort(404)


def refuse_jobs_of_disabled_plugins(job_path: str) -> None:
    """Job guard: a job from a disabled (or not loaded) plugin's package is refused."""
    from ..jobs import JobRefused

    refresh()
    registry = state()
    owner = registry.owner_of_module(job_path.partition(":")[0])
    if owner is not None and not registry.is_enabled(owner.name):
        why = "disabled" if owner.loaded else owner.reason
        raise JobRefused(f"job {job_path} belongs to plugin {owner.name!r}, which is {why}")


# --- setup hooks (once per process, every loaded plugin) --------------------------------------------------


def setup_results(app: Flask, hook_name: str, /, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call a setup hook on every loaded plugin (enabled or not): ``[(plugin, result)]``.

    A plugin that raises stops start-up with a :class:`PluginSetupError` naming it and
    the kill switch: half a plugin is worse than none.
    """
    results = []
    for impl in reversed(getattr(state(app).pm.hook, hook_name).get_hookimpls()):
        try:
            value = impl.function(*(kwargs[arg] for arg in impl.argnames))
        except Exception as exc:
            raise PluginSetupError(
                f"plugin {impl.plugin_name!r} failed in {hook_name}: {exc!r}. Fix or upgrade it, "
                f"or keep it from loading with PLUGINS_BLOCKED = [{impl.plugin_name!r}]") from exc
        if value is not None:
            results.append((impl.plugin_name, value))
    return results


def register_blueprints(app: Flask) -> None:
    """Register the blueprints plugins return (after the core's); gate them by plugin."""
    registry = state(app)
    for plugin, blueprints in setup_results(app, "storefront_blueprints"):
        for blueprint in blueprints:
            if blueprint.name != plugin and not blueprint.name.startswith(plugin + "_"):
                raise PluginSetupError(f"plugin {plugin!r} returned blueprint {blueprint.name!r}; "
                                       f"name it {plugin!r} or '{plugin}_…'")
            app.register_blueprint(blueprint)
            registry.blueprint_owners[blueprint.name] = plugin


def app_ready(app: Flask) -> None:
    """Last step of create_app(): ``storefront_app_ready`` for every loaded plugin."""
    setup_results(app, "storefront_app_ready", app=app)


def migration_dirs(app: Flask) -> list[str]:
    return [path for _plugin, paths in setup_results(app, "storefront_migration_dirs") for path in paths]


def _configure_alembic(config):
    """Flask-Migrate callback: add plugins' version directories to Alembic's search path."""
    extra = migration_dirs(current_app._get_current_object())
    if extra:
        core = os.path.join(config.get_main_option("script_location"), "versions")
        # Paths may hold spaces: separate them the OS way, and tell Alembic so.
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", os.pathsep.join([core, *extra]))
    return config


def _add_migration_dirs_callback() -> None:
    from ..extensions import migrate

    # The Migrate object is shared by every app of the process: add the callback once.
    if _configure_alembic not in migrate.configure_callbacks:
        migrate.configure(_configure_alembic)


# --- calling hooks with isolation ----------------------------------------------------------------------------


def raise_errors(app: Flask | None = None) -> bool:
    """Tests see a plugin's exception (``TESTING`` and ``PLUGINS_RAISE_ERRORS``)."""
    app = app or current_app
    return bool(app.testing and app.config["PLUGINS_RAISE_ERRORS"])


@dataclass(frozen=True)
class Answer:
    """One enabled plugin's return value from a hook."""

    plugin: str
    value: Any


def implementations(hook_name: str, kwargs: Mapping[str, Any]) -> Iterator[tuple[str, Callable[[], Any]]]:
    """``(plugin, call)`` for each enabled implementation of ``hook_name``, in pluggy's
    call order (tryfirst … trylast, later registrations first)."""
    refresh()
    caller = state().enabled_hook(hook_name)
    expected = set(caller.spec.argnames) if caller.spec else set()
    if set(kwargs) != expected:
        raise TypeError(f"{hook_name} takes {sorted(expected)}, was called with {sorted(kwargs)}")
    for impl in reversed(caller.get_hookimpls()):
        args = tuple(kwargs[arg] for arg in impl.argnames)
        yield impl.plugin_name, (lambda function=impl.function, args=args: function(*args))


def contain(plugin: str, hook_name: str, exc: BaseException, what: str = "left out") -> None:
    """Record a contained plugin failure: count it, log it, and re-raise it in tests."""
    state().failures[(plugin, hook_name)] += 1
    log.error("plugin %r failed in %s (%s)", plugin, hook_name, what, exc_info=exc)
    if raise_errors():
        raise exc


def notify(event: str, **kwargs: Any) -> None:
    """Fire an event hook (``storefront_order_paid`` …) on every enabled plugin.

    Call it after the commit. A plugin's exception is logged and counted and never
    reaches the caller — except in tests with ``PLUGINS_RAISE_ERRORS`` on, where it is
    re-raised so the bug shows.
    """
    for plugin, call in implementations(event, kwargs):
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - isolation is the point
            contain(plugin, event, exc, "event ignored")


def collect_answers(hook_name: str, **kwargs: Any) -> list[Answer]:
    """Every enabled plugin's list contribution, flattened, each item with its plugin.

    A plugin that raises, or returns something that is not a list, is left out (logged,
    counted; re-raised in tests with ``PLUGINS_RAISE_ERRORS``).
    """
    answers = []
    for plugin, call in implementations(hook_name, kwargs):
        try:
            value = call()
            if value is None:
                continue
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"{hook_name} must return a list or None, got {type(value).__name__}")
        except Exception as exc:  # noqa: BLE001
            contain(plugin, hook_name, exc)
            continue
        answers.extend(Answer(plugin, item) for item in value)
    return answers


def collect(hook_name: str, **kwargs: Any) -> list[Any]:
    """The flattened contributions of every enabled plugin (see :func:`collect_answers`)."""
    return [answer.value for answer in collect_answers(hook_name, **kwargs)]


def decide(hook_name: str, **kwargs: Any) -> Any:
    """The first non-None answer of a first-result hook (the core default answers last).

    A plugin that raises stops the decision with :class:`PluginFailure`: guessing past a
    broken tax plugin would charge the wrong amount.
    """
    for plugin, call in implementations(hook_name, kwargs):
        try:
            value = call()
        except Exception as exc:  # noqa: BLE001
            state().failures[(plugin, hook_name)] += 1
            log.error("plugin %r failed in %s", plugin, hook_name, exc_info=exc)
            raise PluginFailure(plugin=plugin) from exc
        if value is not None:
            return value
    return None


# --- providers --------------------------------------------------------------------------------------------------


class GuardedProvider:
    """A plugin's provider object whose failures become ``error`` (a domain error).

    Attribute reads pass through; a method that raises anything but a
    :class:`~storefront.errors.StorefrontError` (a deliberate domain outcome) is
    logged, counted, and re-raised as ``error`` so the calling service can answer
    the shopper cleanly.
    """

    def __init__(self, provider: Any, plugin: str, error: type[PluginFailure]):
        self._provider = provider
        self._plugin = plugin
        self._error = error

    @property
    def plugin(self) -> str:
        return self._plugin

    @property
    def unwrapped(self) -> Any:
        return self._provider

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._provider, name)
        if not callable(value):
            return value

        def guarded(*args: Any, **kwargs: Any) -> Any:
            from ..errors import StorefrontError

            try:
                return value(*args, **kwargs)
            except StorefrontError:
                raise
            except Exception as exc:  # noqa: BLE001
                hook = f"{type(self._provider).__name__}.{name}"
                state().failures[(self._plugin, hook)] += 1
                log.error("plugin %r failed in %s", self._plugin, hook, exc_info=exc)
                raise self._error(plugin=self._plugin) from exc

        return guarded

    def __repr__(self) -> str:
        return f"<GuardedProvider {self._plugin}:{getattr(self._provider, 'id', '?')}>"


def providers(hook_name: str, error: type[PluginFailure] = PluginFailure) -> list[GuardedProvider]:
    """The provider objects of every enabled plugin, guarded, unique by ``id``.

    A second provider with an id already taken is left out (and logged).
    """
    found: dict[str, GuardedProvider] = {}
    for answer in collect_answers(hook_name):
        provider_id = getattr(answer.value, "id", None)
        if not isinstance(provider_id, str) or not provider_id:
            contain(answer.plugin, hook_name,
                    TypeError(f"{hook_name} returned {answer.value!r}, which has no string id"))
        elif provider_id in found:
            contain(answer.plugin, hook_name,
                    ValueError(f"{hook_name}: id {provider_id!r} is already taken by plugin "
                               f"{found[provider_id].plugin!r}"))
        else:
            found[provider_id] = GuardedProvider(answer.value, answer.plugin, error)
    return list(found.values())


def provider(hook_name: str, provider_id: str,
             error: type[PluginFailure] = PluginFailure) -> GuardedProvider:
    """The enabled provider with ``provider_id``, or :class:`UnknownProvider`."""
    for candidate in providers(hook_name, error):
        if candidate.id == provider_id:
            return candidate
    raise UnknownProvider()

