"""Money: the single place Storefront represents, rounds, parses and formats amounts.

An amount of money is an **integer number of minor units** of an ISO 4217 currency
(cents for EUR/USD, yen for JPY, fils for KWD) paired with the currency code. There
are no floats anywhere: binary floating point cannot represent 0.10 exactly, and a
shop that loses or invents a cent on every thousandth order cannot reconcile its
books. :class:`decimal.Decimal` is used only at the edges (user input, tax rates,
display) and is converted back to integers through exactly one rounding function,
:func:`quantize`.

How many minor units make a major unit comes from Babel's currency data
(:func:`currency_exponent`): EUR/USD 2, JPY 0, KWD/BHD 3.

Persistence: a money column ``<name>`` is stored as two columns,
``<name>_minor BIGINT`` (the integer minor units) and ``currency CHAR(3)`` (the
upper-case ISO code, usually shared by all amounts of one row). BIGINT comfortably
holds the :data:`MAX_PARSED_MINOR` bound applied to user input.

Display goes through :func:`format_money` (the Jinja ``money`` filter calls it);
no other module formats money.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DecimalTuple,
    InvalidOperation,
)
from functools import lru_cache
from typing import Iterable, Sequence

from babel import Locale
from babel.numbers import (
    NumberFormatError,
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    get_minus_sign_symbol,
    is_currency,
    parse_decimal,
)

__all__ = [
    "DEFAULT_ROUNDING",
    "MAX_PARSED_MINOR",
    "ROUND_HALF_EVEN",
    "ROUND_HALF_UP",
    "CurrencyMismatch",
    "Money",
    "MoneyParseError",
    "currency_exponent",
    "format_money",
    "parse_money",
    "quantize",
]

#: Bankers' rounding. Rounding every half *up* biases totals upwards: over many
#: order lines, taxes and discounts that end exactly on half a cent, the shop
#: systematically over-charges (or the ledger drifts from the payment provider).
#: Half-even rounds ties to the even neighbour, so ties cancel out on average.
#: Callers whose legal rules demand commercial rounding pass ``ROUND_HALF_UP``.
DEFAULT_ROUNDING: str = ROUND_HALF_EVEN

#: Largest magnitude, in minor units, that :func:`parse_money` accepts. Far above
#: any real price, far below BIGINT's 9.2e18, and it stops a pasted wall of digits
#: from turning into an amount nobody meant.
MAX_PARSED_MINOR: int = 10**15

# Longer than any sane amount ("-1.000.000.000.000,000 EUR" is 25 chars); checked
# before any parsing so absurd input costs nothing.
_MAX_INPUT_LENGTH = 64

_CURRENCY_CODE_RE = re.compile(r"[A-Z]{3}")
_ASCII_DIGITS = frozenset("0123456789")
_MINUS_SIGNS = ("-", "\u2212")  # hyphen-minus, and the typographic minus Babel emits


class CurrencyMismatch(ValueError):
    """Raised when an operation mixes amounts of different currencies."""


class MoneyParseError(ValueError):
    """User input is not an acceptable amount; ``str(error)`` is safe to show the user."""


def _validate_currency(currency: object) -> str:
    """Return ``currency`` if it is a known upper-case ISO 4217 code, else raise."""
    if not isinstance(currency, str):
        raise TypeError(
            f"currency must be an ISO 4217 code string like 'EUR', got {type(currency).__name__}"
        )
    if not _CURRENCY_CODE_RE.fullmatch(currency):
        raise ValueError(
            f"currency must be a 3-letter upper-case ISO 4217 code like 'EUR', got {currency!r}"
        )
    if not _is_known_currency(currency):
        raise ValueError(f"unknown currency code {currency!r}")
    return currency


# Cached because every Money construction validates its currency, and Babel
# rebuilds its currency list on each lookup.
@lru_cache(maxsize=None)
def _is_known_currency(code: str) -> bool:
    return is_currency(code)


@lru_cache(maxsize=None)
def _precision(code: str) -> int:
    return get_currency_precision(code)


def currency_exponent(currency: str) -> int:
    """Number of decimal places of ``currency``'s minor unit (EUR 2, JPY 0, KWD 3).

    Raises ``ValueError``/``TypeError`` for anything that is not a known code.
    """
    return _precision(_validate_currency(currency))


def _require_int(value: object, what: str) -> int:
    """Return ``value`` if it is a real ``int``; bools and floats are refused."""
    # bool is an int subclass, but `price * True` is always a bug, never a quantity.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__} {value!r}")
    return value


def _require_rounding(rounding: str) -> str:
    valid = {
        "ROUND_DOWN", "ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_CEILING",
        "ROUND_FLOOR", "ROUND_UP", "ROUND_HALF_DOWN", "ROUND_05UP",
    }
    if rounding not in valid:
        raise ValueError(f"unknown rounding mode {rounding!r}; use a decimal.ROUND_* constant")
    return rounding


def _exact_context(*values: Decimal) -> Context:
    """A decimal context with enough precision that products/scalings are exact.

    The default context silently rounds to 28 significant digits; money must never
    be rounded anywhere except in :func:`quantize`.
    """
    digits = sum(len(v.as_tuple().digits) for v in values)
    return Context(prec=max(28, digits + 8), traps=[InvalidOperation])


def quantize(value: Decimal, currency: str, rounding: str = DEFAULT_ROUNDING) -> int:
    """Round a decimal major-unit amount to an integer number of ``currency`` minor units.

    This is the one and only place where money is rounded. ``rounding`` defaults to
    bankers' rounding (:data:`DEFAULT_ROUNDING`); pass ``ROUND_HALF_UP`` where
    commercial rounding is required. ``value`` must be a finite ``Decimal``.
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"quantize() needs a Decimal, got {type(value).__name__} {value!r}")
    if not value.is_finite():
        raise ValueError(f"cannot turn {value} into money")
    exponent = currency_exponent(currency)
    ctx = _exact_context(value)
    scaled = value.scaleb(exponent, context=ctx)
    return int(scaled.to_integral_value(rounding=_require_rounding(rounding), context=ctx))


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: ``minor`` integer minor units of the ISO 4217 ``currency``.

    Immutable and hashable. Arithmetic only combines amounts of the same currency
    (otherwise :class:`CurrencyMismatch`); floats are refused everywhere.
    """

    minor: int
    currency: str

    def __post_init__(self) -> None:
        _require_int(self.minor, "Money.minor")
        _validate_currency(self.currency)

    # --- constructors -------------------------------------------------------------

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``."""
        return cls(0, currency)

    @classmethod
    def from_decimal(
        cls,
        value: Decimal | str | int,
        currency: str,
        rounding: str = DEFAULT_ROUNDING,
    ) -> Money:
        """Amount from major units (``Decimal("12.50")``, ``"12.50"`` or ``12``).

        Extra precision is rounded to the currency's minor unit by :func:`quantize`.
        Strings use Python's ``Decimal`` syntax (for trusted values such as config
        or fixtures); user input goes through :func:`parse_money` instead.
        """
        if isinstance(value, bool) or isinstance(value, float):
            raise TypeError(
                f"Money.from_decimal() refuses {type(value).__name__} {value!r}; "
                "pass a Decimal, str or int"
            )
        if isinstance(value, str):
            try:
                value = Decimal(value)
            except InvalidOperation:
                raise ValueError(f"not a decimal number: {value!r}") from None
        elif isinstance(value, int):
            value = Decimal(value)
        elif not isinstance(value, Decimal):
            raise TypeError(
                f"Money.from_decimal() needs a Decimal, str or int, got {type(value).__name__}"
            )
        return cls(quantize(value, currency, rounding), currency)

    @classmethod
    def sum(cls, amounts: Iterable[Money], currency: str) -> Money:
        """Total of ``amounts``, all in ``currency``; zero for an empty iterable."""
        total = cls.zero(currency)
        for amount in amounts:
            total = total + amount
        return total

    # --- conversions --------------------------------------------------------------

    def as_decimal(self) -> Decimal:
        """Exact major-unit value with the currency's number of places (``Decimal('12.50')``)."""
        # Built from the digit tuple rather than division so it is exact for any size.
        sign, digits, _ = Decimal(self.minor).as_tuple()
        return Decimal(DecimalTuple(sign, digits, -currency_exponent(self.currency)))

    def __str__(self) -> str:
        return f"{self.as_decimal():f} {self.currency}"

    def __bool__(self) -> bool:
        return self.minor != 0

    # --- arithmetic ---------------------------------------------------------------

    def _same_currency(self, other: Money, op: str) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(
                f"cannot {op} {self.currency} and {other.currency} amounts"
            )

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "add")
        return Money(self.minor + other.minor, self.currency)

    def __radd__(self, other: object) -> Money:
        # Only so that builtin sum(), which starts at int 0, works; any other number
        # has no currency and adding it is a bug.
        if type(other) is int and other == 0:
            return self
        return NotImplemented

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "subtract")
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return Money(abs(self.minor), self.currency)

    def __mul__(self, quantity: object) -> Money:
        """Multiply by an integer quantity; rates must use :meth:`multiply`."""
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise TypeError(
                f"Money can only be multiplied by an int quantity, not "
                f"{type(quantity).__name__}; use Money.multiply(Decimal rate) for rates"
            )
        return Money(self.minor * quantity, self.currency)

    __rmul__ = __mul__

    def multiply(self, rate: Decimal | int, rounding: str = DEFAULT_ROUNDING) -> Money:
        """Amount times a ``Decimal`` rate (tax, discount), rounded by :func:`quantize`.

        ``Money(1000, "EUR").multiply(Decimal("0.19"))`` is 1.90 EUR.
        """
        if isinstance(rate, bool) or not isinstance(rate, (Decimal, int)):
            raise TypeError(
                f"rate must be a Decimal (e.g. Decimal('0.19')), got {type(rate).__name__} {rate!r}"
            )
        rate = Decimal(rate)
        if not rate.is_finite():
            raise ValueError(f"rate must be finite, got {rate}")
        amount = self.as_decimal()
        product = _exact_context(amount, rate).multiply(amount, rate)
        return Money(quantize(product, self.currency, rounding), self.currency)

    # --- comparisons --------------------------------------------------------------
    # Equality is the dataclass one (same minor and currency). Ordering across
    # currencies is meaningless without an exchange rate, so it raises.

    def _compare_key(self, other: object, op: str) -> tuple[int, int] | None:
        if not isinstance(other, Money):
            return None
        self._same_currency(other, op)
        return self.minor, other.minor

    def __lt__(self, other: object) -> bool:
        key = self._compare_key(other, "compare")
        return NotImplemented if key is None else key[0] < key[1]

    def __le__(self, other: object) -> bool:
        key = self._compare_key(other, "compare")
        return NotImplemented if key is None else key[0] <= key[1]

    def __gt__(self, other: object) -> bool:
        key = self._compare_key(other, "compare")
        return NotImplemented if key is None else key[0] > key[1]

    def __ge__(self, other: object) -> bool:
        key = self._compare_key(other, "compare")
        return NotImplemented if key is None else key[0] >= key[1]

    # --- allocation ---------------------------------------------------------------

    def allocate(self, ratios: Sequence[int]) -> list[Money]:
        """Split this amount over lines in proportion to integer ``ratios``.

        The shares always sum exactly to ``self``: each line gets the floor of its
        exact share, and the leftover minor units go one each to the lines with the
        largest remainders (ties to the earlier line). Every share therefore differs
        from its exact proportion by less than one minor unit, and a zero ratio gets
        zero. Negative totals are split like their absolute value, then negated.
        Ratios must be non-negative ints, not all zero.
        """
        weights = [_require_int(r, "allocation ratio") for r in ratios]
        if not weights:
            raise ValueError("allocate() needs at least one ratio")
        if any(w < 0 for w in weights):
            raise ValueError(f"allocation ratios must not be negative, got {weights}")
        total_weight = sum(weights)
        if total_weight == 0:
            raise ValueError("allocation ratios must not all be zero")

        # Work on the magnitude so negative totals mirror positive ones exactly
        # (floor division would otherwise round them towards minus infinity).
        magnitude = abs(self.minor)
        shares: list[int] = []
        remainders: list[int] = []
        for w in weights:
            share, remainder = divmod(magnitude * w, total_weight)
            shares.append(share)
            remainders.append(remainder)
        leftover = magnitude - sum(shares)
        # Largest remainder first; on ties, the earlier line (stable by index).
        order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
        for i in order[:leftover]:
            shares[i] += 1

        sign = -1 if self.minor < 0 else 1
        return [Money(sign * s, self.currency) for s in shares]

    def split(self, n: int) -> list[Money]:
        """Split into ``n`` near-equal shares summing exactly to ``self`` (earlier lines get the extra units)."""
        _require_int(n, "split count")
        if n < 1:
            raise ValueError(f"cannot split into {n} parts")
        return self.allocate([1] * n)


