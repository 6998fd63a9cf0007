"""``flask themes list | check | new``."""
from __future__ import annotations

import json

from theme_helpers import SHIPPED_THEMES

STALE_FOOTER = "{# template-version: 1 #}\n<footer>written for the old footer</footer>\n"
CURRENT_FOOTER = "{# template-version: 3 #}\n<footer>up to date</footer>\n"


def test_list_shows_every_theme_with_the_active_one_and_its_parents_marked(themed_app, make_theme):
    make_theme("shop", parent="harbour", label="Shop front", version="2.1.0")
    result = themed_app("shop").test_cli_runner().invoke(args=["themes", "list"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[1] if line.startswith(("*", "+")) else line.split()[0]: line
             for line in result.output.splitlines() if line.strip() and not line.startswith("active")}
    assert lines["shop"].startswith("*") and "Shop front" in lines["shop"] and "2.1.0" in lines["shop"]
    assert lines["harbour"].startswith("+") and lines["default"].startswith("+")
    assert "harbour" in lines["shop"].split("2.1.0")[1]                     # parent column
    assert "active: shop → harbour → default" in result.output


def test_check_passes_for_the_shipped_themes(themed_app):
    result = themed_app("default").test_cli_runner().invoke(args=["themes", "check", "-v"])
    assert result.exit_code == 0, result.output
    assert "harbour  layout.html" in result.output and "ok" in result.output


def test_check_flags_an_override_older_than_its_original_and_exits_1(themed_app, make_theme):
    make_theme("shop", files={"templates/_footer.html": STALE_FOOTER,
                              "templates/errors/error.html": "<p>no version comment</p>",
                              "templates/catalog/extra.html": "{# template-version: 1 #}new page"})
    result = themed_app("default").test_cli_runner().invoke(args=["themes", "check"])
    assert result.exit_code == 1
    rows = [line.split() for line in result.output.splitlines()]
    assert ["shop", "_footer.html", "1", "3", "STALE", "themes/default/templates/_footer.html"] in rows
    assert ["shop", "errors/error.html", "none", "1", "STALE",
            "themes/default/templates/errors/error.html"] in rows
    assert not any("extra.html" in line for line in result.output.splitlines())   # no original
    assert "2 override(s) are older" in result.output


def test_check_passes_a_current_override(themed_app, make_theme):
    make_theme("shop", files={"templates/_footer.html": CURRENT_FOOTER})
    result = themed_app("default").test_cli_runner().invoke(args=["themes", "check", "shop"])
    assert result.exit_code == 0, result.output
    assert "all 1 override(s) are current" in result.output


def test_an_override_is_compared_with_the_next_layer_not_with_default(themed_app, make_theme):
    make_theme("base", files={"templates/_footer.html": "{# template-version: 7 #}<footer>base</footer>"})
    make_theme("shop", parent="base", files={"templates/_footer.html": CURRENT_FOOTER})
    result = themed_app("default").test_cli_runner().invoke(args=["themes", "check"])
    assert result.exit_code == 1
    assert ["shop", "_footer.html", "3", "7", "STALE"] in [l.split()[:5] for l in result.output.splitlines()]
    # base's own override of default's footer (version 2) is current.
    assert not any(l.split()[:2] == ["base", "_footer.html"] for l in result.output.splitlines() if l.strip())


def test_check_refuses_an_unknown_theme_name(themed_app):
    result = themed_app("default").test_cli_runner().invoke(args=["themes", "check", "nope"])
    assert result.exit_code != 0 and "no theme 'nope'" in result.output


def test_new_creates_a_child_theme_that_renders_as_the_active_theme(themed_app, themes_dir):
    result = themed_app("default").test_cli_runner().invoke(
        args=["themes", "new", "corner-shop", "--parent", "harbour", "--path", str(themes_dir)])
    assert result.exit_code == 0, result.output
    folder = themes_dir / "corner-shop"
    manifest = json.loads((folder / "theme.json").read_text())
    assert manifest["name"] == "corner-shop" and manifest["parent"] == "harbour"
    for relative in ("templates/layout.html", "static/css/corner-shop.css", "README.md"):
        assert (folder / relative).is_file(), relative

    app = themed_app("corner-shop")
    page = app.test_client().get("/").get_data(as_text=True)
    assert "/theme/css/corner-shop.css?v=" in page            # its own stylesheet …
    assert "/theme/css/harbour.css?v=" in page                # … after its parent's
    assert "harbour-masthead" in page
    check = app.test_cli_runner().invoke(args=["themes", "check", "corner-shop"])
    assert check.exit_code == 0, check.output                 # born current


def test_new_refuses_a_bad_name_an_existing_theme_an_unknown_parent_or_an_existing_folder(themed_app,
                                                                                         themes_dir):
    runner = themed_app("default").test_cli_runner()
    for args, message in [
        (["Bad Name"], "lower-case letters"),
        (["harbour"], "already exists"),
        (["shop", "--parent", "nowhere"], "no theme 'nowhere'"),
    ]:
        result = runner.invoke(args=["themes", "new", *args, "--path", str(themes_dir)])
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    (themes_dir / "taken").mkdir()
    (themes_dir / "taken" / "notes.txt").write_text("mine")
    result = runner.invoke(args=["themes", "new", "taken", "--path", str(themes_dir)])
    assert result.exit_code != 0 and "already exists; nothing was written" in result.output
    assert [p.name for p in (themes_dir / "taken").iterdir()] == ["notes.txt"]


def test_new_defaults_to_the_first_themes_path_folder(themed_app, themes_dir):
    result = themed_app("default").test_cli_runner().invoke(args=["themes", "new", "plain"])
    assert result.exit_code == 0, result.output
    assert (themes_dir / "plain" / "theme.json").is_file()
    assert "not in THEMES_PATH" not in result.output
    assert str(themes_dir) != SHIPPED_THEMES
