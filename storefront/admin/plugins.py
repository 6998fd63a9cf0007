"""Back-office plugin pages: the list (with why a plugin is not loaded), switching a
plugin on or off (live, every process), and its settings form.

Installing or removing a plugin is code (pip and a restart); these pages change data.
"""
from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from ..errors import StorefrontError
from ..plugins import manager
from ..plugins.settings import SettingValue, SettingsInvalid, describe_settings, save_settings
from . import bp
from .guard import staff_required


@bp.get("/plugins")
@staff_required
def plugins():
    registry = manager.state()
    listed = sorted((info for info in registry.plugins.values() if not info.is_core),
                    key=lambda info: info.name)
    failures: dict[str, int] = {}
    for (plugin, _hook), count in registry.failures.items():
        failures[plugin] = failures.get(plugin, 0) + count
    return render_template("admin/plugins.html", plugins=listed, registry=registry,
                           failures=failures,
                           refresh_seconds=current_app.config["PLUGINS_REFRESH_SECONDS"])


@bp.post("/plugins/<name>/enabled")
@staff_required
def switch_plugin(name: str):
    enabled = request.form.get("enabled") == "1"
    try:
        manager.set_enabled(name, enabled, actor=current_user)
    except StorefrontError as exc:
        flash(exc.message, "error")
    else:
        flash(f"{name} is {'enabled' if enabled else 'disabled'} in every process "
              f"within {current_app.config['PLUGINS_REFRESH_SECONDS']:g} seconds.", "success")
    return redirect(url_for("admin.plugins"))


def submitted_settings(current: list[SettingValue], form: MultiDict) -> dict[str, Any]:
    """The form's values to save: every field the form shows (an unticked checkbox is
    off), leaving out settings fixed in the config (the form shows them read-only)."""
    values: dict[str, Any] = {}
    for item in current:
        key = item.setting.key
        if item.source == "config":
            continue
        if item.setting.type == "bool":
            values[key] = key in form
        else:
            values[key] = form.get(key, "")
    return values


def form_values(current: list[SettingValue], typed: dict[str, Any]) -> tuple[dict[str, str], dict[str, bool]]:
    """What the form shows: the text of each field (what was typed when the form was
    refused, else the current value; never a secret) and the state of each checkbox."""
    shown: dict[str, str] = {}
    checked: dict[str, bool] = {}
    for item in current:
        key = item.setting.key
        if item.setting.type == "bool":
            checked[key] = bool(typed.get(key, item.value))
        elif item.setting.secret:
            shown[key] = ""
        else:
            shown[key] = str(typed[key]) if key in typed else item.shown
    return shown, checked


@bp.route("/plugins/<name>", methods=["GET", "POST"])
@staff_required
def plugin_settings(name: str):
    info = manager.known_plugin(name)
    current = describe_settings(name) if info.loaded else []
    errors: dict[str, str] = {}
    typed: dict[str, Any] = {}
    if request.method == "POST":
        typed = submitted_settings(current, request.form)
        try:
            save_settings(name, typed, actor=current_user)
        except SettingsInvalid as exc:
            errors = exc.errors
        else:
            flash(f"Settings of {name} saved; every process uses them within "
                  f"{current_app.config['PLUGINS_REFRESH_SECONDS']:g} seconds.", "success")
            return redirect(url_for("admin.plugin_settings", name=name))
    shown, checked = form_values(current, typed)
    return render_template("admin/plugin_settings.html", info=info, settings=current,
                           shown=shown, checked=checked, errors=errors), 400 if errors else 200
