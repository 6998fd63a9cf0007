"""Plugin settings: declared, validated, stored all-or-nothing, overridable, live."""
import pytest

from storefront.config import ConfigurationError
from storefront.plugins import Setting, SettingError, SettingsInvalid, get_settings
from storefront.plugins import manager
from storefront.plugins.settings import SECRET_MASK, describe_settings, save_settings


class Courier:
    PLUGIN_NAME = "courier"
    SETTINGS = [
        Setting("service", "str", default="standard", choices=("standard", "express")),
        Setting("rate_minor", "int", default=590, min=0, max=100_000),
        Setting("countries", "list", optional=True),
        Setting("insured", "bool"),
        Setting("api_key", "str", optional=True, secret=True),
        Setting("note", "str", optional=True),
    ]


@pytest.fixture
def shop(make_app):
    app = make_app(plugins=(Courier(),), PLUGINS_AUTOLOAD=False)
    with app.app_context():
        yield app


# --- declarations --------------------------------------------------------------------------


def test_a_setting_declaration_fills_its_label_and_checks_its_default():
    assert Setting("free_above_minor", "int", optional=True).label == "Free above minor"
    with pytest.raises(ValueError, match="default 'lots' is invalid"):
        Setting("rate", "int", default="lots")
    with pytest.raises(ValueError, match="is required"):
        Setting("rate", "int")


@pytest.mark.parametrize("declaration, problem", [
    (dict(key="Rate"), "lower-case"), (dict(key="x", type="float"), "not one of"),
    (dict(key="x", type="int", secret=True, default=1), "only str settings can be secret"),
    (dict(key="x", min=1, default="a"), "min/max apply to int"),
    (dict(key="x", type="bool", choices=("a",)), "choices apply to str and list"),
])
def test_a_malformed_setting_declaration_is_refused(declaration, problem):
    with pytest.raises(ValueError, match=problem):
        Setting(**declaration)


@pytest.mark.parametrize("setting, raw, value", [
    (Setting("n", "int", default=1), " 42 ", 42),
    (Setting("n", "int", optional=True), "", None),
    (Setting("b", "bool"), "on", True),
    (Setting("b", "bool"), "false", False),
    (Setting("b", "bool"), True, True),
    (Setting("l", "list", optional=True), "DE, AT,\nCH,", ("DE", "AT", "CH")),
    (Setting("l", "list", optional=True), ["DE"], ("DE",)),
    (Setting("s", "str", default="a", choices=("a", "b")), "b", "b"),
    (Setting("t", "text", optional=True), " one\r\ntwo\r\n", "one\ntwo"),
])
def test_values_are_read_in_the_settings_type(setting, raw, value):
    assert setting.coerce(raw) == value


@pytest.mark.parametrize("setting, raw, message", [
    (Setting("n", "int", default=1, label="Rate"), "1.5", "Rate must be a whole number."),
    (Setting("n", "int", default=1, label="Rate"), True, "Rate must be a whole number."),
    (Setting("n", "int", default=1, min=0, label="Rate"), "-1", "Rate must be at least 0."),
    (Setting("n", "int", default=1, max=9, label="Rate"), 10, "Rate must be at most 9."),
    (Setting("n", "int", default=1, label="Rate"), "", "Rate is required."),
    (Setting("b", "bool", label="Insured"), "maybe", "Insured must be yes or no (true/false)."),
    (Setting("s", "str", default="a", choices=("a", "b"), label="Service"), "c",
     "Service must be one of: a, b."),
    (Setting("l", "list", optional=True, choices=("DE",), label="Zone"), "DE,FR",
     "Zone: FR not allowed; choose from DE."),
])
def test_bad_values_get_a_message_a_merchant_understands(setting, raw, message):
    with pytest.raises(SettingError) as refused:
        setting.coerce(raw)
    assert refused.value.message == message and refused.value.status == 400


def _no_tabs(text):
    if "\t" in text:
        raise ValueError(f"line {text[:text.index(chr(9))].count(chr(10)) + 1} has a tab.")


def test_a_declared_check_refuses_what_the_type_alone_cannot():
    table = Setting("table", "text", optional=True, validate=_no_tabs, label="Table")

    assert table.coerce("a b\nc d") == "a b\nc d"
    assert table.coerce("") == ""  # empty is left to ``optional``
    with pytest.raises(SettingError) as refused:
        table.coerce("a b\nc\td")
    assert refused.value.message == "Table: line 2 has a tab."
    with pytest.raises(ValueError, match="default .* is invalid: Table: line 1 has a tab"):
        Setting("table", "text", default="a\tb", validate=_no_tabs, label="Table")


def test_a_plugin_declaring_a_setting_twice_is_refused(make_app):
    class Twice:
        PLUGIN_NAME = "twice"
        SETTINGS = [Setting("a", "bool"), Setting("a", "bool")]

    from storefront.plugins.manager import PluginSetupError

    with pytest.raises(PluginSetupError, match="setting keys declared twice: a"):
        make_app(plugins=(Twice(),))


