"""Template slots in the shipped themes, and the slots table of docs/themes.md."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from markupsafe import Markup
from theme_helpers import SHIPPED_THEMES

from storefront.plugins import hookimpl
from storefront.plugins.slots import slot_names

ROOT = Path(SHIPPED_THEMES).parent
SLOTS_TABLE_ROW = re.compile(r"^\| `(\w+)` \| `([\w/.]+)` \|", re.MULTILINE)


class SlotProbe:
    """A plugin answering the layout's slots, to see where each lands."""

    PLUGIN_NAME = "slot_probe"

    @hookimpl
    def storefront_tpl_head(self):
        return Markup('<meta name="slot-probe" content="head">')

    @hookimpl
    def storefront_tpl_header_nav(self):
        return Markup('<a href="/stores">Our stores</a>')

    @hookimpl
    def storefront_tpl_footer(self):
        return "Free shipping <b>over</b> €50"


@pytest.mark.parametrize("theme", ["default", "harbour"])
def test_plugins_fill_the_head_header_nav_and_footer_slots(themed_app, theme):
    page = themed_app(theme, plugins=(SlotProbe(),)).test_client().get("/").get_data(as_text=True)
    head, _, body = page.partition("</head>")
    assert '<meta name="slot-probe" content="head">' in head
    nav = body[body.index('<nav class="site-nav"'):body.index("</nav>")]
    assert '<a href="/stores">Our stores</a>' in nav
    footer = body[body.index("<footer"):body.index("</footer>")]
    assert "Free shipping &lt;b&gt;over&lt;/b&gt; €50" in footer        # plain text is escaped


def test_without_plugins_the_slots_leave_no_trace(themed_app):
    page = themed_app("default").test_client().get("/").get_data(as_text=True)
    assert "footer-extra" not in page


def shipped_template(name: str) -> Path | None:
    for folder in [ROOT / "themes" / "default" / "templates", *ROOT.glob("storefront/*/templates"),
                   ROOT / "storefront" / "templates"]:
        if (folder / name).is_file():
            return folder / name
    return None


def test_the_themer_guide_lists_every_slot_with_the_template_that_renders_it():
    rows = dict(SLOTS_TABLE_ROW.findall((ROOT / "docs" / "themes.md").read_text(encoding="utf-8")))
    assert set(rows) == set(slot_names())
    for slot, template in rows.items():
        path = shipped_template(template)
        if path is not None:   # pages not built yet have no template to check
            assert f'slot("{slot}"' in path.read_text(encoding="utf-8"), (slot, template)
    for slot in ("head", "header_nav", "footer", "account_menu"):
        assert shipped_template(rows[slot]) is not None, slot
