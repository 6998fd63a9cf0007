"""Card payments through Stripe PaymentIntents.

The payment page shows a card form built by Stripe.js; the shop confirms the
PaymentIntent on the server, Stripe.js handles 3-D Secure, and the signed webhooks
(``/payments/stripe/webhook``) and the shopper's return both report the outcome — the
core completes the order once, whichever comes first. Capture can be immediate or
manual (authorise now, staff capture later); refunds, full or partial, come from the
back office. See README.md for the set-up and for what the tests against localstripe
do and do not prove.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint

from storefront.plugins import Setting, get_settings, hookimpl

from .gateway import NAME, StripeGateway

STOREFRONT_REQUIRES = ">=0.1,<1"
#: Real Stripe's script; anything else (localstripe's fake) is trusted by its origin only.
STRIPE_JS_URL = "https://js.stripe.com/v3/"

SETTINGS = [
    Setting("secret_key", "str", optional=True, secret=True, label="Secret key",
            help="sk_live_… or sk_test_… (Stripe dashboard → Developers → API keys). "
                 "Prefer PLUGIN_STRIPE_SECRET_KEY in the config to storing it here."),
    Setting("publishable_key", "str", optional=True, label="Publishable key",
            help="pk_live_… or pk_test_…: Stripe.js uses it in the shopper's browser."),
    Setting("webhook_secret", "str", optional=True, secret=True, label="Webhook signing secret",
            help="whsec_… of the endpoint https://<your shop>/payments/stripe/webhook "
                 "(events payment_intent.*, charge.refunded)."),
    Setting("capture_mode", "str", default="automatic", choices=("automatic", "manual"), label="Capture",
            help="automatic: charge when the shopper pays; manual: only authorise, and staff capture "
                 "the order in the back office (within 7 days)."),
    Setting("title", "str", default="Credit or debit card", label="Name at checkout",
            help="What the shopper sees at checkout."),
    Setting("api_base", "str", optional=True, label="API address",
            help="Empty means Stripe itself; tests point it at localstripe (http://127.0.0.1:8420)."),
    Setting("js_url", "str", default=STRIPE_JS_URL, label="Stripe.js address",
            help="Leave as is; tests point it at localstripe's fake Stripe.js "
                 "(http://127.0.0.1:8420/js.stripe.com/v3/)."),
    Setting("timeout_seconds", "int", default=20, min=2, max=80, label="API timeout (seconds)",
            help="How long a call to Stripe may take before the shopper is told to try again."),
]

bp = Blueprint(NAME, __name__, url_prefix=f"/{NAME}", static_folder="static")


@hookimpl
def storefront_payment_gateways() -> list[StripeGateway]:
    return [StripeGateway()]


@hookimpl
def storefront_blueprints() -> list[Blueprint]:
    return [bp]  # serves static/stripe-card.js


@hookimpl
def storefront_csp_sources() -> list[tuple[str, str]] | None:
    """Let the payment page load Stripe.js, its frames and its API calls."""
    settings = get_settings(NAME)
    if not settings["publishable_key"]:
        return None
    parts = urlsplit(settings["js_url"])
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    origin = f"{parts.scheme}://{parts.netloc}"
    if settings["js_url"] == STRIPE_JS_URL:
        # https://docs.stripe.com/security/guide#content-security-policy
        return [("script-src", origin), ("script-src", "https://*.js.stripe.com"),
                ("frame-src", origin), ("frame-src", "https://*.js.stripe.com"),
                ("frame-src", "https://hooks.stripe.com"), ("connect-src", "https://api.stripe.com")]
    # A fake Stripe.js (localstripe) answers its API calls from its own origin.
    return [("script-src", origin), ("frame-src", origin), ("connect-src", origin)]
