"""Back-office theme page: the active theme's settings (live), installed themes, and the
theme templates that need review after an upgrade.

Switching the active theme is configuration (``THEME`` plus a restart), so this page
shows the installed themes but does not switch them.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .. import templating
from ..theme_settings import (
    ThemeSetting,
    ThemeSettingsInvalid,
    load_saved_settings,
    reset_theme_settings,
    save_theme_settings,
)
from . import bp
from .guard import staff_required

#: Form fields that are not settings.
FORM_CONTROLS = frozenset({"csrf_token"})
# Bounded, so that int() never meets a thousand-digit string; the range check speaks next.
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,18}")


def submitted_settings(declared: Mapping[str, ThemeSetting], form: MultiDict) -> dict[str, Any]:
    """The form as typed values for validation: a missing checkbox is off, numbers are
    parsed when they look like numbers, text is trimmed. Fields that are no setting are
    passed on, so that validation refuses them by name."""
    values: dict[str, Any] = {}
    for key in form:
        if key in FORM_CONTROLS:
            continue
        raw = form.get(key, "")
        setting = declared.get(key)
        if setting is not None and setting.type == "int" and WHOLE_NUMBER.fullmatch(raw.strip()):
            values[key] = int(raw.strip())
        elif setting is not None and setting.type == "bool":
            values[key] = raw in ("on", "1", "true", "yes")
        else:
            values[key] = raw.strip()
    for key, setting in declared.items():
        if setting.type == "bool" and key not in form:
            values[key] = False
    return values


def _redisplayed(declared: Mapping[str, ThemeSetting], current: Mapping[str, Any],
                 submitted: Mapping[str, Any], errors: Mapping[str, str]) -> dict[str, Any]:
    """What the refused form shows: what was typed where it was wrong, the canonical form of
    what was right (a colour picker shows ``#fff`` only as ``#ffffff``)."""
    values = dict(current)
    for key, value in submitted.items():
        if key in declared:
            values[key] = value if key in errors else declared[key].clean(value)
    return values


def _render_theme_page(values: Mapping[str, Any], errors: Mapping[str, str]) -> str:
    theme_state = templating.state()
    chain = theme_state.chain
    stale = [o for o in templating.theme_overrides(current_app, [t.name for t in chain]) if o.stale]
    return render_template(
        "admin/themes.html", active=theme_state.active, chain=chain,
        themes=sorted(theme_state.themes.values(), key=lambda t: t.name),
        declared=theme_state.declared_settings, values=values, errors=errors, stale=stale)


@bp.route("/theme", methods=["GET", "POST"])
@staff_required
def theme():
    """GET: the settings form. POST: validate and save all fields (400 and nothing saved
    when any is invalid), then redirect back here."""
    theme_state = templating.state()
    active, declared = theme_state.active, theme_state.declared_settings
    # Read straight from the database: after a save, this page must not show the values a
    # process cached a second ago.
    saved = load_saved_settings(active.name, declared)
    current = {key: saved.get(key, setting.default) for key, setting in declared.items()}
    if request.method == "POST":
        submitted = submitted_settings(declared, request.form)
        try:
            save_theme_settings(active.name, declared, submitted, actor=current_user)
        except ThemeSettingsInvalid as exc:
            return _render_theme_page(_redisplayed(declared, current, submitted, exc.errors),
                                      exc.errors), 400
        theme_state.saved_settings_changed()
        flash("Theme settings saved. Every page shows them within a few seconds.", "success")
        return redirect(url_for("admin.theme"))
    return _render_theme_page(current, {})


@bp.post("/theme/reset")
@staff_required
def reset_theme():
    """Forget the saved settings of the active theme: its declared defaults apply again."""
    theme_state = templating.state()
    reset_theme_settings(theme_state.active.name, actor=current_user)
    theme_state.saved_settings_changed()
    flash("Theme settings restored to the theme's defaults.", "success")
    return redirect(url_for("admin.theme"))
