"""The second shipped theme: a small child of default that looks clearly different."""
from __future__ import annotations

from pathlib import Path

from theme_helpers import SHIPPED_THEMES

HARBOUR = Path(SHIPPED_THEMES) / "harbour"


def test_harbour_renders_the_home_page_with_its_header_stylesheet_and_colours(themed_app):
    client = themed_app("harbour").test_client()
    page = client.get("/").get_data(as_text=True)
    assert "harbour-masthead" in page and "Goods from the quayside" in page
    assert page.index("/theme/css/site.css") < page.index("/theme/css/harbour.css") \
        < page.index("/theme-settings.css")
    assert "Welcome to Storefront" in page and "Powered by Storefront" in page   # inherited
    css = client.get("/theme-settings.css").get_data(as_text=True)
    assert "--accent: #f2b134;" in css and "--accent-contrast: #10202e;" in css


def test_harbour_renders_error_pages_through_the_same_layout(themed_app):
    response = themed_app("harbour").test_client().get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Page not found" in page and "harbour-masthead" in page and "/theme/css/harbour.css" in page


def test_harbour_is_small_a_handful_of_files_over_default():
    files = sorted(str(p.relative_to(HARBOUR)) for p in HARBOUR.rglob("*") if p.is_file())
    assert files == ["README.md", "static/css/harbour.css", "templates/_header.html",
                     "templates/layout.html", "theme.json"]