# --- user input --------------------------------------------------------------------


def _example_amount(currency: str, locale: Locale) -> str:
    """"12.50" / "12,50" / "12" / "12.500": an example in the shopper's notation."""
    places = currency_exponent(currency)
    if places == 0:
        return "12"
    return "12" + get_decimal_symbol(locale) + "5" + "0" * (places - 1)


def _currency_markers(currency: str, locale: Locale) -> list[str]:
    """Symbols/codes a user may type around an amount, longest first."""
    markers = {currency, get_currency_symbol(currency, locale), get_currency_symbol(currency, "en")}
    return sorted((m for m in markers if m), key=len, reverse=True)


def _take_sign(text: str, locale: Locale) -> tuple[bool | None, str]:
    """Split a leading sign off ``text``: (True if negative / False if '+' / None, rest)."""
    for minus in (get_minus_sign_symbol(locale), *_MINUS_SIGNS):
        if minus and text.startswith(minus):
            return True, text[len(minus):].strip()
    if text.startswith("+"):
        return False, text[1:].strip()
    return None, text


def _strip_currency(text: str, markers: Sequence[str]) -> str:
    upper = text.upper()
    for marker in markers:
        m = marker.upper()
        if upper.startswith(m):
            return text[len(marker):].strip()
        if upper.endswith(m):
            return text[: len(text) - len(marker)].strip()
    return text


