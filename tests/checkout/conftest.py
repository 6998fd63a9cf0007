"""Checkout tests run with two tiny plugins of their own (see checkout_plugins.py); other
installed plugins stay out, so results are predictable."""
from __future__ import annotations

import pytest

from checkout_plugins import FixedShipping, PaymentsStub


@pytest.fixture
def plugins():
    """The plugins the ``app`` of these tests loads (override in a module to change them)."""
    return (FixedShipping(), PaymentsStub())


@pytest.fixture
def app(make_app, app_config, plugins):
    config = {"PLUGINS_AUTOLOAD": False, **app_config}
    application = make_app(plugins=plugins, **config)
    with application.app_context():
        yield application


@pytest.fixture
def make_coupon(app):
    """``make_coupon("SAVE10", kind="percentage", value=1000, usage_limit=5, …)`` through
    the back-office service."""
    from storefront.checkout.coupons import CouponValues, save_coupon

    def build(code: str, kind: str = "percentage", value: int = 1000, **values):
        return save_coupon(CouponValues(code=code, kind=kind, value=value, currency=values.pop("currency", "EUR"),
                                        **values))

    return build
