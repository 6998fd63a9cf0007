"""Themes: template lookup, theme static files and template helpers.

Lookup order for ``render_template("catalog/product.html")``, first hit wins:

    active theme → its parent chain → ``default`` theme → app templates → blueprint templates

* ``{% extends "~catalog/product.html" %}`` skips the theme layers, so an override can
  extend the shipped original and change a single block.
* ``admin/…`` templates are never looked up in themes: the back office is not themeable.
* ``theme_static('css/site.css')`` serves a file from the same chain, with a version
  query for cache busting.

Every shipped template starts with ``{# template-version: N #}``; ``flask themes check``
compares an override's number with the original's.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Blueprint, Flask, abort, current_app, send_from_directory, url_for
from flask.templating import DispatchingJinjaLoader
from jinja2 import BaseLoader, Environment, TemplateNotFound

from .config import ConfigurationError

EXTENSION_KEY = "storefront.themes"
DEFAULT_THEME = "default"
ORIGINAL_PREFIX = "~"
UNTHEMEABLE_PREFIXES = ("admin/",)
VERSION_COMMENT = re.compile(r"\{#-?\s*template-version:\s*(\d+)\s*-?#\}")
THEME_SETTING_TYPES = {"str", "int", "bool", "colour"}


@dataclass(frozen=True)
class ThemeSetting:
    key: str
    type: str
    default: Any
    label: str
    help: str = ""


@dataclass(frozen=True)
class Theme:
    name: str
    path: str
    label: str
    version: str
    parent: str | None
    settings: tuple[ThemeSetting, ...] = ()

    @property
    def templates_dir(self) -> str:
        return os.path.join(self.path, "templates")

    @property
    def static_dir(self) -> str:
        return os.path.join(self.path, "static")


class ThemeError(ConfigurationError):
    """A theme folder or theme.json is unusable; the message names the file and the fix."""


def read_theme(path: str) -> Theme:
    """Load and validate ``<path>/theme.json``."""
    manifest = os.path.join(path, "theme.json")
    try:
        with open(manifest, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise ThemeError(f"{manifest}: missing; every theme folder needs a theme.json") from None
    except ValueError as exc:
        raise ThemeError(f"{manifest}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ThemeError(f"{manifest}: must be a JSON object")
    name = data.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name or ""):
        raise ThemeError(f"{manifest}: \"name\" must be lower-case letters, digits, - or _")
    if name != os.path.basename(os.path.normpath(path)):
        raise ThemeError(f"{manifest}: \"name\" is {name!r} but the folder is "
                         f"{os.path.basename(path)!r}; they must match")
    parent = data.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise ThemeError(f"{manifest}: \"parent\" must be a theme name or null")
    settings = []
    for index, raw in enumerate(data.get("settings") or []):
        where = f"{manifest}: settings[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("key"), str):
            raise ThemeError(f"{where} needs a \"key\"")
        kind = raw.get("type", "str")
        if kind not in THEME_SETTING_TYPES:
            raise ThemeError(f"{where}: type {kind!r} is not one of {sorted(THEME_SETTING_TYPES)}")
        settings.append(ThemeSetting(raw["key"], kind, raw.get("default"),
                                     raw.get("label", raw["key"]), raw.get("help", "")))
    return Theme(name=name, path=os.path.abspath(path), label=data.get("label", name),
                 version=str(data.get("version", "0")), parent=parent, settings=tuple(settings))


def discover_themes(themes_path: list[str]) -> dict[str, Theme]:
    """Every theme folder (one holding theme.json) in THEMES_PATH; earlier folders win."""
    found: dict[str, Theme] = {}
    for folder in themes_path:
        if not os.path.isdir(folder):
            continue
        for entry in sorted(os.listdir(folder)):
            path = os.path.join(folder, entry)
            if os.path.isfile(os.path.join(path, "theme.json")) and entry not in found:
                found[entry] = read_theme(path)
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
            raise ThemeError(f"theme {chain[-1].name!r} names parent {name!r}, which is not installed")
        if any(theme.name == name for theme in chain):
            raise ThemeError(f"themes form a cycle: {' → '.join(t.name for t in chain)} → {name}")
        chain.append(themes[name])
        name = themes[name].parent
    if DEFAULT_THEME in themes and all(t.name != DEFAULT_THEME for t in chain):
        chain.append(themes[DEFAULT_THEME])
    return chain


class ThemeLoader(BaseLoader):
    """Looks a template up in the theme chain, then in Flask's own loaders."""

    def __init__(self, chain: list[Theme], fallback: BaseLoader):
        self.chain = chain
        self.fallback = fallback

    def get_source(self, environment: Environment, template: str):
        if template.startswith(ORIGINAL_PREFIX):
            return self.fallback.get_source(environment, template[len(ORIGINAL_PREFIX):])
        if not template.startswith(UNTHEMEABLE_PREFIXES):
            for theme in self.chain:
                found = _file_source(theme.templates_dir, template)
                if found is not None:
                    return found
        return self.fallback.get_source(environment, template)

    def list_templates(self) -> list[str]:
        names = set(self.fallback.list_templates())
        for theme in self.chain:
            for root, _dirs, files in os.walk(theme.templates_dir):
                for filename in files:
                    rel = os.path.relpath(os.path.join(root, filename), theme.templates_dir)
                    names.add(rel.replace(os.sep, "/"))
        return sorted(names)


