"""``flask plugins …``: list, enable, disable, settings, new, docs — and plugins' own commands.

The group is built per app (:func:`build_plugins_group`) because plugins add their
own commands to it; click groups are mutable, so none is shared between apps.
"""
from __future__ import annotations

from typing import Sequence

import click
from flask import current_app
from flask.cli import with_appcontext

from ..errors import StorefrontError
from . import manager
from .settings import SettingsInvalid, describe_settings, save_settings


def _fail(exc: StorefrontError) -> click.ClickException:
    return click.ClickException(exc.message)


@click.command("list")
@with_appcontext
def list_command() -> None:
    """Installed plugins: version, enabled, and why one is not loaded."""
    registry = manager.state()
    rows = [info for info in registry.plugins.values() if not info.is_core]
    if not rows:
        click.echo(f"no plugins installed (entry-point group {manager.ENTRY_POINT_GROUP!r})")
        return
    click.echo(f"{'name':<20} {'version':<10} {'enabled':<8} status")
    for info in sorted(rows, key=lambda i: i.name):
        enabled = "yes" if registry.states.enabled.get(info.name, True) else "no"
        status = "loaded" if info.loaded else f"{info.status}: {info.reason}"
        if info.loaded and info.requires:
            status += f" (supports {info.requires})"
        click.echo(f"{info.name:<20} {info.version or '-':<10} {enabled:<8} {status}")


def _switch(name: str, enabled: bool) -> None:
    try:
        info = manager.set_enabled(name, enabled)
    except StorefrontError as exc:
        raise _fail(exc) from None
    seconds = current_app.config["PLUGINS_REFRESH_SECONDS"]
    click.echo(f"{name} {'enabled' if enabled else 'disabled'}; running processes follow "
               f"within {seconds:g} s")
    if not info.loaded:
        click.echo(f"note: {name} is not loaded here ({info.status}: {info.reason})")


@click.command("enable")
@click.argument("name")
@with_appcontext
def enable_command(name: str) -> None:
    """Switch plugin NAME on in every process (no restart)."""
    _switch(name, True)


@click.command("disable")
@click.argument("name")
@with_appcontext
def disable_command(name: str) -> None:
    """Switch plugin NAME off in every process: hooks skipped, pages 404, jobs refused."""
    _switch(name, False)


@click.command("settings")
@click.argument("name")
@click.argument("pairs", nargs=-1, metavar="[KEY=VALUE]...")
@with_appcontext
def settings_command(name: str, pairs: Sequence[str]) -> None:
    """Show plugin NAME's settings, or save KEY=VALUE pairs (all or nothing).

    Lists are comma-separated (countries=DE,AT); an empty value clears an optional
    setting. Secrets are never shown.
    """
    changes: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.UsageError(f"{pair!r} is not KEY=VALUE")
        changes[key.strip()] = value
    try:
        if changes:
            save_settings(name, changes)
            click.echo(f"saved {', '.join(changes)} for {name}")
        current = describe_settings(name)
    except SettingsInvalid as exc:
        raise click.ClickException("nothing saved:\n" + "\n".join(
            f"  {key}: {message}" for key, message in exc.errors.items())) from None
    except StorefrontError as exc:
        raise _fail(exc) from None
    if not current:
        click.echo(f"{name} declares no settings")
    for item in current:
        where = item.source if item.source != "config" else f"config {item.config_key}"
        click.echo(f"{item.setting.key} = {item.shown}    ({where})")


@click.command("new")
@click.argument("kind", type=click.Choice(["shipping", "payment", "search"]))
@click.argument("name")
@click.option("--path", "directory", default=".", show_default=True,
              type=click.Path(file_okay=False), help="Folder to create the package in.")
def new_command(kind: str, name: str, directory: str) -> None:
    """Create a plugin package storefront-KIND-NAME whose tests pass as generated."""
    from .scaffold import ScaffoldError, scaffold

    try:
        created = scaffold(kind, name, directory)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {created}\nnext: pip install -e {created} && pytest {created}/tests")


@click.command("docs")
@click.option("--check", is_flag=True, help="Exit 1 if the reference is out of date; write nothing.")
@click.option("--file", "path", default=None, type=click.Path(dir_okay=False),
              help="The guide holding the hook reference (default: docs/plugins.md).")
def docs_command(check: bool, path: str | None) -> None:
    """Regenerate the hook reference in docs/plugins.md from the hookspec docstrings."""
    from .docs import GUIDE_PATH, update_guide

    changed = update_guide(path or GUIDE_PATH, write=not check)
    if check and changed:
        raise click.ClickException(f"{path or GUIDE_PATH} is out of date: run `flask plugins docs`")
    click.echo(("out of date" if changed else "up to date") if check else
               ("updated" if changed else "already up to date"))


BUILT_IN_COMMANDS: tuple[click.Command, ...] = (
    list_command, enable_command, disable_command, settings_command, new_command, docs_command)


def build_plugins_group(plugin_commands: list[tuple[str, list[click.Command]]]) -> click.Group:
    """The ``flask plugins`` group: built-in commands, then one sub-group per plugin
    holding what its ``storefront_cli_commands`` returned."""
    group = click.Group("plugins", help="Installed plugins: list, switch on/off, configure, create.")
    for command in BUILT_IN_COMMANDS:
        group.add_command(command)
    for plugin, commands in plugin_commands:
        if plugin in group.commands:
            raise manager.PluginSetupError(
                f"plugin {plugin!r} has CLI commands, but `flask plugins {plugin}` is a built-in command")
        sub = click.Group(plugin, help=f"Commands of the {plugin} plugin.")
        for command in commands:
            sub.add_command(command)
        group.add_command(sub)
    return group
