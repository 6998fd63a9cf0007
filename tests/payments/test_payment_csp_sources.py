"""Plugins that load a provider's script (a payment widget) add its origin to the
Content-Security-Policy through ``storefront_csp_sources`` — origins only, never
'unsafe-inline', and only while the plugin is enabled."""
import pytest

from storefront.plugins import hookimpl, manager


class Widget:
    PLUGIN_NAME = "widget"

    def __init__(self, sources):
        self.sources = sources

    @hookimpl
    def storefront_csp_sources(self):
        return self.sources


def policy_of(client) -> dict[str, list[str]]:
    header = client.get("/orders/lookup").headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_an_enabled_plugin_adds_its_origins_and_a_disabled_one_does_not(make_plugin_app):
    app = make_plugin_app(Widget([("script-src", "https://js.pay.example"), ("frame-src", "https://*.pay.example"),
                                  ("connect-src", "http://127.0.0.1:8420")]))
    with app.app_context():
        client = app.test_client()
        policy = policy_of(client)
        assert policy["script-src"] == ["'self'", "https://js.pay.example"]
        assert policy["frame-src"] == ["'self'", "https://*.pay.example"]  # starts from default-src
        assert policy["connect-src"] == ["'self'", "http://127.0.0.1:8420"]
        assert policy["frame-ancestors"] == ["'none'"]

        manager.set_enabled("widget", False)

        assert policy_of(client)["script-src"] == ["'self'"] and "frame-src" not in policy_of(client)


@pytest.mark.parametrize("bad", [("script-src", "'unsafe-inline'"), ("script-src", "https://a.example/x.js"),
                                 ("frame-ancestors", "https://evil.example"), ("script-src", "*"),
                                 ("script-src", "https://a.example; script-src 'unsafe-eval'"), "script-src"])
def test_anything_but_an_origin_for_an_allowed_directive_is_refused(make_plugin_app, bad):
    app = make_plugin_app(Widget([bad, ("img-src", "https://img.example")]), PLUGINS_RAISE_ERRORS=False)
    with app.app_context():
        header = app.test_client().get("/orders/lookup").headers["Content-Security-Policy"]

    assert "https://img.example" in header  # the good source still counts
    assert "unsafe" not in header and "evil" not in header and "x.js" not in header and " * " not in header + " "
    assert manager.state(app).failures[("widget", "storefront_csp_sources")] >= 1
