"""The Stripe gateway: PaymentIntents created, confirmed, captured and refunded with
the official ``stripe`` SDK (a :class:`stripe.StripeClient` per call, never the global
``stripe.api_key``), and Stripe's signed webhooks read.

How a card payment runs (every step works against Stripe and against localstripe):

1. ``start`` creates a PaymentIntent — amount, currency, metadata ``payment_id`` and
   ``order_number``, card only, the capture mode — with the core's idempotency key, and
   renders the card form; a later ``start`` of the same payment resumes that intent.
2. In the browser, Stripe.js turns the card into a payment method
   (``static/stripe-card.js``); the form posts its id to the core's return URL.
3. ``handle_callback`` (that POST) attaches it and confirms the intent on the server:
   succeeded → paid; requires_capture → authorised; requires_action → the page comes
   back with Stripe.js's 3-D Secure step, which then returns the shopper here (GET),
   and the intent's status is read again.
4. Webhooks (``payment_intent.succeeded`` / ``.payment_failed`` / ``.canceled`` /
   ``.amount_capturable_updated``, ``charge.refunded``) are verified with the signing
   secret and report the same outcomes; the core acts on each once.

The seams where localstripe differs from Stripe are the functions and names marked
*seam* below; README.md lists them.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

import stripe
from flask import current_app, url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from storefront.money import Money, format_money
from storefront.plugins import (InvalidCallback, PaymentCallback, PaymentRef, PaymentRequest, PaymentResult,
                                PaymentStep, get_settings)

NAME = "stripe"
#: What the card form may post: a PaymentMethod id, or (seam: localstripe's fake
#: Stripe.js) the id of a tokenised card.
PAYMENT_METHOD_ID = re.compile(r"(pm|card)_[A-Za-z0-9_]{1,100}")
INTENT_ID = re.compile(r"pi_[A-Za-z0-9_]{1,100}")
DECLINED = "Your card was declined. Please try another card or another way to pay."
#: Webhook event → the status it reports (anything else is acknowledged and ignored).
EVENT_STATUSES = {
    "payment_intent.succeeded": "paid",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "cancelled",
    "payment_intent.amount_capturable_updated": "authorized",
    "charge.refunded": "refunded",
}


# --- seams: where localstripe and Stripe differ -------------------------------------------------


def intent_params(request: PaymentRequest, capture_mode: str) -> dict[str, Any]:
    """*Seam.* The PaymentIntent parameters: only those localstripe accepts (it refuses
    ``return_url``, ``description``, ``automatic_payment_methods`` …), so no
    redirect-based payment method is offered — card only, confirmed by this plugin."""
    return {
        "amount": request.amount.minor,
        "currency": request.amount.currency.lower(),
        "metadata": {"payment_id": request.payment_id, "order_number": request.order_number},
        "payment_method_types": ["card"],
        "capture_method": capture_mode,
    }


def received_amount(intent) -> int:
    """*Seam.* What a succeeded intent took: ``amount_received`` on Stripe; localstripe
    has no such field, so its ``amount``."""
    return getattr(intent, "amount_received", None) or intent.amount


def intent_id_of(charge) -> str:
    """*Seam.* A charge's PaymentIntent id (a string on Stripe; defensive about an
    expanded object, which localstripe returns for ``latest_charge``)."""
    value = getattr(charge, "payment_intent", None)
    return value if isinstance(value, str) or value is None else value.id


# --- helpers ----------------------------------------------------------------------------------------


def client(settings) -> stripe.StripeClient:
    """A client for this call, configured from the current settings."""
    if not settings["secret_key"]:
        raise RuntimeError("the Stripe secret key is not set (flask plugins settings stripe secret_key=…)")
    base = {"api": settings["api_base"].rstrip("/")} if settings["api_base"] else None
    return stripe.StripeClient(settings["secret_key"], base_addresses=base, max_network_retries=1,
                               http_client=stripe.new_default_http_client(timeout=settings["timeout_seconds"]))


def _field(obj, key: str, default: Any = None) -> Any:
    """``obj[key]`` for Stripe objects (which are not dicts: no ``.get``)."""
    try:
        value = obj[key]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def _money(minor: int, currency: str) -> Money:
    return Money(int(minor), str(currency).upper())


def _error_message(intent) -> str:
    error = _field(intent, "last_payment_error")
    return str(_field(error, "message", "")) if error is not None else ""


def result_for(intent, *, status: str | None = None, event_id: str = "") -> PaymentResult:
    """What a PaymentIntent's state means for the core (``status`` forces one, for events)."""
    state = intent.status
    if status is None:
        status = {"succeeded": "paid", "requires_capture": "authorized", "canceled": "cancelled"}.get(state, "pending")
        if state == "requires_payment_method" and _field(intent, "last_payment_error") is not None:
            status = "failed"
    minor = received_amount(intent) if status == "paid" else intent.amount
    message = (_error_message(intent) or DECLINED) if status == "failed" else ""
    return PaymentResult(status, _money(minor, intent.currency), psp_reference=intent.id, message=message,
                         event_id=event_id, payment_id=str(_field(_field(intent, "metadata", {}), "payment_id", "")))


