"""The rate table is checked line by line before anything is saved, in the back office,
on the command line and through the settings API alike."""
import re

import pytest

import storefront_weight
from storefront.plugins import SettingsInvalid, get_settings, manager

GOOD = "home | DE | 1kg=490 5kg=790 | +150/kg"


def test_the_weight_plugin_is_discovered_once_pip_installed(make_app):
    app = make_app()  # every installed plugin, found through the entry point

    weight = manager.state(app).plugins["weight"]
    assert weight.loaded and weight.plugin is storefront_weight
    assert (weight.distribution, weight.version, weight.requires) == ("storefront-shipping-weight", "0.1.0",
                                                                     ">=0.1,<1")
    assert weight.summary.startswith("Table-rate shipping")


def test_every_number_is_a_setting_and_the_table_starts_empty(app):
    assert dict(get_settings("weight")) == {"label": "Parcel", "rates": "", "free_above_minor": None,
                                            "unweighed_item_grams": None, "eta_days": None}


@pytest.mark.parametrize("table, message", [
    ("home | DE", "line 1: write zone | countries | brackets, and optionally | +price/kg (found 2 columns)."),
    ("home | DE | 1kg=490\neu | AT | 1kg=4.90", "line 2 (eu): '1kg=4.90': write prices in minor units, as a whole "
                                                 "number (490 for 4.90 in a currency with cents)."),
    ("home | DE | 2kg=590 1kg=490", "line 1 (home): '1kg=490' must weigh more than the bracket before it "
                                     "(2000 g); list brackets from light to heavy."),
    ("# our zones\n\nhome | DE | 1kg=490\neu | AT DE | 1kg=890", "line 4 (eu): DE is already in the zone on line 3."),
    ("home | DE | 1kg=490\nrest | * | 1kg=990\nfar | * | 1kg=1990", "line 3 (far): only one zone can be * "
                                                                     "(line 2 is)."),
    ("home | Germany | 1kg=490", "line 1 (home): 'Germany' is not a two-letter country code like DE."),
    ("home | DE | 1kg=490 | 150 per kg", "line 1 (home): the last column '150 per kg' should look like +150/kg"),
    ("home | DE | one kilo=490", "line 1 (home): 'one' should look like 1kg=490"),
    ("home | DE | 1lb=490", "line 1 (home): '1lb=490': '1lb' is not a weight"),
    ("Home Zone | DE | 1kg=490", "line 1: the zone name 'Home Zone' may use only letters, digits, - and _"),
    ("home | DE | 1kg=490\nHOME | AT | 1kg=890", "line 2 (home): zone home is already on line 1."),
    ("home | DE | ", "line 1 (home): add at least one bracket, like 1kg=490."),
    ("home | DE | 0=490", "line 1 (home): '0=490': a weight must be above 0"),
    ("# only a comment", "add at least one zone line"),
])
def test_a_bad_table_is_refused_with_a_message_naming_the_line_and_nothing_is_saved(
        app, configure_plugin, table, message):
    configure_plugin("weight", rates=GOOD)

    with pytest.raises(SettingsInvalid) as refused:
        configure_plugin("weight", rates=table, label="Express")

    assert list(refused.value.errors) == ["rates"]
    assert refused.value.errors["rates"].startswith(f"Rate table: {message}")
    assert (get_settings("weight")["rates"], get_settings("weight")["label"]) == (GOOD, "Parcel")


def test_the_back_office_edits_the_table_in_a_text_area_and_names_the_bad_line(app, staff_client):
    page = staff_client.get("/admin/plugins/weight").get_data(as_text=True)
    assert re.search(r'<textarea id="setting-rates" name="rates"[^>]*></textarea>', page)

    table = "home | DE | 1kg=490 5kg=790 | +150/kg\r\nworld | * | 2kg=19.90\r\n"
    refused = staff_client.post("/admin/plugins/weight", data={"label": "Parcel", "rates": table})

    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "line 2 (world): &#39;2kg=19.90&#39;: write prices in minor units" in text
    assert re.search(r"world \| \* \| 2kg=19\.90\s*</textarea>", text)  # what was typed stays in the field
    assert get_settings("weight")["rates"] == ""

    saved = staff_client.post("/admin/plugins/weight", data={"label": "Parcel",
                                                             "rates": table.replace("19.90", "1990")})
    assert saved.status_code == 302
    assert get_settings("weight")["rates"] == "home | DE | 1kg=490 5kg=790 | +150/kg\nworld | * | 2kg=1990"
    assert "home | DE | 1kg=490 5kg=790 | +150/kg\nworld | * | 2kg=1990</textarea>" in (
        staff_client.get("/admin/plugins/weight").get_data(as_text=True))


def test_the_command_line_refuses_a_bad_table_and_saves_a_good_one(app):
    runner = app.test_cli_runner()

    refused = runner.invoke(args=["plugins", "settings", "weight", "rates=home | DE | 1kg=490; eu | AT | 1kg="])
    assert refused.exit_code != 0
    assert "line 2 (eu): '1kg=': the price '' must be a whole number of minor units" in refused.output

    saved = runner.invoke(args=["plugins", "settings", "weight", "rates=home | DE | 1kg=490; eu | AT | 1kg=890"])
    assert saved.exit_code == 0, saved.output
    assert get_settings("weight")["rates"] == "home | DE | 1kg=490; eu | AT | 1kg=890"
