"""The rate table: zones of countries, each with weight brackets and a rule for parcels
heavier than its last bracket, written as one line per zone::

    domestic | DE          | 1kg=490 2kg=590 5kg=790 | +150/kg
    eu       | AT BE FR NL | 1kg=890 5kg=1290
    world    | *           | 2kg=1990 10kg=3990

Columns, separated by ``|``:

1. the zone's name (lower-case letters, digits, ``-`` and ``_``; the quote id is
   ``weight:<name>``);
2. its countries (ISO codes separated by spaces or commas), or ``*`` for every country no
   other zone lists;
3. its brackets, ``<up to weight>=<price>``: a parcel weighing up to and including that
   weight pays that price. Weights in grams (``500``, ``500g``) or kilograms (``2kg``,
   ``2.5kg``), rising from left to right; prices in minor units of the store currency
   (``490`` = 4.90);
4. optional: what a parcel heavier than the last bracket pays. ``+150/kg`` adds 150 per
   started kilogram above it (``+100/500g`` per started 500 g); left out, such parcels
   are not shipped to that zone.

Lines may also be separated by ``;`` (handy in the config or on the command line);
blank lines and lines starting with ``#`` are ignored. :func:`parse_table` refuses
anything else with a message naming the line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

ZONE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
COUNTRY = re.compile(r"[A-Z]{2}")
WEIGHT = re.compile(r"(\d+(?:\.\d+)?)(kg|g)?")
EVERY_OTHER_COUNTRY = "*"
#: No parcel weighs more than this (a typo guard: 100 t).
MAX_GRAMS = 100_000_000
MAX_PRICE_MINOR = 10**12


@dataclass(frozen=True)
class Bracket:
    """Parcels weighing up to and including ``up_to_grams`` pay ``price_minor``."""

    up_to_grams: int
    price_minor: int


@dataclass(frozen=True)
class Beyond:
    """Above the last bracket: ``price_minor`` more per started ``per_grams``."""

    price_minor: int
    per_grams: int


@dataclass(frozen=True)
class Zone:
    name: str
    #: Upper-case ISO codes; empty means every country no other zone lists.
    countries: frozenset[str]
    brackets: tuple[Bracket, ...]
    beyond: Beyond | None = None

    def price_for(self, grams: int) -> int | None:
        """The price of a parcel of ``grams``, or None when the zone does not take it."""
        for bracket in self.brackets:
            if grams <= bracket.up_to_grams:
                return bracket.price_minor
        if self.beyond is None:
            return None
        last = self.brackets[-1]
        started = -(-(grams - last.up_to_grams) // self.beyond.per_grams)  # rounded up
        return last.price_minor + started * self.beyond.price_minor


@dataclass(frozen=True)
class RateTable:
    zones: tuple[Zone, ...] = ()

    def zone_for(self, country: str) -> Zone | None:
        """The zone listing ``country``, else the ``*`` zone, else None."""
        fallback = None
        for zone in self.zones:
            if country in zone.countries:
                return zone
            if not zone.countries:
                fallback = zone
        return fallback


@lru_cache(maxsize=16)
def parse_table(text: str) -> RateTable:
    """The table written in ``text``; :class:`ValueError` names the first bad line."""
    zones: list[Zone] = []
    seen_names: dict[str, int] = {}
    seen_countries: dict[str, int] = {}
    every_other: int | None = None
    for number, line in enumerate(re.split(r"[\n;]", text or ""), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split("|")]
        where = f"line {number}"
        if len(cells) not in (3, 4):
            raise ValueError(f"{where}: write zone | countries | brackets, and optionally | +price/kg "
                             f"(found {len(cells)} column{'s' if len(cells) != 1 else ''}).")
        name = cells[0].lower()
        if not ZONE_NAME.fullmatch(name):
            raise ValueError(f"{where}: the zone name {cells[0]!r} may use only letters, digits, - and _ "
                             f"(at most 32).")
        where = f"line {number} ({name})"
        if name in seen_names:
            raise ValueError(f"{where}: zone {name} is already on line {seen_names[name]}.")
        seen_names[name] = number
        countries = _countries(cells[1], where)
        if not countries:
            if every_other is not None:
                raise ValueError(f"{where}: only one zone can be * (line {every_other} is).")
            every_other = number
        for country in countries:
            if country in seen_countries:
                raise ValueError(f"{where}: {country} is already in the zone on line {seen_countries[country]}.")
            seen_countries[country] = number
        beyond = _beyond(cells[3], where) if len(cells) == 4 else None
        zones.append(Zone(name, frozenset(countries), _brackets(cells[2], where), beyond))
    return RateTable(tuple(zones))


def check_table(text: str) -> None:
    """The setting's ``validate``: raises ValueError for a table that cannot be read."""
    if not parse_table(text).zones:
        raise ValueError("add at least one zone line (zone | countries | brackets).")


