"""Theme settings: declared in theme.json, validated, saved from the back office, live."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from theme_helpers import FakeClock

from storefront.audit import AuditEvent
from storefront.extensions import db
from storefront.templating import state, theme_settings
from storefront.theme_settings import (
    SavedThemeSettings,
    ThemeSetting,
    ThemeSettingsInvalid,
    ThemeSettingsRecord,
    clean_settings,
    save_theme_settings,
    settings_stylesheet,
)

EVERY_TYPE = [
    {"key": "accent", "type": "colour", "default": "#abc", "label": "Accent colour"},
    {"key": "columns", "type": "int", "default": 3, "label": "Columns"},
    {"key": "show_badges", "type": "bool", "default": True, "label": "Show badges"},
    {"key": "greeting", "type": "str", "default": "Hello", "label": "Greeting"},
]


def saved_row(theme: str) -> ThemeSettingsRecord | None:
    """The stored row as the database has it now (the save happened in another session)."""
    # End this session's transaction first: under MariaDB's REPEATABLE READ an open one
    # would keep showing the snapshot taken before the save.
    db.session.rollback()
    return db.session.execute(select(ThemeSettingsRecord).where(ThemeSettingsRecord.theme == theme)
                              ).scalar_one_or_none()


def test_declared_defaults_apply_until_something_is_saved_and_colours_are_normalised(themed_app, make_theme):
    make_theme("shop", settings=EVERY_TYPE)
    with themed_app("shop").test_request_context("/"):
        values = theme_settings()
    assert values["accent"] == "#aabbcc"                   # #abc, canonical
    assert values["columns"] == 3 and values["show_badges"] is True and values["greeting"] == "Hello"
    assert values["announcement"] == ""                    # inherited from default's declaration


def test_each_type_accepts_only_its_own_values():
    declared = {s["key"]: ThemeSetting.from_declaration(s) for s in EVERY_TYPE}
    assert clean_settings(declared, {"accent": "#ABCDEF", "columns": 4, "show_badges": False,
                                     "greeting": "Hi"}) == {
        "accent": "#abcdef", "columns": 4, "show_badges": False, "greeting": "Hi"}
    with pytest.raises(ThemeSettingsInvalid) as caught:
        clean_settings(declared, {"accent": "blue", "columns": "4", "show_badges": "yes",
                                  "greeting": 5, "font": "Comic Sans"})
    assert set(caught.value.errors) == {"accent", "columns", "show_badges", "greeting", "font"}
    assert caught.value.errors["font"] == "is not a setting of this theme"
    assert caught.value.errors["columns"] == "Columns must be a whole number"


@pytest.mark.parametrize("hostile", [
    "#fff;} body{display:none",
    "#ffffff\n}",
    "red",
    "url(https://evil.example/x.png)",
    "#ggg",
    "#12345",
    "var(--bg)",
    " #fff",
])
def test_a_colour_is_only_ever_hash_rgb_or_hash_rrggbb(hostile):
    setting = ThemeSetting.from_declaration(EVERY_TYPE[0])
    with pytest.raises(ValueError):
        setting.clean(hostile)


def test_the_back_office_form_saves_one_json_document_per_theme(themed_app, sign_in_staff):
    app = themed_app("harbour")
    client = app.test_client()
    staff = sign_in_staff(client)
    form = client.get("/admin/theme")
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert 'name="accent"' in page and 'name="tagline"' in page and "Harbour" in page

    response = client.post("/admin/theme", data={"accent": "#3FA7D6", "accent_contrast": "#000",
                                                 "announcement": "  Free delivery  ", "tagline": "Ahoy"})
    assert response.status_code == 302 and response.location.endswith("/admin/theme")
    row = saved_row("harbour")
    assert row.values == {"accent": "#3fa7d6", "accent_contrast": "#000000",
                          "announcement": "Free delivery", "tagline": "Ahoy"}
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "admin.theme_settings.saved")
                               ).scalar_one()
    assert event.actor_id == staff.id and event.target_id == "harbour"
    assert event.before == {} and event.after == row.values
    assert 'value="#3fa7d6"' in client.get("/admin/theme").get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert "Free delivery" in home and "Ahoy" in home


def test_a_bad_value_is_refused_with_400_naming_the_field_and_nothing_is_saved(themed_app, sign_in_staff):
    app = themed_app("harbour")
    client = app.test_client()
    sign_in_staff(client)
    client.post("/admin/theme", data={"accent": "#111111", "accent_contrast": "#ffffff",
                                      "announcement": "", "tagline": "Before"})
    before = saved_row("harbour").values

    response = client.post("/admin/theme", data={"accent": "red;}body{display:none", "accent_contrast": "#fff",
                                                  "announcement": "x", "tagline": "After"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was saved" in page
    assert re.search(r'class="field-error" id="setting-accent-error">Accent colour must be a colour', page)
    assert 'aria-invalid="true"' in page
    assert saved_row("harbour").values == before

    unknown = client.post("/admin/theme", data={"accent": "#111111", "secret_key": "x"})
    assert unknown.status_code == 400 and "secret_key" in unknown.get_data(as_text=True)
    assert saved_row("harbour").values == before


def test_a_checkbox_left_unticked_saves_false_and_numbers_are_parsed(themed_app, make_theme, sign_in_staff):
    make_theme("shop", settings=EVERY_TYPE)
    client = themed_app("shop").test_client()
    sign_in_staff(client)
    response = client.post("/admin/theme", data={"accent": "#000", "accent_contrast": "#fff",
                                                 "announcement": "", "columns": " 5 ", "greeting": "Hi"})
    assert response.status_code == 302
    values = saved_row("shop").values
    assert values["show_badges"] is False and values["columns"] == 5
    assert client.post("/admin/theme", data={"columns": "five"}).status_code == 400
    assert client.post("/admin/theme", data={"columns": "٣"}).status_code == 400   # ASCII digits only
    assert client.post("/admin/theme", data={"columns": "9" * 5000}).status_code == 400
    assert client.post("/admin/theme", data={"columns": "2000000000"}).status_code == 400


def test_restoring_defaults_forgets_the_saved_values(themed_app, sign_in_staff):
    client = themed_app("harbour").test_client()
    sign_in_staff(client)
    client.post("/admin/theme", data={"accent": "#123456", "accent_contrast": "#ffffff",
                                      "announcement": "", "tagline": "Changed"})
    assert client.post("/admin/theme/reset").status_code == 302
    assert saved_row("harbour") is None
    reset = db.session.execute(select(AuditEvent).where(AuditEvent.action == "admin.theme_settings.reset")
                               ).scalar_one()
    assert reset.before["tagline"] == "Changed" and reset.after == {}
    assert "Goods from the quayside" in client.get("/").get_data(as_text=True)


def test_the_settings_page_is_for_staff_only(themed_app, make_user, login):
    client = themed_app("default").test_client()
    assert client.get("/admin/theme").status_code == 302                    # to sign-in
    assert client.post("/admin/theme", data={"accent": "#000"}).status_code == 302
    login(client, make_user(role="customer"))
    assert client.get("/admin/theme").status_code == 403
    assert saved_row("default") is None


def test_the_settings_stylesheet_carries_the_saved_accent_colour(themed_app):
    app = themed_app("default")
    client = app.test_client()
    css = client.get("/theme-settings.css")
    assert css.mimetype == "text/css"
    assert "--accent: #2f5d50;" in css.get_data(as_text=True)
    with app.app_context():
        save_theme_settings("default", state(app).declared_settings, {"accent": "#C0FFEE"})
    state(app).saved_settings_changed()
    home = client.get("/").get_data(as_text=True)
    url = re.search(r'href="(/theme-settings\.css\?v=[0-9a-f]{12})"', home).group(1)
    response = client.get(url)
    assert "--accent: #c0ffee;" in response.get_data(as_text=True)
    assert response.cache_control.immutable                                  # versioned by content
    # The layout links it after the theme's own stylesheet, so the setting wins.
    assert home.index("/theme/css/site.css") < home.index("/theme-settings.css")


def test_the_stylesheet_holds_only_validated_colours_even_if_the_database_does_not():
    declared = {"accent": ThemeSetting.from_declaration(EVERY_TYPE[0])}
    css = settings_stylesheet(declared, {"accent": "#000;} * {display:none"})
    assert css == ":root {\n  --accent: #aabbcc;\n}\n"


def test_a_save_in_one_process_shows_in_another_within_the_refresh_interval(themed_app):
    writer = themed_app("harbour")
    reader = themed_app("harbour", THEMES_REFRESH_SECONDS=5)
    clock = FakeClock()
    source = SavedThemeSettings("harbour", state(reader).declared_settings, 5, clock=clock)
    state(reader).settings_source = source
    with reader.test_request_context("/"):
        assert theme_settings()["tagline"] == "Goods from the quayside"
    with writer.app_context():
        save_theme_settings("harbour", state(writer).declared_settings, {"tagline": "Now live"})
    with reader.test_request_context("/"):
        clock.advance(4)
        assert theme_settings()["tagline"] == "Goods from the quayside"     # still cached
        clock.advance(2)
        assert theme_settings()["tagline"] == "Now live"                    # no restart


def test_a_saved_value_the_theme_no_longer_accepts_falls_back_to_the_default(themed_app, caplog):
    app = themed_app("harbour")
    with app.app_context():
        db.session.add(ThemeSettingsRecord(theme="harbour", values={"accent": "not a colour",
                                                                    "removed": 1, "tagline": "kept"}))
        db.session.commit()
    with app.test_request_context("/"), caplog.at_level("WARNING", logger="storefront.themes"):
        values = theme_settings()
    assert values["accent"] == "#f2b134" and values["tagline"] == "kept" and "removed" not in values
    assert "saved setting 'removed' ignored" in caplog.text


def test_an_unreadable_settings_table_keeps_the_store_up_with_defaults(themed_app, caplog):
    app = themed_app("default")
    broken = SavedThemeSettings("default", state(app).declared_settings, 0)
    state(app).settings_source = broken
    with app.app_context():
        ThemeSettingsRecord.__table__.drop(db.engine)
        try:
            with caplog.at_level("WARNING", logger="storefront.themes"):
                response = app.test_client().get("/")
        finally:
            ThemeSettingsRecord.__table__.create(db.engine)
    assert response.status_code == 200
    assert "could not be read" in caplog.text
