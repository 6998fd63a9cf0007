"""``flask themes …``: list installed themes, check overrides against their originals, and
scaffold a new child theme. Registered by :func:`storefront.templating.init_app`."""
from __future__ import annotations

import json
import os

import click
from flask import current_app
from flask.cli import with_appcontext
from jinja2 import TemplateNotFound

from .templating import (
    THEME_NAME,
    Theme,
    ThemeError,
    ThemeLoader,
    resolve_chain,
    state,
    template_version,
    theme_overrides,
    themes_path,
)


@click.group("themes")
def themes_group() -> None:
    """List, check and create themes (switching the active one is THEME plus a restart)."""


@themes_group.command("list")
@with_appcontext
def list_themes() -> None:
    """Every installed theme; * marks the active one, + the themes it inherits from."""
    theme_state = state()
    chain = [theme.name for theme in theme_state.chain]
    rows = [("", "name", "label", "version", "parent", "path")]
    for theme in sorted(theme_state.themes.values(), key=lambda t: t.name):
        marker = "*" if theme.name == chain[0] else "+" if theme.name in chain else ""
        rows.append((marker, theme.name, theme.label, theme.version, theme.parent or "-", theme.path))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    click.echo(f"\nactive: {' → '.join(chain)} (THEME in instance/config.py; restart to switch)")


@themes_group.command("check")
@click.argument("names", nargs=-1)
@click.option("--verbose", "-v", is_flag=True, help="Also list the overrides that are current.")
@with_appcontext
def check_themes(names: tuple[str, ...], verbose: bool) -> None:
    """Report overrides older than the template they replace (exit status 1 if any).

    Checks the NAMES given, or every installed theme. An override's original is the
    template the layers below its theme provide — what "~name" inside it would load.
    """
    try:
        overrides = theme_overrides(current_app, list(names) or None)
    except ThemeError as exc:  # an unknown NAME
        raise click.ClickException(str(exc)) from None
    stale = [o for o in overrides if o.stale]
    shown = overrides if verbose else stale
    if shown:
        rows = [("theme", "template", "override", "current", "status", "original")]
        for o in shown:
            rows.append((o.theme, o.template, "none" if o.version is None else str(o.version),
                         "?" if o.original_version is None else str(o.original_version),
                         "STALE" if o.stale else "ok", _display_path(o.original_path)))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        for row in rows:
            click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    if stale:
        click.echo(f"\n{len(stale)} override(s) are older than the template they replace. Compare "
                   "each with its original (last column), carry the changes over, then set its "
                   "first line to the current {# template-version: N #}.", err=True)
        raise SystemExit(1)
    click.echo(f"all {len(overrides)} override(s) are current")


def _display_path(path: str | None) -> str:
    """``path`` relative to the working directory when it is inside it (shorter to read)."""
    if path is None:
        return "?"
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


@themes_group.command("new")
@click.argument("name")
@click.option("--parent", default="default", show_default=True, help="Theme to inherit from.")
@click.option("--path", "folder", type=click.Path(file_okay=False), default=None,
              help="Folder to create the theme in (default: the first THEMES_PATH entry).")
@with_appcontext
def new_theme(name: str, parent: str, folder: str | None) -> None:
    """Create a child theme NAME: theme.json, a layout adding its stylesheet, a README."""
    theme_state = state()
    if not THEME_NAME.fullmatch(name):
        raise click.BadParameter("use lower-case letters, digits, - or _ (starting with a letter "
                                 "or digit, at most 100)", param_hint="NAME")
    if name in theme_state.themes:
        raise click.ClickException(f"a theme {name!r} already exists: {theme_state.themes[name].path}")
    if parent not in theme_state.themes:
        raise click.BadParameter(f"no theme {parent!r}; installed: {', '.join(sorted(theme_state.themes))}",
                                 param_hint="--parent")
    search_path = themes_path(current_app)
    folder = os.path.abspath(folder or search_path[0])
    target = os.path.join(folder, name)
    if os.path.exists(target):
        raise click.ClickException(f"{target} already exists; nothing was written")
    chain = resolve_chain(theme_state.themes, parent)
    created = scaffold_theme(target, name, parent, _original_layout_version(chain))
    for path in created:
        click.echo(f"created {path}")
    if folder not in [os.path.abspath(p) for p in search_path]:
        click.echo(f"note: {folder} is not in THEMES_PATH; add it there so the theme is found")
    click.echo(f"\nNext: set THEME = {name!r} in instance/config.py and restart; then copy any "
               f"template you want to change from the parent into {target}/templates/.")


def _original_layout_version(chain: list[Theme]) -> int | None:
    """The template-version of the layout the new theme's layout.html extends."""
    loader = ThemeLoader(chain, state().loader.fallback)
    try:
        return template_version(loader.find(current_app.jinja_env, "layout.html").source)
    except TemplateNotFound:
        return None


def scaffold_theme(target: str, name: str, parent: str, layout_version: int | None) -> list[str]:
    """Write a new theme folder at ``target`` (which must not exist); returns the files made."""
    stylesheet = f"css/{name}.css"
    files = {
        "theme.json": json.dumps({
            "name": name,
            "label": name.replace("-", " ").replace("_", " ").title(),
            "version": "0.1.0",
            "parent": parent,
            "description": "",
            "settings": [],
        }, indent=2) + "\n",
        "templates/layout.html": (
            f"{{# template-version: {layout_version or 1} #}}\n"
            "{#- Extends the parent theme's layout (\"~\" = the original below this theme) and\n"
            "    adds this theme's stylesheet after it; every other block stays as it is. -#}\n"
            "{%- extends \"~layout.html\" %}\n"
            "{% block stylesheets %}\n"
            "  {{- super() }}\n"
            f"  <link rel=\"stylesheet\" href=\"{{{{ theme_static('{stylesheet}') }}}}\">\n"
            "{% endblock %}\n"
        ),
        f"static/{stylesheet}": (
            f"/* {name}: loaded after the parent's site.css, so anything here wins.\n"
            "   Restyle with the parent's custom properties first; colours declared as theme\n"
            "   settings (such as --accent) are set from the back office instead. */\n"
            ":root {\n"
            "  /* --bg: #ffffff; */\n"
            "  /* --surface: #f6f6f4; */\n"
            "  /* --fg: #1d1f1e; */\n"
            "  /* --muted: #5b605e; */\n"
            "  /* --border: #d9dbd8; */\n"
            "  /* --radius: 6px; */\n"
            "  /* --font: Georgia, serif; */\n"
            "}\n"
        ),
        "README.md": (
            f"# {name}\n\n"
            f"A Storefront theme, child of `{parent}`: it inherits every template and static\n"
            "file it does not ship itself. Guide: `docs/themes.md`.\n\n"
            "- `theme.json` — name, label, version, parent and settings (edited in the back\n"
            "  office under Theme).\n"
            "- `templates/layout.html` — extends the parent's layout and adds this theme's\n"
            "  stylesheet.\n"
            f"- `static/{stylesheet}` — this theme's CSS.\n\n"
            "To change a page, copy that template from the parent (same relative path) into\n"
            "`templates/`, or better, `{% extends \"~<name>\" %}` it and replace one block.\n"
            "Keep its first line `{# template-version: N #}`, and run `flask themes check`\n"
            "after every Storefront upgrade.\n"
        ),
    }
    created = []
    os.makedirs(target)
    for relative, content in files.items():
        path = os.path.join(target, *relative.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "x", encoding="utf-8") as fh:
            fh.write(content)
        created.append(path)
    return created