def _countries(cell: str, where: str) -> list[str]:
    codes = [code for code in re.split(r"[\s,]+", cell) if code]
    if codes == [EVERY_OTHER_COUNTRY]:
        return []
    if not codes:
        raise ValueError(f"{where}: list the zone's countries (DE AT …) or * for every other country.")
    countries = []
    for code in codes:
        country = code.upper()
        if code == EVERY_OTHER_COUNTRY:
            raise ValueError(f"{where}: * stands alone, for every country no other zone lists.")
        if not COUNTRY.fullmatch(country):
            raise ValueError(f"{where}: {code!r} is not a two-letter country code like DE.")
        if country in countries:
            raise ValueError(f"{where}: {country} is listed twice.")
        countries.append(country)
    return countries


def _brackets(cell: str, where: str) -> tuple[Bracket, ...]:
    items = [item for item in re.split(r"[\s,]+", cell) if item]
    if not items:
        raise ValueError(f"{where}: add at least one bracket, like 1kg=490.")
    brackets: list[Bracket] = []
    for item in items:
        weight, equals, price = item.partition("=")
        if not equals:
            raise ValueError(f"{where}: {item!r} should look like 1kg=490 (up to weight = price).")
        grams = _grams(weight, f"{where}: {item!r}")
        if brackets and grams <= brackets[-1].up_to_grams:
            raise ValueError(f"{where}: {item!r} must weigh more than the bracket before it "
                             f"({brackets[-1].up_to_grams} g); list brackets from light to heavy.")
        brackets.append(Bracket(grams, _price(price, f"{where}: {item!r}")))
    return tuple(brackets)


def _beyond(cell: str, where: str) -> Beyond | None:
    if cell.lower() in ("", "-", "no", "none"):
        return None
    match = re.fullmatch(r"\+\s*([^/\s]+)\s*/\s*(\S+)", cell)
    if not match:
        raise ValueError(f"{where}: the last column {cell!r} should look like +150/kg (price per started "
                         f"kilogram above the last bracket), or be left out.")
    step = match.group(2).lower()
    per_grams = 1000 if step == "kg" else _grams(step, f"{where}: {cell!r}")
    return Beyond(_price(match.group(1), f"{where}: {cell!r}"), per_grams)


def _grams(text: str, where: str) -> int:
    match = WEIGHT.fullmatch(text.strip().lower())
    if not match:
        raise ValueError(f"{where}: {text!r} is not a weight; write grams (500 or 500g) or kilograms (2.5kg).")
    amount = Decimal(match.group(1)) * (1000 if match.group(2) == "kg" else 1)
    if amount != amount.to_integral_value():
        raise ValueError(f"{where}: weigh in whole grams.")
    if not 0 < amount <= MAX_GRAMS:
        raise ValueError(f"{where}: a weight must be above 0 and at most {MAX_GRAMS // 1_000_000} t.")
    return int(amount)


def _price(text: str, where: str) -> int:
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        price = int(text)
        if price > MAX_PRICE_MINOR:
            raise ValueError(f"{where}: that price is too high.")
        return price
    try:
        as_decimal = Decimal(text)
    except InvalidOperation:
        as_decimal = None
    if as_decimal is not None and as_decimal >= 0 and as_decimal.as_tuple().exponent < 0:
        raise ValueError(f"{where}: write prices in minor units, as a whole number "
                         f"({int(as_decimal * 100)} for {text} in a currency with cents).")
    raise ValueError(f"{where}: the price {text!r} must be a whole number of minor units (490 = 4.90).")
