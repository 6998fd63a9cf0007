"""The back-office plugin pages: list, switch (POST/redirect/GET), settings form."""
import re

import pytest

from storefront.plugins import MenuItem, Setting, get_settings, hookimpl
from storefront.plugins import manager
from storefront.plugins.settings import save_settings

class Courier:
    PLUGIN_NAME = "courier"
    STOREFRONT_REQUIRES = ">=0.1,<1"
    SETTINGS = [
        Setting("rate_minor", "int", default=590, min=0, label="Rate"),
        Setting("service", "str", default="standard", choices=("standard", "express")),
        Setting("insured", "bool", default=True),
        Setting("api_key", "str", optional=True, secret=True, label="API key"),
        Setting("countries", "list", optional=True),
    ]

    @hookimpl
    def storefront_admin_menu(self):
        return [MenuItem("Courier desk", "admin.dashboard")]


@pytest.fixture
def app(make_app, app_config):
    application = make_app(plugins=(Courier(),), PLUGINS_BLOCKED=["flatrate"], **app_config)
    with application.app_context():
        yield application


@pytest.fixture
def staff(staff_client):
    return staff_client


def test_the_plugin_pages_are_for_staff_only(app, make_user, login):
    anonymous = app.test_client()
    customer = app.test_client()
    login(customer, make_user(role="customer"))

    for client in (anonymous, customer):
        assert client.get("/admin/plugins").status_code in (302, 403, 404)
        assert client.post("/admin/plugins/courier/enabled", data={"enabled": "0"}).status_code in (302, 403, 404)
        assert client.get("/admin/plugins/courier").status_code in (302, 403, 404)
    assert manager.state().is_enabled("courier")


def test_the_list_shows_versions_states_and_why_a_plugin_is_not_loaded(staff):
    page = staff.get("/admin/plugins").get_data(as_text=True)

    flatrate = page[page.index("<strong>flatrate</strong>"):]  # rows are sorted: courier, flatrate
    assert "storefront-shipping-flatrate" in flatrate and "<td>0.1.0</td>" in flatrate
    assert "blocked" in flatrate and "listed in PLUGINS_BLOCKED: not imported" in flatrate
    assert "supports Storefront &gt;=0.1,&lt;1" in page and 'href="/admin/plugins/courier"' in page


def test_the_menu_links_the_plugin_page_and_plugins_own_items(staff):
    page = staff.get("/admin/").get_data(as_text=True)

    assert page.index(">Plugins</a>") < page.index(">Courier desk</a>")


def test_switching_a_plugin_off_posts_then_redirects_to_the_list(staff):
    response = staff.post("/admin/plugins/courier/enabled", data={"enabled": "0"})

    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/plugins")
    assert not manager.state().is_enabled("courier")
    page = staff.get("/admin/plugins").get_data(as_text=True)
    assert "courier is disabled in every process" in page

    staff.post("/admin/plugins/courier/enabled", data={"enabled": "1"})
    assert manager.state().is_enabled("courier")


def test_switching_an_unknown_plugin_says_so(staff):
    staff.post("/admin/plugins/nothing/enabled", data={"enabled": "0"})

    assert "There is no plugin named &#39;nothing&#39;" in staff.get("/admin/plugins").get_data(as_text=True)


def test_the_settings_form_is_generated_from_the_declaration(staff):
    page = staff.get("/admin/plugins/courier").get_data(as_text=True)

    assert re.search(r'<input id="setting-rate_minor" name="rate_minor" type="text" inputmode="numeric" value="590"', page)
    assert '<option selected>standard</option>' in page
    assert re.search(r'type="checkbox" id="setting-insured" name="insured" checked', page)
    assert '<input id="setting-api_key" name="api_key" type="password" value=""' in page


def test_a_saved_secret_is_never_sent_back_to_the_browser(staff):
    save_settings("courier", {"api_key": "sk_live_secret"})

    page = staff.get("/admin/plugins/courier").get_data(as_text=True)

    assert "sk_live_secret" not in page and "Saved; leave blank to keep it." in page


def test_saving_the_form_posts_then_redirects_and_a_blank_secret_is_kept(staff):
    save_settings("courier", {"api_key": "sk_live_secret"})

    response = staff.post("/admin/plugins/courier", data={
        "rate_minor": "650", "service": "express", "api_key": "", "countries": "DE, AT"})

    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/plugins/courier")
    assert dict(get_settings("courier")) == {"rate_minor": 650, "service": "express", "insured": False,
                                             "api_key": "sk_live_secret", "countries": ("DE", "AT")}


def test_a_bad_value_answers_400_with_the_field_error_and_saves_nothing(staff):
    response = staff.post("/admin/plugins/courier", data={
        "rate_minor": "-1", "service": "express", "insured": "on", "api_key": "sk_new"})

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert '<p class="field-error" id="setting-rate_minor-error">Rate must be at least 0.</p>' in page
    assert 'value="-1"' in page and "sk_new" not in page
    assert get_settings("courier")["service"] == "standard"


@pytest.mark.parametrize("app_config", [{"PLUGIN_COURIER_RATE_MINOR": 990}])
def test_a_setting_fixed_in_the_config_is_shown_read_only(staff, app_config):
    page = staff.get("/admin/plugins/courier").get_data(as_text=True)
    saved = staff.post("/admin/plugins/courier", data={"service": "express"})

    assert re.search(r'name="rate_minor"[^>]*value="990"[^>]* disabled>', page)
    assert "Set in the config by <code>PLUGIN_COURIER_RATE_MINOR</code>" in page
    assert saved.status_code == 302
    assert (get_settings("courier")["rate_minor"], get_settings("courier")["service"]) == (990, "express")


def test_switching_needs_the_forms_csrf_token(app, staff):
    app.config["WTF_CSRF_ENABLED"] = True  # signed in already; from now on forms need their token

    forged = staff.post("/admin/plugins/courier/enabled", data={"enabled": "0"})
    page = staff.get("/admin/plugins").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    genuine = staff.post("/admin/plugins/courier/enabled", data={"enabled": "0", "csrf_token": token})

    assert (forged.status_code, genuine.status_code) == (400, 302)
    assert not manager.state().is_enabled("courier")


def test_switches_and_settings_changes_are_audited_without_secrets(staff):
    from sqlalchemy import select

    from storefront.audit import AuditEvent
    from storefront.extensions import db

    staff.post("/admin/plugins/courier/enabled", data={"enabled": "0"})
    staff.post("/admin/plugins/courier", data={"rate_minor": "650", "service": "standard",
                                               "api_key": "sk_live_secret"})

    events = db.session.scalars(select(AuditEvent).where(AuditEvent.target_type == "plugin")
                                .order_by(AuditEvent.id)).all()
    assert [(e.action, e.target_id, e.actor_email) for e in events] == [
        ("plugin.disabled", "courier", staff.user.email),
        ("plugin.settings_saved", "courier", staff.user.email)]
    assert events[1].before["rate_minor"] == 590 and events[1].after["rate_minor"] == 650
    assert "sk_live_secret" not in repr(events[1].after) and events[1].after["api_key"] == "(changed)"
