"""Template lookup through the theme chain: order, "~" originals, live changes, admin/."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask import render_template
from jinja2 import TemplateNotFound
from theme_helpers import SHIPPED_THEMES, FakeClock, without_csrf_token, write

from storefront.templating import (
    ThemeError,
    discover_themes,
    resolve_chain,
    state,
    template_version,
)

CHILD_FOOTER = "{# template-version: 2 #}\n<footer>child footer</footer>\n"


def test_the_chain_is_the_active_theme_then_its_parents_then_default(make_theme, themes_dir):
    make_theme("base", parent=None)
    make_theme("shop", parent="base")
    themes = discover_themes([str(themes_dir), SHIPPED_THEMES])
    assert [t.name for t in resolve_chain(themes, "shop")] == ["shop", "base", "default"]
    assert [t.name for t in resolve_chain(themes, "default")] == ["default"]


def test_the_first_layer_holding_a_template_wins(themed_app, make_theme):
    make_theme("base", files={"templates/catalog/home.html":
                              "{# template-version: 1 #}{% extends 'layout.html' %}"
                              "{% block main %}base home{% endblock %}"})
    make_theme("shop", parent="base", files={"templates/_footer.html": CHILD_FOOTER})
    page = themed_app("shop").test_client().get("/").get_data(as_text=True)
    assert "base home" in page                      # from the parent
    assert "child footer" in page                   # from the active theme
    assert 'class="site-header"' in page            # from default
    assert "Powered by Storefront" not in page      # default's footer lost to the child's


def test_an_override_extending_its_original_changes_only_its_block(themed_app, make_theme):
    make_theme("shop", files={"templates/layout.html":
                              "{# template-version: 2 #}\n{%- extends \"~layout.html\" %}\n"
                              "{% block footer %}<footer>one block changed</footer>{% endblock %}\n"})
    themed = themed_app("shop").test_client().get("/").get_data(as_text=True)
    original = themed_app("default").test_client().get("/").get_data(as_text=True)

    def split_at_footer(html: str) -> tuple[str, str]:
        before, _, rest = without_csrf_token(html).partition("<footer")
        return before.rstrip(), rest.partition("</footer>")[2].strip()

    assert "one block changed" in themed and "Powered by Storefront" not in themed
    assert split_at_footer(themed) == split_at_footer(original)


def test_tilde_is_relative_to_the_theme_of_the_file_so_each_layer_adds_its_part(themed_app, make_theme):
    extend = ("{{# template-version: 2 #}}\n{{%- extends \"~layout.html\" %}}\n"
              "{{% block footer %}}<p>{mark}</p>{{{{ super() }}}}{{% endblock %}}\n")
    make_theme("base", files={"templates/layout.html": extend.format(mark="from base")})
    make_theme("shop", parent="base", files={"templates/layout.html": extend.format(mark="from shop")})
    page = themed_app("shop").test_client().get("/").get_data(as_text=True)
    assert page.index("from shop") < page.index("from base") < page.index("Powered by Storefront")


def test_an_override_can_include_its_original_to_wrap_it(themed_app, make_theme):
    make_theme("shop", files={"templates/_footer.html":
                              "{# template-version: 2 #}\n<div class=\"wrapped\">"
                              "{% include \"~_footer.html\" %}</div>\n"})
    page = themed_app("shop").test_client().get("/").get_data(as_text=True)
    start = page.index('<div class="wrapped">')
    end = page.index("</footer>")
    # The original footer, whole, inside the wrapper — and no endless self-inclusion.
    assert start < page.index('<footer class="site-footer">') < page.index("Powered by Storefront") < end
    assert page[end + len("</footer>"):].lstrip().startswith("</div>")


def test_tilde_outside_a_theme_file_means_below_the_active_theme(themed_app, make_theme):
    make_theme("shop", files={"templates/catalog/home.html": "{# template-version: 1 #}shop home"})
    with themed_app("shop").test_request_context("/"):
        assert render_template("catalog/home.html") == "shop home"
        assert "Welcome to" in render_template("~catalog/home.html")


def test_deleting_an_override_restores_the_original_without_a_restart(themed_app, make_theme):
    folder = make_theme("shop", files={"templates/_footer.html": CHILD_FOOTER})
    app = themed_app("shop")
    assert not app.debug and app.jinja_env.auto_reload     # live outside debug mode too
    client = app.test_client()
    assert "child footer" in client.get("/").get_data(as_text=True)

    (folder / "templates" / "_footer.html").unlink()
    assert "Powered by Storefront" in client.get("/").get_data(as_text=True)

    write(folder / "templates" / "_footer.html", CHILD_FOOTER.replace("child", "new"))
    assert "new footer" in client.get("/").get_data(as_text=True)      # a new override shows too

    write(folder / "templates" / "_footer.html", CHILD_FOOTER.replace("child", "edited"))
    assert "edited footer" in client.get("/").get_data(as_text=True)   # and so does an edit


def test_theme_files_are_looked_at_again_only_after_the_refresh_interval(themed_app, make_theme):
    folder = make_theme("shop", files={"templates/_footer.html": CHILD_FOOTER})
    app = themed_app("shop", THEMES_REFRESH_SECONDS=30)
    clock = FakeClock()
    state(app).loader.clock = clock
    client = app.test_client()
    assert "child footer" in client.get("/").get_data(as_text=True)

    (folder / "templates" / "_footer.html").unlink()
    clock.advance(29)
    assert "child footer" in client.get("/").get_data(as_text=True)    # cached: no disk access
    clock.advance(2)
    assert "Powered by Storefront" in client.get("/").get_data(as_text=True)


def test_admin_templates_cannot_be_overridden_by_a_theme(themed_app, make_theme, sign_in_staff):
    make_theme("shop", files={"templates/admin/layout.html": "{# template-version: 1 #}HIJACKED",
                              "templates/admin/dashboard.html": "{# template-version: 1 #}HIJACKED"})
    app = themed_app("shop")
    client = app.test_client()
    sign_in_staff(client)
    page = client.get("/admin/").get_data(as_text=True)
    assert "HIJACKED" not in page and "Dashboard" in page
    with app.test_request_context("/"):
        assert "HIJACKED" not in render_template("~admin/dashboard.html")
    source, filename, _ = app.jinja_env.loader.get_source(app.jinja_env, "admin/layout.html")
    assert "HIJACKED" not in source and "storefront" in filename


def test_a_template_name_cannot_reach_outside_the_theme_folders(themed_app):
    app = themed_app("default")
    for name in ("../theme.json", "catalog/../../theme.json", "~../theme.json"):
        with pytest.raises(TemplateNotFound):
            app.jinja_env.get_template(name)


@pytest.mark.parametrize("manifest, expected", [
    ("{not json", "not valid JSON"),
    ('{"name": "other"}', "\"name\" is 'other' but the folder is 'broken'"),
    ('{"name": "broken", "parnet": "default"}', "unknown field(s) 'parnet'"),
    ('{"name": "broken", "version": 2}', "\"version\" must be a string"),
    ('{"name": "broken", "parent": "nowhere"}', "names parent 'nowhere', which is not in THEMES_PATH"),
    ('{"name": "broken", "settings": [{"key": "accent", "type": "colour", "default": "red"}]}',
     "settings[0]: accent: \"default\" must be a colour written #rgb or #rrggbb"),
    ('{"name": "broken", "settings": [{"key": "x"}, {"key": "x"}]}', "key 'x' is declared twice"),
    ('{"name": "broken", "settings": [{"key": "x", "type": "float"}]}', "\"type\" 'float' is not one of"),
    ('{"name": "broken", "settings": [{"key": "bad-key"}]}', "\"key\" must be lower-case letters"),
])
def test_a_bad_theme_json_stops_the_app_with_a_message_naming_the_file(themed_app, themes_dir,
                                                                        manifest, expected):
    folder = themes_dir / "broken"
    folder.mkdir()
    (folder / "theme.json").write_text(manifest, encoding="utf-8")
    with pytest.raises(ThemeError) as caught:
        themed_app("default")
    message = str(caught.value)
    assert expected in message
    assert str(folder / "theme.json") in message


def test_an_unknown_theme_is_refused_with_the_list_of_available_ones(themed_app):
    with pytest.raises(ThemeError, match=r"THEME is 'nope' .* available: default, harbour"):
        themed_app("nope")


def test_themes_that_name_each_other_as_parents_are_refused(themed_app, make_theme):
    make_theme("left", parent="right")
    make_theme("right", parent="left")
    with pytest.raises(ThemeError, match="cycle"):
        themed_app("default")


def test_every_shipped_template_carries_a_version_comment_on_its_first_line():
    root = Path(SHIPPED_THEMES).parent
    folders = [Path(SHIPPED_THEMES)] + [p for p in (root / "storefront").rglob("templates") if p.is_dir()]
    checked = 0
    for folder in folders:
        for path in folder.rglob("*.html"):
            assert template_version(path.read_text(encoding="utf-8")) is not None, path
            checked += 1
    assert checked >= 10


def test_the_version_comment_counts_only_on_the_first_line():
    assert template_version("{# template-version: 3 #}\n<p>x</p>") == 3
    assert template_version("{#- template-version: 12 -#}") == 12
    assert template_version("<p>x</p>\n{# template-version: 3 #}") is None
    assert template_version("") is None


def test_explain_template_loading_logs_which_theme_served_a_template(themed_app, make_theme, caplog):
    make_theme("shop", files={"templates/_footer.html": CHILD_FOOTER})
    client = themed_app("shop", EXPLAIN_TEMPLATE_LOADING=True).test_client()
    with caplog.at_level("INFO", logger="storefront.themes"):
        client.get("/")
    assert any("'_footer.html': theme shop" in r.getMessage() for r in caplog.records)
    assert any(os.path.join("default", "templates", "layout.html") in r.getMessage() for r in caplog.records)
