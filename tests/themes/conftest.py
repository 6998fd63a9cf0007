"""Theme test fixtures: throw-away theme folders searched before the shipped ``themes/``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest
from theme_helpers import SHIPPED_THEMES, write


@pytest.fixture
def themes_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "themes"
    folder.mkdir()
    return folder


@pytest.fixture
def make_theme(themes_dir: Path) -> Callable[..., Path]:
    """``make_theme(name, parent="default", files={"templates/x.html": "…"}, settings=[…])``."""

    def make(name: str, parent: str | None = "default", files: dict[str, str] | None = None,
             settings: list[dict[str, Any]] | None = None, **manifest: Any) -> Path:
        folder = themes_dir / name
        folder.mkdir()
        data = {"name": name, "version": "1.0.0", "parent": parent, **manifest}
        if settings is not None:
            data["settings"] = settings
        (folder / "theme.json").write_text(json.dumps(data), encoding="utf-8")
        for relative, content in (files or {}).items():
            write(folder / relative, content)
        return folder

    return make


@pytest.fixture
def themed_app(make_app, themes_dir: Path) -> Callable[..., Any]:
    """``themed_app(theme, plugins=(), **config)``: an app whose THEMES_PATH is the temp folder, then the
    shipped themes; theme files are re-checked on every use unless config says otherwise."""

    def build(theme: str = "default", plugins: tuple = (), **config: Any):
        config.setdefault("THEMES_REFRESH_SECONDS", 0)
        return make_app(plugins, THEME=theme, THEMES_PATH=[str(themes_dir), SHIPPED_THEMES], **config)

    return build


@pytest.fixture
def sign_in_staff(make_user, login) -> Callable[[Any], Any]:
    """``sign_in_staff(client)``: a new staff member signs in on ``client`` (any app on the
    test database); returns the user."""

    def sign_in(client):
        user = make_user(role="staff")
        login(client, user)
        return user

    return sign_in
