"""Shared pieces of the orders tests: an app with a plugin that records the order events
it is told about, and a small payment gateway plugin that refunds at once."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from storefront.extensions import db
from storefront.plugins import hookimpl
from storefront.testing import OfflineGateway, gateway_plugin


class OrderEventsSeen:
    """A plugin listening to every order event, the way a real plugin would."""

    PLUGIN_NAME = "order_events_seen"

    def __init__(self):
        self.seen: list[tuple] = []
        #: (event, order status as another connection reads it) — events come after the commit.
        self.committed: list[tuple[str, str]] = []

    def _committed(self, kind, order):
        from storefront.orders.models import Order

        with db.engine.connect() as connection:
            self.committed.append((kind, connection.execute(select(Order.status).where(Order.id == order.id)).scalar()))

    @hookimpl
    def storefront_order_paid(self, order, payment):
        self._committed("paid", order)
        self.seen.append(("paid", order.number, payment.gateway_id))

    @hookimpl
    def storefront_order_cancelled(self, order, reason):
        self._committed("cancelled", order)
        self.seen.append(("cancelled", order.number, reason))

    @hookimpl
    def storefront_order_fulfilled(self, order):
        self._committed("fulfilled", order)
        self.seen.append(("fulfilled", order.number, order.status))

    @hookimpl
    def storefront_order_refunded(self, order, amount):
        self._committed("refunded", order)
        self.seen.append(("refunded", order.number, amount))

    def kinds(self, number: str) -> list[str]:
        return [kind for kind, seen_number, *_ in self.seen if seen_number == number]




@pytest.fixture
def order_events():
    return OrderEventsSeen()


@pytest.fixture
def instant_gateway():
    return OfflineGateway("instant", "Instant test payments")


@pytest.fixture
def app(make_app, app_config, order_events, instant_gateway):
    application = make_app(plugins=(order_events, gateway_plugin(instant_gateway, name="instant_gateway")), **app_config)
    with application.app_context():
        yield application
