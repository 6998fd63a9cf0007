"""Themes: template lookup, theme static files, theme settings and template helpers.

A theme is a folder in ``THEMES_PATH``: ``theme.json``, ``templates/``, ``static/``.
Lookup order for ``render_template("catalog/home.html")``, first hit wins (the *layers*):

    active theme → its parent chain → ``default`` theme → app templates → blueprint templates

* ``{% extends "~layout.html" %}`` means "``layout.html`` as the layers *below this file's
  theme* provide it" — the original this override replaces. So an override can extend its
  original and change a single block. (From Python, ``~name`` means: below the active theme.)
* ``admin/…`` templates are never looked up in themes: the back office is not themeable.
* Deleting, adding or editing a theme file shows without a restart: Jinja asks the loader
  whether a cached template is still the one lookup would find, and the loader answers from
  memory except once every ``THEMES_REFRESH_SECONDS``.
* ``theme_static('css/site.css')`` serves a file from the same chain of themes, with a
  content-hash query for cache busting.

Every shipped template starts with ``{# template-version: N #}``. An override's *original*
is the template the layers below the overriding theme provide (what ``~name`` in it would
load); ``flask themes check`` reports every override whose version is older than its
original's, or missing.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterable

from flask import Blueprint, Flask, Response, abort, current_app, request, send_from_directory, url_for
from flask.templating import DispatchingJinjaLoader
from jinja2 import BaseLoader, Environment, TemplateNotFound

from .config import ConfigurationError
from .theme_settings import SavedThemeSettings, ThemeSetting, settings_stylesheet

log = logging.getLogger("storefront.themes")

EXTENSION_KEY = "storefront.themes"
DEFAULT_THEME = "default"
ORIGINAL_PREFIX = "~"
UNTHEMEABLE_PREFIXES = ("admin/",)
#: ``{# template-version: N #}`` on the first line of a template.
VERSION_COMMENT = re.compile(r"\{#-?\s*template-version:\s*(\d+)\s*-?#\}")
#: A theme's name is its folder's name (and a database key: 100 characters at most).
THEME_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
#: What ``~name`` becomes once Jinja knows the file asking for it: ``~<theme>:name`` is
#: "name, below <theme>"; ``~:name`` is "name, below every theme" (app and blueprints).
BELOW_THEME = re.compile(r"~([a-z0-9][a-z0-9_-]{0,99})?:(.+)", re.DOTALL)
#: theme.json fields; anything else is refused as a likely typo ("parnet").
MANIFEST_FIELDS = frozenset({"name", "label", "version", "parent", "settings",
                             "description", "author", "license", "homepage"})
#: Browsers may keep a versioned theme file this long; a changed file gets a new URL.
VERSIONED_MAX_AGE = 365 * 24 * 3600


@dataclass(frozen=True)
class Theme:
    """One theme folder, as declared by its ``theme.json``."""

    name: str
    path: str
    label: str
    version: str
    parent: str | None
    settings: tuple[ThemeSetting, ...] = ()
    description: str = ""

    @property
    def templates_dir(self) -> str:
        return os.path.join(self.path, "templates")

    @property
    def static_dir(self) -> str:
        return os.path.join(self.path, "static")


class ThemeError(ConfigurationError):
    """A theme folder or theme.json is unusable; the message names the file and the fix."""


# --- theme.json and the chain -----------------------------------------------------------------


def read_theme(path: str) -> Theme:
    """Load and validate ``<path>/theme.json``; :class:`ThemeError` names the file and field."""
    manifest = os.path.join(path, "theme.json")
    try:
        with open(manifest, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise ThemeError(f"{manifest}: missing; every theme folder needs a theme.json") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ThemeError(f"{manifest}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ThemeError(f"{manifest}: must be a JSON object")
    unknown = sorted(set(data) - MANIFEST_FIELDS)
    if unknown:
        raise ThemeError(f"{manifest}: unknown field(s) {', '.join(map(repr, unknown))}; "
                         f"allowed: {', '.join(sorted(MANIFEST_FIELDS))}")
    folder = os.path.basename(os.path.normpath(path))
    name = data.get("name")
    if not isinstance(name, str) or not THEME_NAME.fullmatch(name):
        raise ThemeError(f"{manifest}: \"name\" must be lower-case letters, digits, - or _ "
                         "(at most 100, starting with a letter or digit)")
    if name != folder:
        raise ThemeError(f"{manifest}: \"name\" is {name!r} but the folder is {folder!r}; "
                         "they must match")
    for key in ("label", "version", "description", "author", "license", "homepage"):
        if key in data and not isinstance(data[key], str):
            raise ThemeError(f"{manifest}: \"{key}\" must be a string"
                             + (", e.g. \"1.0.0\"" if key == "version" else ""))
    parent = data.get("parent")
    if parent is not None and (not isinstance(parent, str) or not THEME_NAME.fullmatch(parent)):
        raise ThemeError(f"{manifest}: \"parent\" must be a theme name or null")
    if parent == name:
        raise ThemeError(f"{manifest}: a theme cannot be its own parent")
    raw_settings = data.get("settings") or []
    if not isinstance(raw_settings, list):
        raise ThemeError(f"{manifest}: \"settings\" must be a list of objects")
    settings: list[ThemeSetting] = []
    for index, raw in enumerate(raw_settings):
        try:
            setting = ThemeSetting.from_declaration(raw)
        except ValueError as exc:
            raise ThemeError(f"{manifest}: settings[{index}]: {exc}") from None
        if any(s.key == setting.key for s in settings):
            raise ThemeError(f"{manifest}: settings[{index}]: key {setting.key!r} is declared twice")
        settings.append(setting)
    return Theme(name=name, path=os.path.abspath(path), label=data.get("label", name),
                 version=data.get("version", "0"), parent=parent, settings=tuple(settings),
                 description=data.get("description", ""))


def themes_path(app: Flask) -> list[str]:
    """THEMES_PATH as a list (a single path from the environment is split on ``os.pathsep``)."""
    value = app.config["THEMES_PATH"]
    if isinstance(value, str):
        return [part for part in value.split(os.pathsep) if part]
    return [str(part) for part in value]


def discover_themes(folders: Iterable[str]) -> dict[str, Theme]:
    """Every theme folder (one holding theme.json) in ``folders``; earlier folders win.

    Every theme found is validated, parents included, so a broken theme fails at start
    with its file named, not on the day someone switches to it.
    """
    found: dict[str, Theme] = {}
    for folder in folders:
        if not os.path.isdir(folder):
            continue
        for entry in sorted(os.listdir(folder)):
            path = os.path.join(folder, entry)
            if os.path.isfile(os.path.join(path, "theme.json")) and entry not in found:
                found[entry] = read_theme(path)
    for name in found:
        resolve_chain(found, name)
    return found


def resolve_chain(themes: dict[str, Theme], active: str) -> list[Theme]:
    """The active theme, its parents, then ``default`` — each once."""
    if active not in themes:
        raise ThemeError(f"THEME is {active!r} but no such theme is in THEMES_PATH; "
                         f"available: {', '.join(sorted(themes)) or 'none'}")
    chain: list[Theme] = []
    name: str | None = active
    while name is not None:
        if name not in themes:
            raise ThemeError(f"theme {chain[-1].name!r} ({chain[-1].path}/theme.json) names parent "
                             f"{name!r}, which is not in THEMES_PATH; available: "
                             f"{', '.join(sorted(themes))}")
        if any(theme.name == name for theme in chain):
            raise ThemeError(f"themes form a cycle: {' → '.join(t.name for t in chain)} → {name}")
        chain.append(themes[name])
        name = themes[name].parent
    if DEFAULT_THEME in themes and all(t.name != DEFAULT_THEME for t in chain):
        chain.append(themes[DEFAULT_THEME])
    return chain


def declared_settings(chain: list[Theme]) -> dict[str, ThemeSetting]:
    """The settings the chain declares; a child's declaration replaces its parent's."""
    declared: dict[str, ThemeSetting] = {}
    for theme in reversed(chain):
        for setting in theme.settings:
            declared[setting.key] = setting
    return declared


# --- template lookup ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FoundTemplate:
    """Where a template name resolved: ``layer`` indexes the chain; ``len(chain)`` means
    Flask's own loaders (app, then blueprints)."""

    source: str
    filename: str | None
    uptodate: Callable[[], bool]
    layer: int