def _idempotent(key: str) -> dict[str, str]:
    """*Seam.* Request options carrying the core's idempotency key (Stripe honours it for
    24 hours; localstripe ignores it — there the core's reuse of the open payment is what
    keeps a reload from creating a second intent)."""
    return {"idempotency_key": key} if key else {}


def _header(headers, name: str) -> str:
    return next((value for key, value in headers.items() if key.lower() == name.lower()), "")


def _refused_before_asking(payment: PaymentRef, amount: Money, no_amount: str, not_stripe: str
                           ) -> PaymentResult | None:
    """A failed result, without asking Stripe, for a non-positive amount or a payment with
    no PaymentIntent of ours; None when Stripe may be asked."""
    if amount.minor <= 0:
        return _failed(amount, payment.psp_reference, no_amount)
    if not INTENT_ID.fullmatch(payment.psp_reference or ""):
        return _failed(amount, payment.psp_reference, not_stripe)
    return None


def _failed(amount: Money, reference: str, message: str) -> PaymentResult:
    return PaymentResult("failed", amount, reference, message=message)


# --- the gateway ------------------------------------------------------------------------------------


class StripeGateway:
    """Cards through Stripe PaymentIntents (see the module docstring)."""

    id = NAME

    @property
    def name(self) -> str:
        return get_settings(NAME)["title"]

    def is_available(self, amount: Money, country: str) -> bool:
        settings = get_settings(NAME)
        return bool(settings["secret_key"] and settings["publishable_key"]) and amount.minor > 0

    def start(self, request: PaymentRequest) -> PaymentStep:
        """Create the PaymentIntent (or resume the one this payment already has) and
        show the card form — or the 3-D Secure step, or the outcome, as it stands."""
        settings = get_settings(NAME)
        api = client(settings)
        if request.psp_reference:
            intent = api.v1.payment_intents.retrieve(request.psp_reference)
        else:
            intent = api.v1.payment_intents.create(params=intent_params(request, settings["capture_mode"]),
                                                   options=_idempotent(request.idempotency_key))
        if intent.status == "requires_action":
            return PaymentStep.render(card_form(intent, request, settings, "authenticate"), intent.id)
        if intent.status in ("requires_payment_method", "requires_confirmation"):
            result = result_for(intent)
            if result.status == "failed":
                return PaymentStep.done(result)
            return PaymentStep.render(card_form(intent, request, settings, "collect"), intent.id)
        return PaymentStep.done(result_for(intent))

    def handle_callback(self, callback: PaymentCallback) -> PaymentResult:
        if callback.path.rstrip("/").endswith("/webhook"):
            return self._webhook(callback)
        return self._return(callback)

    def _return(self, callback: PaymentCallback) -> PaymentResult:
        """The card form's POST (confirm with this payment method) or the shopper's GET
        after 3-D Secure: the intent's state, asked of Stripe."""
        ref = callback.payment
        if ref is None or not INTENT_ID.fullmatch(ref.psp_reference or ""):
            amount = ref.amount if ref is not None else _money(0, current_app.config["STORE_CURRENCY"])
            return _failed(amount, "", "This payment was never started with Stripe.")
        api = client(get_settings(NAME))
        form = parse_qs(callback.body.decode("utf-8", "replace")) if callback.method == "POST" else {}
        method_id = (form.get("payment_method") or [""])[0]
        if callback.method == "POST" and not PAYMENT_METHOD_ID.fullmatch(method_id):
            raise InvalidCallback("The card details did not arrive; please enter them again.")
        try:
            intent = api.v1.payment_intents.retrieve(ref.psp_reference)
            if method_id and intent.status in ("requires_payment_method", "requires_confirmation") \
                    and _field(intent, "last_payment_error") is None:
                api.v1.payment_intents.update(intent.id, params={"payment_method": method_id})
                # localstripe refuses confirm(payment_method=…): attach first, then confirm.
                intent = api.v1.payment_intents.confirm(intent.id)
        except stripe.CardError as error:
            return _failed(ref.amount, ref.psp_reference, error.user_message or DECLINED)
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return _failed(ref.amount, ref.psp_reference, "Stripe does not know this payment.")
            intent = api.v1.payment_intents.retrieve(ref.psp_reference)  # e.g. confirmed meanwhile
        return result_for(intent)

    def _webhook(self, callback: PaymentCallback) -> PaymentResult:
        secret = get_settings(NAME)["webhook_secret"]
        if not secret:
            raise RuntimeError("the Stripe webhook signing secret is not set; webhooks cannot be verified")
        signature = _header(callback.headers, "Stripe-Signature")
        if not signature:
            raise InvalidCallback("The Stripe-Signature header is missing.")
        try:
            event = stripe.Webhook.construct_event(callback.body, signature, secret)
        except stripe.SignatureVerificationError:
            raise InvalidCallback("The Stripe signature does not match.") from None
        except ValueError:
            raise InvalidCallback("The notification is not valid JSON.") from None
        status = EVENT_STATUSES.get(event.type)
        obj = event.data.object
        if status is None:
            return PaymentResult("pending", _money(0, _field(obj, "currency", current_app.config["STORE_CURRENCY"])),
                                 event_id=event.id)
        if status == "refunded":
            return PaymentResult("refunded", _money(_field(obj, "amount_refunded", 0), obj.currency),
                                 psp_reference=intent_id_of(obj) or "", event_id=event.id)
        return result_for(obj, status=status, event_id=event.id)

    def capture(self, payment: PaymentRef, amount: Money) -> PaymentResult:
        """Capture an authorised intent (capture mode "manual")."""
        refused = _refused_before_asking(payment, amount, "Nothing to capture.",
                                         "This payment was never started with Stripe.")
        if refused:
            return refused
        api = client(get_settings(NAME))
        try:
            intent = api.v1.payment_intents.capture(payment.psp_reference, params={"amount_to_capture": amount.minor},
                                                    options=_idempotent(payment.idempotency_key))
        except stripe.CardError as error:
            return _failed(amount, payment.psp_reference, error.user_message or DECLINED)
        except stripe.InvalidRequestError:
            intent = api.v1.payment_intents.retrieve(payment.psp_reference)  # captured meanwhile?
        result = result_for(intent)
        if result.status != "paid":
            return _failed(amount, payment.psp_reference, _error_message(intent)
                           or f"Stripe could not capture this payment (it is {intent.status}).")
        return result

    def refund(self, payment: PaymentRef, amount: Money) -> PaymentResult:
        """Refund part or all of a paid intent."""
        refused = _refused_before_asking(payment, amount, "Nothing to refund.",
                                         "This payment was never taken by Stripe.")
        if refused:
            return refused
        api = client(get_settings(NAME))
        try:
            refund = api.v1.refunds.create(params={"payment_intent": payment.psp_reference, "amount": amount.minor},
                                           options=_idempotent(payment.idempotency_key))
        except stripe.InvalidRequestError as error:
            return _failed(amount, payment.psp_reference, error.user_message or "Stripe refused the refund.")
        if refund.status in ("failed", "canceled"):
            return _failed(amount, payment.psp_reference, "Stripe could not make the refund.")
        return PaymentResult("refunded", _money(refund.amount, refund.currency), psp_reference=refund.id,
                             message="" if refund.status == "succeeded" else "Stripe is processing the refund.")


