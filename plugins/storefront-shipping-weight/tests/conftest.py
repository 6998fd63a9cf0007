import pytest

import storefront_weight

pytest_plugins = ["storefront.testing"]

#: The table most tests use: a home zone with a per-kilogram rule, the EU without one,
#: and a zone for every other country.
TABLE = """
domestic | DE          | 1kg=490 2kg=590 5kg=790 | +150/kg
eu       | AT, BE, fr  | 1000=890 5000g=1290
world    | *           | 2kg=1990 10kg=3990      | +500/500g
"""


@pytest.fixture
def app(make_plugin_app):
    """An app with only this plugin loaded (its table empty, as after installing)."""
    application = make_plugin_app(storefront_weight)
    with application.app_context():
        yield application


@pytest.fixture
def rates(app, configure_plugin):
    """The plugin configured with :data:`TABLE`."""
    configure_plugin("weight", rates=TABLE)
    return TABLE