class ThemeLoader(BaseLoader):
    """Looks a template up in the theme chain, then in Flask's own loaders (``fallback``).

    Install it with :meth:`install`, which also teaches the environment the relative
    meaning of ``~name``.
    """

    def __init__(self, chain: list[Theme], fallback: BaseLoader, *, refresh_seconds: float = 2.0,
                 clock: Callable[[], float] = time.monotonic, explain: bool = False):
        self.chain = list(chain)
        self.fallback = fallback
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.explain = explain
        # Name as Jinja asked for it → layer it came from; join_path needs it for "~".
        self._layer_of: dict[str, int] = {}

    @property
    def fallback_layer(self) -> int:
        return len(self.chain)

    def install(self, environment: Environment) -> None:
        environment.loader = self
        # Jinja passes every {% extends/include/import %} name through join_path together
        # with the name of the template asking; that is the only place "~" can learn which
        # layer it is relative to. Set on the instance: Flask already built the environment.
        environment.join_path = self.join_path  # type: ignore[method-assign]

    def join_path(self, template: str, parent: str) -> str:
        """``~name`` written in ``parent`` → ``~<parent's theme>:name`` (or ``~:name``)."""
        if not template.startswith(ORIGINAL_PREFIX) or BELOW_THEME.fullmatch(template):
            return template
        # A parent always went through get_source first; 0 (the active theme) is the
        # meaning of "~" outside any theme file.
        layer = self._layer_of.get(parent, 0)
        name = template[len(ORIGINAL_PREFIX):]
        if layer >= self.fallback_layer:
            return f"~:{name}"
        return f"~{self.chain[layer].name}:{name}"

    def split(self, template: str) -> tuple[str, int]:
        """(plain name, first layer to search) for a name as Jinja passes it."""
        match = BELOW_THEME.fullmatch(template)
        if match:
            below, name = match.group(1), match.group(2)
            if below is None:
                start = self.fallback_layer
            else:
                names = [theme.name for theme in self.chain]
                if below not in names:
                    raise TemplateNotFound(template, f"{template!r}: theme {below!r} is not in the "
                                                     f"active chain ({' → '.join(names)})")
                start = names.index(below) + 1
        elif template.startswith(ORIGINAL_PREFIX):
            name, start = template[len(ORIGINAL_PREFIX):], 1
        else:
            name, start = template, 0
        if name.startswith(UNTHEMEABLE_PREFIXES):
            start = self.fallback_layer
        return name, min(start, self.fallback_layer)

    def get_source(self, environment: Environment, template: str
                   ) -> tuple[str, str | None, Callable[[], bool]]:
        name, start = self.split(template)
        found = self.find(environment, name, start)
        self._layer_of[template] = found.layer
        return found.source, found.filename, found.uptodate

    def find(self, environment: Environment, name: str, start: int = 0) -> FoundTemplate:
        """The first layer from ``start`` on that has ``name``; TemplateNotFound otherwise."""
        for layer in range(start, self.fallback_layer):
            path = template_path(self.chain[layer].templates_dir, name)
            if path is None or not os.path.isfile(path):
                continue
            try:
                mtime = os.stat(path).st_mtime_ns
                with open(path, encoding="utf-8") as fh:
                    source = fh.read()
            except OSError:  # deleted between the check and the read: not there
                continue
            if self.explain:
                log.info("template %r: theme %s (%s)", name, self.chain[layer].name, path)
            return FoundTemplate(source, path, _Freshness(self, name, start, layer, path, mtime), layer)
        try:
            source, filename, uptodate = self.fallback.get_source(environment, name)
        except TemplateNotFound:
            searched = [t.name for t in self.chain[start:]]
            raise TemplateNotFound(name, f"{name!r} is in no theme ({', '.join(searched) or '-'}), "
                                         "nor in the app or blueprint templates") from None
        if self.explain:
            log.info("template %r: not in themes %s; Flask's loaders gave %s", name,
                     [t.name for t in self.chain[start:]], filename)
        return FoundTemplate(source, filename,
                             _Freshness(self, name, start, self.fallback_layer, None, None, uptodate),
                             self.fallback_layer)

    def list_templates(self) -> list[str]:
        names = set(self.fallback.list_templates())
        for theme in self.chain:
            names.update(n for n in theme_template_names(theme) if not n.startswith(UNTHEMEABLE_PREFIXES))
        return sorted(names)


