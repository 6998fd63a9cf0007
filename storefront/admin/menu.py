"""The back-office navigation: core items first, then what plugins contribute."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AdminLink:
    label: str
    endpoint: str


#: Core back-office pages, in menu order. Feature packages append their pages here.
CORE_MENU: tuple[AdminLink, ...] = (
    AdminLink("Dashboard", "admin.dashboard"),
    AdminLink("Orders", "admin.orders"),
    AdminLink("Coupons", "admin.coupon_list"),
    AdminLink("Customers", "admin.customers"),
    AdminLink("Staff", "admin.staff"),
    AdminLink("Audit log", "admin.audit_log"),
    AdminLink("Theme", "admin.theme"),
    AdminLink("Plugins", "admin.plugins"),
    AdminLink("Categories", "admin.categories"),
    AdminLink("Products", "admin.products"),
    AdminLink("Stock", "admin.stock"),
    AdminLink("Reviews", "admin.reviews"),
    AdminLink("Import / export", "admin.catalog_import"),
)


def menu_items() -> list[AdminLink]:
    """The core's pages, then the links enabled plugins contribute (``storefront_admin_menu``).

    A plugin link to an endpoint that does not exist is left out (and logged): one
    plugin's typo must not break every back-office page.
    """
    from flask import current_app

    from ..plugins.manager import collect_answers, contain

    links = list(CORE_MENU)
    for answer in collect_answers("storefront_admin_menu"):
        item = answer.value
        if getattr(item, "endpoint", None) not in current_app.view_functions:
            contain(answer.plugin, "storefront_admin_menu",
                    ValueError(f"admin menu item {item!r} names no existing endpoint"))
            continue
        links.append(AdminLink(str(item.label), item.endpoint))
    return links
