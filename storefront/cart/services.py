"""Cart services: find or create the shopper's cart, add, change and remove lines,
re-validate every line against the catalog, merge a guest cart at sign-in, and forget
old guest carts.

Where a cart lives:

* a **guest**'s cart is a row whose random ``token`` is kept in the Flask session under
  :data:`SESSION_KEY` (the numeric id never leaves the server);
* a **signed-in customer**'s cart is the row with their ``user_id`` (at most one), so it
  follows them across devices.

Every function that writes commits (or rolls back) before returning: Flask-Session
commits the request's database session when it saves, so nothing may be left pending.
Problems a shopper can fix come back as :class:`Notice` lists or as
:class:`~storefront.errors.InvalidInput` with a message meant for them.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, session
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..catalog.models import Variant
from ..clock import utcnow
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..money import Money
from .models import Cart, CartLine

#: The session key holding a guest cart's token.
SESSION_KEY = "cart_token"
#: Most characters of a typed quantity we even look at.
MAX_QUANTITY_INPUT = 9


@dataclass(frozen=True)
class Notice:
    """Something the shopper should know about their cart ("the price of X changed")."""

    message: str
    #: flash category: "warning" for changes the shopper did not make, "info" otherwise.
    category: str = "warning"


# --- small helpers ---------------------------------------------------------------------------------


def max_quantity() -> int:
    return int(current_app.config["CART_MAX_QUANTITY"])


def store_currency() -> str:
    return current_app.config["STORE_CURRENCY"]


def parse_quantity(raw: object, *, allow_zero: bool = False) -> int:
    """A quantity typed by the shopper, or :class:`InvalidInput` saying what is wrong.

    Non-numbers, negative numbers and more than ``CART_MAX_QUANTITY`` are refused;
    zero only where it means "remove" (``allow_zero``).
    """
    text = str(raw if raw is not None else "").strip()
    if not text:
        raise InvalidInput("Enter a quantity.")
    if len(text) > MAX_QUANTITY_INPUT or not text.lstrip("-+").isdigit() or not text.lstrip("-+").isascii():
        raise InvalidInput("The quantity must be a whole number, like 1 or 2.")
    quantity = int(text)
    if quantity < 0:
        raise InvalidInput("The quantity cannot be negative.")
    if quantity == 0 and not allow_zero:
        raise InvalidInput("Choose a quantity of at least 1.")
    limit = max_quantity()
    if quantity > limit:
        raise InvalidInput(f"You can order at most {limit} of one item.")
    return quantity


def variant_label(variant: Variant) -> str:
    """"Linen shirt (M / Blue)": what the shopper calls this variant."""
    title = variant.product.title if variant.product is not None else variant.sku
    options = " / ".join(str(value) for value in (variant.options or {}).values())
    return f"{title} ({options})" if options else title


def is_buyable(variant: Variant | None, currency: str) -> bool:
    return (variant is not None and variant.active and variant.product is not None
            and variant.product.status == "active" and variant.currency == currency)


def _new_token() -> str:
    return secrets.token_urlsafe(32)  # 43 characters, the column's width


def _lines_query():
    return selectinload(Cart.lines).selectinload(CartLine.variant).selectinload(Variant.product)


def forget_checkout_token(cart: Cart) -> None:
    """The cart changed: a review page shown before no longer describes it, so placing
    from it must be refused (the next review issues a new token)."""
    cart.checkout_token = None


# --- finding the cart ---------------------------------------------------------------------------


def current_cart(user=None, *, create: bool = False) -> Cart | None:
    """The cart of ``user`` (signed in) or of this browser session (guest).

    Without ``create`` nothing is written: a visitor without a cart gets None (and no
    session is started for them).
    """
    if user is not None and getattr(user, "is_authenticated", False):
        cart = db.session.scalar(select(Cart).where(Cart.user_id == user.id).options(_lines_query()))
        if cart is None and create:
            cart = _create_cart(user_id=user.id)
        return cart
    token = session.get(SESSION_KEY)
    cart = None
    if isinstance(token, str) and token:
        cart = db.session.scalar(select(Cart).where(Cart.token == token, Cart.user_id.is_(None))
                                 .options(_lines_query()))
    if cart is None and create:
        cart = _create_cart(user_id=None)
        session[SESSION_KEY] = cart.token
    return cart


def _create_cart(user_id: int | None) -> Cart:
    now = utcnow()
    cart = Cart(token=_new_token(), user_id=user_id, currency=store_currency(), created_at=now, updated_at=now,
                email="")
    db.session.add(cart)
    try:
        db.session.commit()
    except IntegrityError:
        # Two first requests of one customer raced to create their cart: use the other.
        db.session.rollback()
        cart = db.session.scalar(select(Cart).where(Cart.user_id == user_id))
        if cart is None:
            raise
    return cart


def _touch(cart: Cart) -> None:
    cart.updated_at = utcnow()
    forget_checkout_token(cart)


# --- changing lines -------------------------------------------------------------------------------


def add_item(cart: Cart, variant_id: object, quantity: object) -> list[Notice]:
    """Put ``quantity`` of a variant into the cart (added to what is there already).

    The line is capped at the stock and at ``CART_MAX_QUANTITY``, with a notice saying
    so. Unknown, inactive or sold-out variants are refused with :class:`InvalidInput`.
    """
    try:
        variant_key = int(str(variant_id))
    except ValueError:
        raise InvalidInput("Choose an option of this product first.") from None
    wanted = parse_quantity(quantity)
    variant = db.session.get(Variant, variant_key)
    if not is_buyable(variant, cart.currency):
        raise InvalidInput("That item is not available.")
    label = variant_label(variant)
    if variant.stock <= 0:
        raise InvalidInput(f"{label} is sold out.")
    line = next((line for line in cart.lines if line.variant_id == variant.id), None)
    current = line.quantity if line is not None else 0
    limit = min(variant.stock, max_quantity())
    target = min(current + wanted, limit)
    notices = []
    if target <= current:
        why = (f"only {variant.stock} left" if variant.stock < max_quantity()
               else f"at most {max_quantity()} per order")
        raise InvalidInput(f"Your cart already holds {current} of {label} ({why}).")
    if target < current + wanted:
        if limit == variant.stock and variant.stock < max_quantity():
            notices.append(Notice(f"Only {variant.stock} of {label} are available; your cart holds {target}."))
        else:
            notices.append(Notice(f"You can order at most {max_quantity()} of {label}; your cart holds {target}."))
    if line is None:
        line = CartLine(variant_id=variant.id, quantity=target, seen_price_minor=variant.price_minor,
                        added_at=utcnow())
        cart.lines.append(line)
    else:
        line.quantity = target
        line.seen_price_minor = variant.price_minor
    _touch(cart)
    added = target - current
    notices.insert(0, Notice(f"Added {added} × {label} to your cart.", "success"))
    _commit_cart_change()
    return notices


def _commit_cart_change() -> None:
    try:
        db.session.commit()
    except IntegrityError:
        # The same variant added twice at once from two tabs: the other request won.
        db.session.rollback()
        raise InvalidInput("Your cart changed in another window. Please try again.") from None


def _own_line(cart: Cart | None, line_id: object) -> CartLine:
    """A line of this cart; another cart's line is simply not found."""
    try:
        key = int(str(line_id))
    except ValueError:
        key = None
    line = next((line for line in (cart.lines if cart else ()) if line.id == key), None)
    if line is None:
        raise NotFound("That item is no longer in your cart.")
    return line