class _Freshness:
    """Jinja's ``uptodate`` for one cached template: is it still what lookup would find?

    It is not when the file changed or vanished, or when a file of that name appeared in a
    layer searched before it (a new override). The answer is "yes" from memory until
    ``refresh_seconds`` have passed since the last look, so the per-render cost is a clock
    read.
    """

    def __init__(self, loader: ThemeLoader, name: str, start: int, layer: int, path: str | None,
                 mtime: int | None, inner: Callable[[], bool] | None = None):
        self.loader, self.name, self.start, self.layer = loader, name, start, layer
        self.path, self.mtime, self.inner = path, mtime, inner
        self.next_check = loader.clock() + loader.refresh_seconds

    def __call__(self) -> bool:
        now = self.loader.clock()
        if now < self.next_check:
            return True
        fresh = self._still_found_here()
        if fresh:
            self.next_check = now + self.loader.refresh_seconds
        return fresh

    def _still_found_here(self) -> bool:
        for layer in range(self.start, self.layer):
            earlier = template_path(self.loader.chain[layer].templates_dir, self.name)
            if earlier is not None and os.path.isfile(earlier):
                return False
        if self.path is not None:
            try:
                return os.stat(self.path).st_mtime_ns == self.mtime
            except OSError:
                return False
        return self.inner() if self.inner is not None else True


