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
)


def menu_items() -> list[AdminLink]:
    return list(CORE_MENU)