def _file_source(folder: str, template: str):
    parts = [p for p in template.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    path = os.path.join(folder, *parts)
    if not os.path.isfile(path):
        return None
    mtime = os.path.getmtime(path)
    with open(path, encoding="utf-8") as fh:
        source = fh.read()

    def uptodate() -> bool:
        # Deleting an override must bring the original back without a restart.
        try:
            return os.path.getmtime(path) == mtime
        except OSError:
            return False

    return source, path, uptodate


def template_version(source: str) -> int | None:
    match = VERSION_COMMENT.search(source.split("\n", 3)[0] if source else "")
    if match is None:
        match = VERSION_COMMENT.search(source[:500])
    return int(match.group(1)) if match else None


@dataclass
class ThemeState:
    themes: dict[str, Theme]
    chain: list[Theme]
    # Per-process cache of the static file each path resolves to, with its version.
    static_cache: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Returns the active theme's saved settings (filled by the theme-settings store).
    settings_source: Callable[[], dict[str, Any]] | None = None

    @property
    def active(self) -> Theme:
        return self.chain[0]


def state(app: Flask | None = None) -> ThemeState:
    return (app or current_app).extensions[EXTENSION_KEY]


def find_static(path: str) -> tuple[str, str] | None:
    """(folder, version) of the first theme in the chain holding ``path``."""
    theme_state = state()
    cached = theme_state.static_cache.get(path)
    if cached and not current_app.debug:
        return cached
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    for theme in theme_state.chain:
        candidate = os.path.join(theme.static_dir, *parts)
        if os.path.isfile(candidate):
            version = format(int(os.path.getmtime(candidate)), "x")
            theme_state.static_cache[path] = (theme.static_dir, version)
            return theme.static_dir, version
    return None


def theme_static(path: str) -> str:
    """URL of a theme static file, e.g. ``theme_static('css/site.css')``."""
    found = find_static(path)
    if found is None:
        if current_app.debug or current_app.testing:
            raise TemplateNotFound(f"theme static file {path!r} is in no theme of the chain")
        return url_for("themes.static", filename=path)
    return url_for("themes.static", filename=path, v=found[1])


def theme_settings() -> dict[str, Any]:
    """The active theme's settings: declared defaults overlaid with saved values."""
    theme_state = state()
    values = {s.key: s.default for theme in reversed(theme_state.chain) for s in theme.settings}
    if theme_state.settings_source is not None:
        values.update(theme_state.settings_source())
    return values


bp = Blueprint("themes", __name__)


@bp.get("/theme/<path:filename>")
def static(filename: str):
    found = find_static(filename)
    if found is None:
        abort(404)
    # Versioned URLs never change content, so browsers may keep them for a year.
    return send_from_directory(found[0], filename, max_age=31536000)


def init_app(app: Flask) -> None:
    themes = discover_themes(list(app.config["THEMES_PATH"]))
    chain = resolve_chain(themes, app.config["THEME"])
    app.extensions[EXTENSION_KEY] = ThemeState(themes=themes, chain=chain)
    app.jinja_env.loader = ThemeLoader(chain, DispatchingJinjaLoader(app))
    app.jinja_env.globals.update(theme_static=theme_static)
    app.context_processor(lambda: {"theme_settings": theme_settings()})
    app.register_blueprint(bp)
    from .money import format_money

    app.add_template_filter(
        lambda money, locale=None: format_money(money, locale or current_app.config["STORE_LOCALE"]),
        "money",
    )