# --- the card form --------------------------------------------------------------------------------------


def card_form(intent, request: PaymentRequest, settings, stage: str) -> Markup:
    """The payment page's card form (``stage`` "collect") or 3-D Secure step
    ("authenticate"); ``static/stripe-card.js`` drives it — no inline script."""
    amount = format_money(request.amount, current_app.config.get("STORE_LOCALE", "en_US"))
    head = Markup(
        '<form method="post" action="{action}" id="stripe-card-form" class="stripe-card-form" data-stage="{stage}" '
        'data-publishable-key="{key}" data-client-secret="{secret}" data-return-url="{action}">'
        '<input type="hidden" name="csrf_token" value="{csrf}">'
        '<input type="hidden" name="payment_method" value="">'
    ).format(action=request.return_url, stage=stage, key=settings["publishable_key"],
             secret=intent.client_secret, csrf=generate_csrf())
    if stage == "authenticate":
        body = Markup(
            '<p>Your bank asks you to confirm this payment of {amount}.</p>'
            '<p class="stripe-card-errors field-error" role="alert" hidden></p>'
            '<noscript><p>Confirming a card payment needs JavaScript. Turn it on, or choose another way to '
            'pay below.</p></noscript>'
            '<p><a class="btn" href="{action}">I have confirmed the payment</a></p>'
        ).format(amount=amount, action=request.return_url)
    else:
        body = Markup(
            '<div class="field"><label for="stripe-card-element">Card</label>'
            '<div id="stripe-card-element" class="stripe-card-element"></div></div>'
            '<p class="stripe-card-errors field-error" role="alert" hidden></p>'
            '<noscript><p>Card payments need JavaScript. Turn it on, or choose another way to pay below.</p>'
            '</noscript>'
            '<button type="submit" class="btn btn-primary">Pay {amount}</button>'
        ).format(amount=amount)
    scripts = Markup('</form><script src="{stripe_js}"></script><script src="{own_js}"></script>').format(
        stripe_js=settings["js_url"], own_js=url_for(f"{NAME}.static", filename="stripe-card.js"))
    return head + body + scripts