def update_quantities(cart: Cart | None, quantities: dict[object, object]) -> list[Notice]:
    """Set several lines' quantities at once (``{line_id: "3"}``); 0 removes a line.

    Every value is checked before anything changes: one bad quantity changes nothing.
    A quantity above the stock is capped with a notice.
    """
    parsed = [(_own_line(cart, line_id), parse_quantity(raw, allow_zero=True)) for line_id, raw in quantities.items()]
    notices = []
    for line, quantity in parsed:
        variant = line.variant
        label = variant_label(variant) if variant is not None else "An item"
        if quantity == 0:
            cart.lines.remove(line)
            notices.append(Notice(f"Removed {label} from your cart.", "info"))
            continue
        if variant is not None and quantity > variant.stock:
            if variant.stock <= 0:
                cart.lines.remove(line)
                notices.append(Notice(f"{label} is sold out and was removed from your cart."))
                continue
            notices.append(Notice(f"Only {variant.stock} of {label} are available; your cart holds {variant.stock}."))
            quantity = variant.stock
        line.quantity = quantity
    if parsed:
        _touch(cart)
    _commit_cart_change()
    return notices


def remove_line(cart: Cart | None, line_id: object) -> list[Notice]:
    line = _own_line(cart, line_id)
    label = variant_label(line.variant) if line.variant is not None else "The item"
    cart.lines.remove(line)
    _touch(cart)
    _commit_cart_change()
    return [Notice(f"Removed {label} from your cart.", "info")]