def template_path(folder: str, name: str) -> str | None:
    """``folder/name`` for a template or static name, or None if it tries to leave ``folder``."""
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return os.path.join(folder, *parts)


def theme_template_names(theme: Theme) -> list[str]:
    """Every template file a theme ships (``a/b.html`` form), hidden files left out."""
    names = []
    for root, dirs, files in os.walk(theme.templates_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for filename in sorted(files):
            if not filename.startswith("."):
                rel = os.path.relpath(os.path.join(root, filename), theme.templates_dir)
                names.append(rel.replace(os.sep, "/"))
    return names


# --- template versions and stale overrides ------------------------------------------------------


def template_version(source: str) -> int | None:
    """N from ``{# template-version: N #}`` on the first line of ``source``, else None."""
    first_line = source.lstrip("\ufeff \t\r\n").split("\n", 1)[0]
    match = VERSION_COMMENT.search(first_line)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Override:
    """A theme template that replaces an original from a layer below its theme."""

    theme: str
    template: str
    path: str
    version: int | None
    original_path: str | None
    original_version: int | None

    @property
    def stale(self) -> bool:
        """True when the original is versioned and this override is older or unversioned."""
        if self.original_version is None:
            return False
        return self.version is None or self.version < self.original_version


def theme_overrides(app: Flask, names: Iterable[str] | None = None) -> list[Override]:
    """Every override in the named themes (default: all installed), with both versions.

    An override's original is what ``~name`` inside it would load: the template found in
    the layers below its theme (its parents, ``default``, then app and blueprint templates).
    Templates a theme adds (no original) and ``admin/`` files (never used) are not listed.
    """
    theme_state = state(app)
    environment = app.jinja_env
    fallback = DispatchingJinjaLoader(app)
    overrides = []
    for name in names if names is not None else sorted(theme_state.themes):
        if name not in theme_state.themes:
            raise ThemeError(f"no theme {name!r} in THEMES_PATH; available: "
                             f"{', '.join(sorted(theme_state.themes))}")
        chain = resolve_chain(theme_state.themes, name)
        loader = ThemeLoader(chain, fallback)
        theme = chain[0]
        for template in theme_template_names(theme):
            if template.startswith(UNTHEMEABLE_PREFIXES):
                continue
            path = os.path.join(theme.templates_dir, *template.split("/"))
            try:
                original = loader.find(environment, template, start=1)
            except TemplateNotFound:
                continue
            overrides.append(Override(theme=name, template=template, path=path,
                                      version=_file_version(path), original_path=original.filename,
                                      original_version=template_version(original.source)))
    return overrides


def _file_version(path: str) -> int | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return template_version(fh.readline())
    except (OSError, UnicodeDecodeError):
        return None


# --- state ---------------------------------------------------------------------------------------


@dataclass
class StaticFile:
    """Where a theme static path resolved, and what its version was computed from."""

    folder: str
    path: str
    mtime: int
    size: int
    checked_at: float
    digest: str | None = None


@dataclass
class ThemeState:
    """Per-app theme state (``app.extensions["storefront.themes"]``)."""

    themes: dict[str, Theme]
    chain: list[Theme]
    loader: ThemeLoader
    refresh_seconds: float
    # The active theme's saved setting values (see storefront.theme_settings).
    settings_source: Callable[[], dict[str, Any]] | None = None
    static_files: dict[str, StaticFile] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic

    @property
    def active(self) -> Theme:
        return self.chain[0]

    @cached_property
    def declared_settings(self) -> dict[str, ThemeSetting]:
        return declared_settings(self.chain)

    def saved_settings_changed(self) -> None:
        """This process just saved settings: read them again on next use, not in seconds."""
        invalidate = getattr(self.settings_source, "invalidate", None)
        if invalidate is not None:
            invalidate()


def state(app: Flask | None = None) -> ThemeState:
    return (app or current_app).extensions[EXTENSION_KEY]


# --- static files ------------------------------------------------------------------------------


def find_static(path: str) -> StaticFile | None:
    """The first theme in the chain holding static ``path``, re-checked at most every
    THEMES_REFRESH_SECONDS (edits, additions and deletions show without a restart)."""
    theme_state = state()
    now = theme_state.clock()
    known = theme_state.static_files.get(path)
    if known is not None and now - known.checked_at < theme_state.refresh_seconds:
        return known
    for theme in theme_state.chain:
        candidate = template_path(theme.static_dir, path)
        if candidate is None:
            return None
        try:
            if not os.path.isfile(candidate):
                continue
            stat = os.stat(candidate)
        except OSError:
            continue
        found = StaticFile(theme.static_dir, candidate, stat.st_mtime_ns, stat.st_size, now)
        if known is not None and (known.path, known.mtime, known.size) == (found.path, found.mtime, found.size):
            found.digest = known.digest
        # Only files that exist are remembered, so the cache cannot grow beyond the themes.
        theme_state.static_files[path] = found
        return found
    theme_state.static_files.pop(path, None)
    return None


def static_version(found: StaticFile) -> str:
    """A short hash of the file's content: the same on every web node, new when it changes."""
    if found.digest is None:
        digest = hashlib.sha256()
        with open(found.path, "rb") as fh:
            for block in iter(lambda: fh.read(65536), b""):
                digest.update(block)
        found.digest = digest.hexdigest()[:12]
    return found.digest


def theme_static(path: str) -> str:
    """URL of a theme static file, e.g. ``theme_static('css/site.css')``, with ``?v=<hash>``.

    A path no theme of the chain has raises in debug and testing (a themer's typo); in
    production it gives the plain URL, which answers 404.
    """
    found = find_static(path)
    if found is None:
        if current_app.debug or current_app.testing:
            raise TemplateNotFound(f"theme static file {path!r} is in no theme of the chain "
                                   f"({' → '.join(t.name for t in state().chain)})")
        return url_for("themes.static", filename=path)
    return url_for("themes.static", filename=path, v=static_version(found))


# --- theme settings -----------------------------------------------------------------------------


def theme_settings() -> dict[str, Any]:
    """The active theme's settings: declared defaults overlaid with the saved values."""
    theme_state = state()
    values = {key: setting.default for key, setting in theme_state.declared_settings.items()}
    if theme_state.settings_source is not None:
        values.update(theme_state.settings_source())
    return values


def settings_css() -> str:
    """The generated settings stylesheet of the active theme (colour settings as CSS variables)."""
    return settings_stylesheet(state().declared_settings, theme_settings())


def css_version(css: str) -> str:
    return hashlib.sha256(css.encode()).hexdigest()[:12]


def theme_settings_css() -> str:
    """URL of the settings stylesheet, versioned by its content (a save gives a new URL)."""
    return url_for("themes.settings_stylesheet", v=css_version(settings_css()))


# --- routes ---------------------------------------------------------------------------------


bp = Blueprint("themes", __name__)


def _cache_for(response: Response, current_version: str) -> Response:
    # Only a URL carrying the version of what is served may be cached for a year: a page
    # rendered by a process that already saw a change can ask one that has not yet.
    if request.args.get("v") == current_version:
        response.cache_control.no_cache = None  # send_file's default for conditional requests
        response.cache_control.public = True
        response.cache_control.max_age = VERSIONED_MAX_AGE
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
        response.cache_control.max_age = 0
    return response


@bp.get("/theme/<path:filename>")
def static(filename: str):
    """A theme static file, from the first theme of the chain that has it."""
    found = find_static(filename)
    if found is None:
        abort(404)
    response = send_from_directory(found.folder, os.path.relpath(found.path, found.folder))
    return _cache_for(response, static_version(found))


@bp.get("/theme-settings.css", endpoint="settings_stylesheet")
def settings_stylesheet_view():
    """The colour settings as CSS custom properties (the CSP forbids inline styles)."""
    css = settings_css()
    response = Response(css, mimetype="text/css")
    return _cache_for(response, css_version(css))



# --- wiring -----------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Install the theme loader, helpers, routes and ``flask themes``; validate every theme."""
    from .money import format_money
    from .theme_cli import themes_group

    themes = discover_themes(themes_path(app))
    chain = resolve_chain(themes, app.config["THEME"])
    refresh_seconds = float(app.config["THEMES_REFRESH_SECONDS"])
    loader = ThemeLoader(chain, DispatchingJinjaLoader(app), refresh_seconds=refresh_seconds,
                         explain=bool(app.config.get("EXPLAIN_TEMPLATE_LOADING")))
    theme_state = ThemeState(themes=themes, chain=chain, loader=loader, refresh_seconds=refresh_seconds)
    theme_state.settings_source = SavedThemeSettings(chain[0].name, theme_state.declared_settings,
                                                     refresh_seconds)
    app.extensions[EXTENSION_KEY] = theme_state
    loader.install(app.jinja_env)
    app.jinja_env.globals.update(theme_static=theme_static, theme_settings_css=theme_settings_css)
    app.context_processor(lambda: {"theme_settings": theme_settings()})
    app.register_blueprint(bp)
    app.cli.add_command(themes_group)
    app.add_template_filter(
        lambda money, locale=None: format_money(money, locale or current_app.config["STORE_LOCALE"]),
        "money",
    )