# --- reading and saving ----------------------------------------------------------------------------


def test_settings_start_at_their_declared_defaults(shop):
    assert dict(get_settings("courier")) == {"service": "standard", "rate_minor": 590, "countries": (),
                                             "insured": False, "api_key": "", "note": ""}


def test_reading_an_undeclared_setting_is_a_key_error(shop):
    with pytest.raises(KeyError):
        get_settings("courier")["rate"]


def test_settings_are_read_only(shop):
    with pytest.raises(TypeError):
        get_settings("courier")["rate_minor"] = 1  # type: ignore[index]


def test_saved_settings_are_validated_and_read_back_typed(shop):
    save_settings("courier", {"rate_minor": "750", "countries": "DE, AT", "insured": "yes"})

    settings = get_settings("courier")
    assert (settings["rate_minor"], settings["countries"], settings["insured"]) == (750, ("DE", "AT"), True)


def test_one_bad_value_saves_nothing_and_every_problem_is_named(shop):
    with pytest.raises(SettingsInvalid) as refused:
        save_settings("courier", {"note": "fine", "rate_minor": "cheap", "service": "overnight", "colour": "red"})

    assert set(refused.value.errors) == {"rate_minor", "service", "colour"}
    assert "courier has no setting 'colour'" in refused.value.errors["colour"]
    assert get_settings("courier")["note"] == ""


def test_a_config_value_wins_over_the_saved_one_and_cannot_be_saved_over(make_app):
    app = make_app(plugins=(Courier(),), PLUGINS_AUTOLOAD=False, PLUGIN_COURIER_RATE_MINOR="990")
    with app.app_context():
        with pytest.raises(SettingsInvalid, match="set by PLUGIN_COURIER_RATE_MINOR in the config"):
            save_settings("courier", {"rate_minor": 100})

        assert get_settings("courier")["rate_minor"] == 990
        assert {item.setting.key: item.source for item in describe_settings("courier")}["rate_minor"] == "config"


def test_a_config_value_its_declaration_rejects_stops_start_up(make_app):
    with pytest.raises(ConfigurationError, match="PLUGIN_COURIER_RATE_MINOR: Rate minor must be at least 0."):
        make_app(plugins=(Courier(),), PLUGINS_AUTOLOAD=False, PLUGIN_COURIER_RATE_MINOR=-5)


def test_a_blank_secret_keeps_the_saved_secret(shop):
    save_settings("courier", {"api_key": "sk_live_1"})

    save_settings("courier", {"api_key": "", "note": "changed"})

    assert get_settings("courier")["api_key"] == "sk_live_1"


def test_a_saved_value_the_declaration_no_longer_accepts_falls_back_to_the_default(shop, caplog):
    manager.write_state("courier", settings={"service": "overnight", "rate_minor": 100})

    assert (get_settings("courier")["service"], get_settings("courier")["rate_minor"]) == ("standard", 100)
    assert "saved service ignored" in caplog.text


def test_another_process_reads_saved_settings_within_its_refresh_interval(make_app):
    back_office = make_app(plugins=(Courier(),), PLUGINS_AUTOLOAD=False)
    worker = make_app(plugins=(Courier(),), PLUGINS_AUTOLOAD=False, PLUGINS_REFRESH_SECONDS=0)
    with worker.app_context():
        assert get_settings("courier")["rate_minor"] == 590

    with back_office.app_context():
        save_settings("courier", {"rate_minor": 650})

    with worker.app_context():
        assert get_settings("courier")["rate_minor"] == 650


# --- the CLI --------------------------------------------------------------------------------------


def test_flask_plugins_settings_shows_values_with_secrets_masked(shop):
    save_settings("courier", {"api_key": "sk_live_1"})

    output = shop.test_cli_runner().invoke(args=["plugins", "settings", "courier"]).output

    assert f"api_key = {SECRET_MASK}    (saved)" in output and "sk_live_1" not in output
    assert "rate_minor = 590    (default)" in output


def test_flask_plugins_settings_saves_pairs(shop):
    result = shop.test_cli_runner().invoke(args=["plugins", "settings", "courier", "rate_minor=650",
                                                 "countries=DE,AT"])

    assert result.exit_code == 0 and "saved rate_minor, countries for courier" in result.output
    assert get_settings("courier")["countries"] == ("DE", "AT")


def test_flask_plugins_settings_with_a_bad_value_exits_non_zero_and_saves_nothing(shop):
    result = shop.test_cli_runner().invoke(args=["plugins", "settings", "courier", "note=x",
                                                 "rate_minor=-3"])

    assert result.exit_code == 1
    assert "nothing saved:\n  rate_minor: Rate minor must be at least 0." in result.output
    assert get_settings("courier")["note"] == ""


def test_flask_plugins_settings_refuses_a_pair_without_an_equals_sign(shop):
    result = shop.test_cli_runner().invoke(args=["plugins", "settings", "courier", "rate_minor"])

    assert result.exit_code == 2 and "'rate_minor' is not KEY=VALUE" in result.output
