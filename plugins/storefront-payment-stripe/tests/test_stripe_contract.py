"""The Stripe gateway keeps the payment-gateway contract, and switching the plugin off
takes Stripe.js out of the shop's Content-Security-Policy."""
from storefront.plugins import manager
from storefront.plugins.conformance import check_payment_gateway


def test_stripe_keeps_the_payment_gateway_contract(app):
    gateway, = check_payment_gateway(app, "stripe")

    assert gateway.id == "stripe" and gateway.name == "Credit or debit card"


def test_stripe_js_leaves_the_content_security_policy_when_the_plugin_is_switched_off(app, localstripe):
    client = app.test_client()
    assert localstripe.url in client.get("/orders/lookup").headers["Content-Security-Policy"]

    manager.set_enabled("stripe", False)

    policy = client.get("/orders/lookup").headers["Content-Security-Policy"]
    assert localstripe.url not in policy and "script-src 'self';" in policy