# --- re-validation ---------------------------------------------------------------------------------


def revalidate(cart: Cart | None, *, commit: bool = True) -> list[Notice]:
    """Check every line against the catalog now and fix the cart, saying what changed.

    * gone, inactive or unpublished → the line is removed;
    * sold out → removed; fewer in stock than in the cart → capped at the stock;
    * more than ``CART_MAX_QUANTITY`` (the limit was lowered) → capped;
    * the price changed since the shopper saw it → the seen price is updated and the
      shopper is told the old and new price.

    Any change also forgets the checkout token (a review page shown before is stale).
    """
    if cart is None or not cart.lines:
        return []
    from ..money import format_money

    locale = current_app.config["STORE_LOCALE"]
    notices: list[Notice] = []
    limit = max_quantity()
    for line in list(cart.lines):
        variant = line.variant
        if not is_buyable(variant, cart.currency):
            label = variant_label(variant) if variant is not None else "An item"
            cart.lines.remove(line)
            notices.append(Notice(f"{label} is no longer available and was removed from your cart."))
            continue
        label = variant_label(variant)
        if variant.stock <= 0:
            cart.lines.remove(line)
            notices.append(Notice(f"{label} is sold out and was removed from your cart."))
            continue
        if line.quantity > variant.stock:
            notices.append(Notice(f"Only {variant.stock} of {label} are left; your cart now holds {variant.stock}."))
            line.quantity = variant.stock
        if line.quantity > limit:
            notices.append(Notice(f"You can order at most {limit} of {label}; your cart now holds {limit}."))
            line.quantity = limit
        if line.seen_price_minor != variant.price_minor:
            old = format_money(Money(line.seen_price_minor, cart.currency), locale)
            new = format_money(Money(variant.price_minor, cart.currency), locale)
            notices.append(Notice(f"The price of {label} changed from {old} to {new}."))
            line.seen_price_minor = variant.price_minor
    if notices:
        _touch(cart)
    if commit and notices:
        db.session.commit()
    return notices


# --- merging at sign-in -------------------------------------------------------------------------------


