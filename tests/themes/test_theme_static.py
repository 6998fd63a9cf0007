"""theme_static(): fallback along the chain, content versions, caching and safe paths."""
from __future__ import annotations

import re

import pytest
from jinja2 import TemplateNotFound
from theme_helpers import write

from storefront.templating import theme_static

SHOP_CSS = "/* shop */ body { color: #123456; }\n"


def fetch(client, url: str):
    """GET a file response and close it (file responses stream from an open file)."""
    return client.get(url, buffered=True)


def test_a_static_file_comes_from_the_first_theme_of_the_chain_that_has_it(themed_app, make_theme):
    make_theme("shop", files={"static/css/site.css": SHOP_CSS})
    client = themed_app("shop").test_client()
    assert fetch(client, "/theme/css/site.css").get_data(as_text=True) == SHOP_CSS   # the child's
    assert b"enhanceFlashes" in fetch(client, "/theme/js/site.js").data             # default's


def test_theme_static_urls_carry_a_content_version_that_changes_with_the_file(themed_app, make_theme):
    folder = make_theme("shop", files={"static/css/shop.css": SHOP_CSS})
    app = themed_app("shop")
    with app.test_request_context("/"):
        first = theme_static("css/shop.css")
        assert re.fullmatch(r"/theme/css/shop\.css\?v=[0-9a-f]{12}", first)
        assert theme_static("css/shop.css") == first
        write(folder / "static" / "css" / "shop.css", SHOP_CSS + "p { margin: 0; }\n")
        assert theme_static("css/shop.css") != first


def test_a_versioned_url_is_cached_for_a_year_and_any_other_is_revalidated(themed_app):
    app = themed_app("default")
    with app.test_request_context("/"):
        url = theme_static("css/site.css")
    client = app.test_client()
    versioned = fetch(client, url)
    assert versioned.status_code == 200
    assert versioned.cache_control.max_age == 365 * 24 * 3600 and versioned.cache_control.immutable
    assert not versioned.cache_control.no_cache
    for other in ("/theme/css/site.css", "/theme/css/site.css?v=0123456789ab"):
        response = fetch(client, other)
        assert response.status_code == 200
        assert response.cache_control.no_cache and not response.cache_control.immutable


def test_a_missing_static_file_answers_404_and_fails_loudly_in_templates(themed_app):
    app = themed_app("default")
    assert fetch(app.test_client(), "/theme/css/nothing.css").status_code == 404
    with app.test_request_context("/"), pytest.raises(TemplateNotFound, match="nothing.css"):
        theme_static("css/nothing.css")


@pytest.mark.parametrize("path", [
    "/theme/../theme.json",
    "/theme/..%2ftheme.json",
    "/theme/css/../../theme.json",
    "/theme/%2e%2e/%2e%2e/storefront/config.py",
    "/theme//etc/passwd",
    "/theme/..\\theme.json",
])
def test_static_paths_cannot_leave_the_theme_static_folders(themed_app, path):
    response = themed_app("default").test_client().get(path, follow_redirects=True, buffered=True)
    assert response.status_code == 404
    assert b'"name"' not in response.data and b"DEFAULTS" not in response.data


def test_a_deleted_static_override_falls_back_to_the_parent_without_a_restart(themed_app, make_theme):
    folder = make_theme("shop", files={"static/css/site.css": SHOP_CSS})
    client = themed_app("shop").test_client()
    assert fetch(client, "/theme/css/site.css").get_data(as_text=True) == SHOP_CSS
    (folder / "static" / "css" / "site.css").unlink()
    assert b"Storefront default theme" in fetch(client, "/theme/css/site.css").data