def parse_money(
    text: str,
    currency: str,
    locale: str | Locale = "en_US",
    *,
    allow_negative: bool = False,
) -> Money:
    """Parse an amount typed by a shopper or merchant into :class:`Money`.

    Accepts the locale's notation ("1,234.56" in en_US, "1.234,56" in de_DE), with
    optional surrounding spaces and the currency's symbol or code before or after.
    Grouping is checked strictly, so ambiguous input such as "12,50" in en_US is
    refused rather than guessed. Raises :class:`MoneyParseError`, whose message can
    be shown to the user, for empty or non-numeric input, NaN/Infinity, exponent
    notation, more decimal places than the currency has, magnitudes above
    :data:`MAX_PARSED_MINOR` minor units, and negative amounts unless
    ``allow_negative`` is true.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_money() needs a str, got {type(text).__name__}")
    _validate_currency(currency)
    loc = Locale.parse(locale)
    example = _example_amount(currency, loc)
    not_a_number = MoneyParseError(f"Enter an amount like {example}.")

    s = text.strip()
    if not s:
        raise MoneyParseError(f"Enter an amount, for example {example}.")
    if len(s) > _MAX_INPUT_LENGTH:
        raise MoneyParseError("That amount is too large.")

    # The sign may come before or after the symbol: "-€12.50" and "€ -12.50".
    negative, s = _take_sign(s, loc)
    s = _strip_currency(s, _currency_markers(currency, loc))
    if negative is None:
        negative, s = _take_sign(s, loc)

    group = get_group_symbol(loc)
    decimal_symbol = get_decimal_symbol(loc)
    if group.isspace():
        # Locales that group with (narrow) no-break spaces: users type plain spaces.
        s = re.sub(r"\s", group, s)
    # Whitelisting characters up front is what rejects "NaN", "Infinity", "1e5",
    # "0x10" and stray letters, all of which Decimal/Babel would otherwise accept
    # or report in developer terms.
    if not s or not set(s) <= _ASCII_DIGITS | {group, decimal_symbol}:
        raise not_a_number
    if not _ASCII_DIGITS & set(s):
        raise not_a_number

    try:
        value = parse_decimal(s, loc, strict=True)
    except NumberFormatError:
        raise not_a_number from None
    if not value.is_finite():
        raise not_a_number

    places = currency_exponent(currency)
    typed_places = max(0, -value.as_tuple().exponent)
    if typed_places > places:
        # Refused rather than rounded: "12.345" is a typo or a misunderstanding,
        # and silently charging 12.34 or 12.35 would be a surprise either way.
        if places == 0:
            raise MoneyParseError(
                f"{currency} amounts have no decimal places. Enter an amount like {example}."
            )
        raise MoneyParseError(
            f"{currency} amounts have at most {places} decimal places. "
            f"Enter an amount like {example}."
        )

    minor = quantize(value, currency)  # exact: no more places than the currency has
    if minor > MAX_PARSED_MINOR:
        raise MoneyParseError("That amount is too large.")
    if negative:
        if not allow_negative and minor != 0:
            raise MoneyParseError("The amount can't be negative.")
        minor = -minor
    return Money(minor, currency)


# --- display -----------------------------------------------------------------------


def format_money(money: Money, locale: str | Locale = "en_US") -> str:
    """Format ``money`` for display in ``locale`` ("€12.50", "12,50 €", "¥1,235").

    Always shows exactly the currency's number of decimal places. This is what the
    Jinja ``money`` filter calls; nothing else formats money.
    """
    if not isinstance(money, Money):
        raise TypeError(f"format_money() needs Money, got {type(money).__name__}")
    return format_currency(
        money.as_decimal(), money.currency, locale=locale, currency_digits=True
    )
