"""Flat-rate settings are validated before anything is saved."""
import pytest

import storefront_flatrate
from storefront.plugins import SettingsInvalid, get_settings


@pytest.fixture
def app(make_plugin_app):
    application = make_plugin_app(storefront_flatrate)
    with application.app_context():
        yield application


def test_flatrate_declares_every_number_as_a_setting(app):
    assert dict(get_settings("flatrate")) == {
        "label": "Standard shipping", "countries": (), "rate_minor": 490,
        "other_rate_minor": None, "free_above_minor": None, "eta_days": None}


def test_a_negative_rate_is_refused_and_nothing_is_saved(app, configure_plugin):
    with pytest.raises(SettingsInvalid) as refused:
        configure_plugin("flatrate", label="Express", rate_minor="-1")

    assert refused.value.errors == {"rate_minor": "Rate in your zone (minor units) must be at least 0."}
    assert get_settings("flatrate")["label"] == "Standard shipping"