def merge_guest_cart(user) -> list[Notice]:
    """Sign-in: fold this session's guest cart into the customer's cart.

    Deterministic: guest lines are taken in the order they were added; the quantities
    of a variant in both carts are summed and capped at the stock and at
    ``CART_MAX_QUANTITY`` (each cap is a notice naming the item). A customer without a
    cart simply adopts the guest cart. The guest cart is gone afterwards.
    """
    token = session.pop(SESSION_KEY, None)
    if not isinstance(token, str) or not token:
        return []
    guest = db.session.scalar(select(Cart).where(Cart.token == token, Cart.user_id.is_(None))
                              .options(_lines_query()))
    if guest is None or not guest.lines:
        if guest is not None:
            db.session.delete(guest)
            db.session.commit()
        return []
    own = db.session.scalar(select(Cart).where(Cart.user_id == user.id).options(_lines_query()))
    if own is None:
        guest.user_id = user.id
        guest.email = ""
        _touch(guest)
        try:
            db.session.commit()
        except IntegrityError:  # their cart was created meanwhile (another device): merge instead
            db.session.rollback()
            session[SESSION_KEY] = token
            return merge_guest_cart(user)
        return [Notice("Your cart is saved to your account.", "info")]

    limit = max_quantity()
    notices: list[Notice] = []
    by_variant = {line.variant_id: line for line in own.lines}
    for line in sorted(guest.lines, key=lambda item: item.id):
        variant = line.variant
        target_line = by_variant.get(line.variant_id)
        wanted = line.quantity + (target_line.quantity if target_line is not None else 0)
        capped = wanted
        if variant is not None:
            capped = min(wanted, max(variant.stock, 0), limit)
        if capped < wanted and variant is not None:
            notices.append(Notice(f"Your carts held {wanted} of {variant_label(variant)} together; "
                                  f"{'only ' + str(capped) + ' are' if capped else 'none is'} available, "
                                  f"so your cart holds {capped}."))
        if target_line is None:
            if capped > 0:
                new_line = CartLine(variant_id=line.variant_id, quantity=capped,
                                    seen_price_minor=line.seen_price_minor, added_at=line.added_at)
                own.lines.append(new_line)
                by_variant[line.variant_id] = new_line
        elif capped > 0:
            target_line.quantity = capped
        else:
            own.lines.remove(target_line)
            del by_variant[line.variant_id]
    if not own.coupon_code and guest.coupon_code:
        own.coupon_code = guest.coupon_code
    _touch(own)
    db.session.delete(guest)
    db.session.commit()
    notices.insert(0, Notice("We added the items from before you signed in to your cart.", "info"))
    return notices


# --- the header's mini-cart -------------------------------------------------------------------------


@dataclass(frozen=True)
class MiniCart:
    count: int
    subtotal: Money


def mini_cart(user=None) -> MiniCart | None:
    """Item count and subtotal (at the prices last shown) for the page header: one query,
    none at all for a visitor without a cart."""
    query = (select(func.coalesce(func.sum(CartLine.quantity), 0),
                    func.coalesce(func.sum(CartLine.quantity * CartLine.seen_price_minor), 0), Cart.currency)
             .join(Cart, Cart.id == CartLine.cart_id).group_by(Cart.id, Cart.currency))
    if user is not None and getattr(user, "is_authenticated", False):
        query = query.where(Cart.user_id == user.id)
    else:
        token = session.get(SESSION_KEY)
        if not isinstance(token, str) or not token:
            return None
        query = query.where(Cart.token == token, Cart.user_id.is_(None))
    row = db.session.execute(query).first()
    if row is None:
        return None
    return MiniCart(int(row[0]), Money(int(row[1]), row[2]))


# --- housekeeping ----------------------------------------------------------------------------------


def remove_old_guest_carts(days: int | None = None) -> int:
    """Periodic job: delete guest carts untouched for ``CART_GUEST_DAYS``. Returns how many."""
    days = int(current_app.config["CART_GUEST_DAYS"] if days is None else days)
    cutoff = utcnow() - timedelta(days=days)
    old = select(Cart.id).where(Cart.user_id.is_(None), Cart.updated_at < cutoff)
    ids = list(db.session.scalars(old))
    removed = 0
    for start in range(0, len(ids), 500):
        batch = ids[start:start + 500]
        # Lines first: SQLite does not enforce ON DELETE CASCADE unless told to.
        db.session.execute(delete(CartLine).where(CartLine.cart_id.in_(batch)))
        removed += db.session.execute(delete(Cart).where(Cart.id.in_(batch))).rowcount or 0
        db.session.commit()
    return removed


def empty_cart(cart: Cart) -> None:
    """Remove every line and the checkout choices (after an order was placed); no commit."""
    db.session.execute(delete(CartLine).where(CartLine.cart_id == cart.id))
    db.session.expire(cart, ["lines"])
    cart.coupon_code = None
    cart.shipping_quote_id = None
    cart.payment_gateway_id = None
    cart.checkout_token = None
    cart.updated_at = utcnow()
