"""Behaviour of storefront.money: exact integer money, rounding, allocation, parsing, display."""
from __future__ import annotations

import dataclasses
import random
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest

from storefront.money import (
    MAX_PARSED_MINOR,
    CurrencyMismatch,
    Money,
    MoneyParseError,
    currency_exponent,
    format_money,
    parse_money,
    quantize,
)

NBSP = "\xa0"


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


# --- construction ---------------------------------------------------------------------


def test_money_holds_integer_minor_units_and_a_currency_code():
    m = Money(1250, "EUR")
    assert m.minor == 1250
    assert m.currency == "EUR"
    assert m.as_decimal() == Decimal("12.50")
    assert str(m.as_decimal()) == "12.50"


def test_money_is_immutable_and_hashable():
    m = eur(100)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.minor = 200  # type: ignore[misc]
    assert {eur(100), eur(100), eur(200)} == {eur(100), eur(200)}
    assert not hasattr(m, "__dict__")  # slots


def test_a_float_amount_is_refused_at_construction():
    with pytest.raises(TypeError, match="int"):
        Money(12.5, "EUR")  # type: ignore[arg-type]


def test_a_bool_or_decimal_amount_is_refused_at_construction():
    with pytest.raises(TypeError):
        Money(True, "EUR")
    with pytest.raises(TypeError):
        Money(Decimal("1250"), "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money("1250", "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["eur", "EU", "EURO", "E1R", "", " EUR"])
def test_a_currency_that_is_not_three_upper_case_letters_is_refused(code):
    with pytest.raises(ValueError, match="ISO 4217"):
        Money(100, code)


def test_an_unknown_currency_code_is_refused():
    with pytest.raises(ValueError, match="unknown currency code 'ABC'"):
        Money(100, "ABC")


def test_a_non_string_currency_is_refused_with_a_type_error():
    with pytest.raises(TypeError):
        Money(100, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(100, ["EUR"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "code, places", [("EUR", 2), ("USD", 2), ("JPY", 0), ("KWD", 3), ("BHD", 3)]
)
def test_currency_exponent_comes_from_babel_currency_data(code, places):
    assert currency_exponent(code) == places


def test_currency_exponent_rejects_unknown_codes():
    with pytest.raises(ValueError):
        currency_exponent("ABC")


def test_zero_is_zero_minor_units_in_the_given_currency():
    assert Money.zero("JPY") == Money(0, "JPY")
    assert Money.zero("KWD").as_decimal() == Decimal("0.000")


def test_as_decimal_uses_the_currency_precision():
    assert Money(1234, "JPY").as_decimal() == Decimal("1234")
    assert str(Money(1234, "KWD").as_decimal()) == "1.234"
    assert str(Money(-5, "EUR").as_decimal()) == "-0.05"


def test_as_decimal_is_exact_even_for_huge_amounts():
    big = 10**40 + 7
    # Division under the default 28-digit context would round; the money must not.
    assert str(Money(big, "EUR").as_decimal()) == "1" + "0" * 38 + ".07"


def test_from_decimal_accepts_decimal_str_and_int_major_units():
    assert Money.from_decimal(Decimal("12.50"), "EUR") == eur(1250)
    assert Money.from_decimal("12.5", "EUR") == eur(1250)
    assert Money.from_decimal(12, "EUR") == eur(1200)
    assert Money.from_decimal(12, "JPY") == Money(12, "JPY")
    assert Money.from_decimal("1.5", "KWD") == Money(1500, "KWD")


def test_from_decimal_refuses_floats_and_bools():
    with pytest.raises(TypeError, match="float"):
        Money.from_decimal(12.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money.from_decimal(True, "EUR")


def test_from_decimal_refuses_garbage_and_non_finite_values():
    with pytest.raises(ValueError):
        Money.from_decimal("twelve", "EUR")
    with pytest.raises(ValueError):
        Money.from_decimal(Decimal("NaN"), "EUR")
    with pytest.raises(ValueError):
        Money.from_decimal("Infinity", "EUR")


def test_str_is_a_plain_debugging_form_and_repr_is_the_dataclass_repr():
    assert str(eur(1250)) == "12.50 EUR"
    assert str(Money(-7, "EUR")) == "-0.07 EUR"
    assert str(Money(500, "JPY")) == "500 JPY"
    assert str(Money(1, "KWD")) == "0.001 KWD"
    assert repr(eur(1250)) == "Money(minor=1250, currency='EUR')"


# --- rounding ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, half_even, half_up",
    [
        ("0.125", 12, 13),
        ("0.135", 14, 14),
        ("0.145", 14, 15),
        ("2.675", 268, 268),
        ("-0.125", -12, -13),
        ("0.1249", 12, 12),
        ("0.1251", 13, 13),
    ],
)
def test_rounding_is_bankers_by_default_and_half_up_on_request(value, half_even, half_up):
    assert quantize(Decimal(value), "EUR") == half_even
    assert quantize(Decimal(value), "EUR", ROUND_HALF_EVEN) == half_even
    assert quantize(Decimal(value), "EUR", ROUND_HALF_UP) == half_up


def test_quantize_rounds_to_each_currencys_own_minor_unit():
    assert quantize(Decimal("2.5"), "JPY") == 2
    assert quantize(Decimal("3.5"), "JPY") == 4
    assert quantize(Decimal("2.5"), "JPY", ROUND_HALF_UP) == 3
    assert quantize(Decimal("1.0005"), "KWD") == 1000
    assert quantize(Decimal("1.0015"), "KWD") == 1002


def test_half_even_rounding_does_not_drift_upwards_over_many_half_cent_ties():
    ties = [Decimal(n) / 1000 for n in range(5, 100_000, 10)]  # 0.005, 0.015, ...
    exact = sum(ties)
    even = sum(quantize(t, "EUR") for t in ties)
    up = sum(quantize(t, "EUR", ROUND_HALF_UP) for t in ties)
    assert Decimal(even) / 100 == exact
    assert Decimal(up) / 100 > exact


def test_quantize_refuses_floats_and_unknown_rounding_modes():
    with pytest.raises(TypeError):
        quantize(0.125, "EUR")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        quantize(Decimal("1"), "EUR", "HALF_UP")


def test_from_decimal_rounds_through_quantize():
    assert Money.from_decimal("0.125", "EUR") == eur(12)
    assert Money.from_decimal("0.125", "EUR", rounding=ROUND_HALF_UP) == eur(13)
    assert Money.from_decimal("1234.5", "JPY") == Money(1234, "JPY")


# --- arithmetic ---------------------------------------------------------------------------


def test_adding_and_subtracting_amounts_of_the_same_currency():
    assert eur(1250) + eur(75) == eur(1325)
    assert eur(1250) - eur(2000) == eur(-750)
    assert -eur(300) == eur(-300)
    assert abs(eur(-300)) == eur(300)


def test_mixing_currencies_raises_currency_mismatch():
    usd = Money(100, "USD")
    for op in (lambda: eur(100) + usd, lambda: eur(100) - usd, lambda: eur(100) < usd):
        with pytest.raises(CurrencyMismatch, match="EUR and USD"):
            op()
    assert issubclass(CurrencyMismatch, ValueError)


def test_adding_a_bare_number_to_money_is_refused():
    with pytest.raises(TypeError):
        eur(100) + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        1 + eur(100)  # type: ignore[operator]
    with pytest.raises(TypeError):
        eur(100) + Decimal("1")  # type: ignore[operator]


def test_builtin_sum_works_because_zero_plus_money_is_money():
    assert 0 + eur(5) == eur(5)
    assert sum([eur(100), eur(250), eur(1)]) == eur(351)


def test_money_sum_totals_an_iterable_and_is_zero_when_empty():
    assert Money.sum([eur(100), eur(250)], "EUR") == eur(350)
    assert Money.sum([], "JPY") == Money(0, "JPY")
    assert Money.sum((eur(n) for n in range(5)), "EUR") == eur(10)
    with pytest.raises(CurrencyMismatch):
        Money.sum([eur(1), Money(1, "USD")], "EUR")
    with pytest.raises(CurrencyMismatch):
        Money.sum([eur(1)], "USD")


def test_multiplying_by_an_integer_quantity_from_either_side():
    assert eur(1999) * 3 == eur(5997)
    assert 3 * eur(1999) == eur(5997)
    assert eur(1999) * 0 == eur(0)
    assert eur(1999) * -1 == eur(-1999)


@pytest.mark.parametrize("factor", [1.5, 2.0, Decimal("1.5"), True, "2"])
def test_multiplying_by_anything_but_an_int_quantity_raises_type_error(factor):
    with pytest.raises(TypeError, match="multiply"):
        eur(100) * factor
    with pytest.raises(TypeError):
        factor * eur(100)


def test_multiply_applies_a_decimal_rate_and_rounds_half_even():
    assert eur(1000).multiply(Decimal("0.19")) == eur(190)
    assert eur(1999).multiply(Decimal("0.07")) == eur(140)  # 139.93 -> 140
    assert eur(250).multiply(Decimal("0.05")) == eur(12)  # 12.5 -> 12 (even)
    assert eur(250).multiply(Decimal("0.05"), rounding=ROUND_HALF_UP) == eur(13)
    assert eur(350).multiply(Decimal("0.05")) == eur(18)  # 17.5 -> 18 (even)
    assert Money(1000, "JPY").multiply(Decimal("0.1")) == Money(100, "JPY")
    assert eur(100).multiply(2) == eur(200)


def test_multiply_is_exact_before_rounding_even_for_huge_amounts():
    big = eur(10**40 + 5)
    # (10**40 + 5) * 0.5 = 5 * 10**39 + 2.5 -> 2 under half-even, 3 under half-up
    assert big.multiply(Decimal("0.5")).minor == 5 * 10**39 + 2
    assert big.multiply(Decimal("0.5"), ROUND_HALF_UP).minor == 5 * 10**39 + 3


def test_multiply_refuses_float_rates():
    with pytest.raises(TypeError, match="Decimal"):
        eur(100).multiply(0.19)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        eur(100).multiply(Decimal("NaN"))


def test_comparisons_order_amounts_of_the_same_currency():
    assert eur(100) < eur(200) <= eur(200) < eur(201)
    assert eur(300) > eur(-300) >= eur(-300)
    assert max([eur(5), eur(50), eur(-500)]) == eur(50)
    assert sorted([eur(3), eur(1), eur(2)]) == [eur(1), eur(2), eur(3)]


def test_comparing_money_with_a_bare_number_raises_type_error():
    with pytest.raises(TypeError):
        eur(100) < 200  # type: ignore[operator]


def test_equality_needs_the_same_currency_and_never_equals_a_number():
    assert eur(100) == Money(100, "EUR")
    assert eur(100) != Money(100, "USD")
    assert eur(0) != 0


def test_money_is_truthy_only_when_non_zero():
    assert not eur(0)
    assert eur(1)
    assert eur(-1)


# --- allocation -------------------------------------------------------------------------


def test_allocating_a_total_over_three_lines_never_loses_a_cent():
    shares = eur(100).allocate([1, 1, 1])
    assert shares == [eur(34), eur(33), eur(33)]
    assert sum(shares) == eur(100)


def test_allocation_gives_leftover_cents_to_the_largest_remainders():
    # exact: 5/7*10 = 7.142..., 2/7*10 = 2.857... -> the second line gets the extra cent
    assert eur(10).allocate([5, 2]) == [eur(7), eur(3)]
    # exact: 1.666, 3.333, 5.0 -> floors 1, 3, 5; leftover 1 goes to the 0.666 remainder
    assert eur(10).allocate([1, 2, 3]) == [eur(2), eur(3), eur(5)]


def test_allocation_breaks_remainder_ties_in_favour_of_earlier_lines():
    assert eur(5).allocate([1, 1, 1, 1]) == [eur(2), eur(1), eur(1), eur(1)]
    assert eur(2).allocate([1, 1, 1]) == [eur(1), eur(1), eur(0)]


def test_allocating_a_negative_total_mirrors_the_positive_split():
    shares = eur(-100).allocate([1, 1, 1])
    assert shares == [eur(-34), eur(-33), eur(-33)]
    assert sum(shares) == eur(-100)


def test_a_zero_ratio_line_gets_nothing():
    assert eur(100).allocate([0, 1, 0, 1]) == [eur(0), eur(50), eur(0), eur(50)]
    assert eur(101).allocate([1, 0, 2]) == [eur(34), eur(0), eur(67)]


def test_allocating_zero_gives_zero_everywhere():
    assert eur(0).allocate([3, 1]) == [eur(0), eur(0)]


def test_allocation_keeps_the_currency():
    assert Money(7, "JPY").allocate([1, 1]) == [Money(4, "JPY"), Money(3, "JPY")]


@pytest.mark.parametrize("ratios", [[], [0, 0], [0], [1, -1], [-1, -2]])
def test_allocation_ratios_that_are_empty_all_zero_or_negative_are_refused(ratios):
    with pytest.raises(ValueError):
        eur(100).allocate(ratios)


def test_allocation_ratios_must_be_ints():
    with pytest.raises(TypeError):
        eur(100).allocate([0.5, 0.5])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        eur(100).allocate([Decimal(1), Decimal(2)])  # type: ignore[list-item]


def test_allocation_over_many_totals_and_ratio_sets_preserves_the_sum_and_stays_within_one_unit():
    rng = random.Random(20240501)
    cases = 0
    for _ in range(3000):
        total = rng.choice([rng.randint(-10**6, 10**6), rng.randint(-50, 50), 10**15 + rng.randint(0, 99)])
        n = rng.randint(1, 12)
        ratios = [rng.choice([0, 1, 1, 2, 3, 7, rng.randint(0, 10**4)]) for _ in range(n)]
        if sum(ratios) == 0:
            ratios[rng.randrange(n)] = 1
        money = Money(total, "EUR")

        shares = money.allocate(ratios)

        assert len(shares) == n
        assert all(s.currency == "EUR" for s in shares)
        assert sum(s.minor for s in shares) == total
        weight = sum(ratios)
        for share, ratio in zip(shares, ratios):
            exact = Fraction(total * ratio, weight)
            assert abs(share.minor - exact) < 1, (total, ratios, shares)
            if ratio == 0:
                assert share.minor == 0
        cases += 1
    assert cases == 3000


def test_split_divides_into_near_equal_parts_that_sum_to_the_total():
    assert eur(1000).split(3) == [eur(334), eur(333), eur(333)]
    assert eur(-1).split(2) == [eur(-1), eur(0)]
    assert eur(999).split(1) == [eur(999)]
    for n in range(1, 40):
        parts = eur(12345).split(n)
        assert sum(parts) == eur(12345)
        assert max(parts).minor - min(parts).minor <= 1


def test_split_into_zero_or_negative_parts_is_refused():
    with pytest.raises(ValueError):
        eur(100).split(0)
    with pytest.raises(ValueError):
        eur(100).split(-2)


# --- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, minor",
    [
        ("12", 1200),
        ("12.5", 1250),
        ("12.50", 1250),
        ("0.05", 5),
        (".5", 50),
        ("1,234.56", 123456),
        ("1,234,567.89", 123456789),
        ("1234.56", 123456),
        ("  12.50  ", 1250),
        ("€ 12.50", 1250),
        ("€12.50", 1250),
        ("12.50 EUR", 1250),
        ("12.50eur", 1250),
        ("EUR 12.50", 1250),
        ("+12.50", 1250),
        ("0", 0),
    ],
)
def test_parsing_en_us_input(text, minor):
    assert parse_money(text, "EUR") == eur(minor)
    assert parse_money(text, "EUR", "en_US") == eur(minor)


@pytest.mark.parametrize(
    "text, minor",
    [
        ("12", 1200),
        ("12,5", 1250),
        ("12,50", 1250),
        ("1.234,56", 123456),
        ("1234,56", 123456),
        ("12,50 €", 1250),
        (f"12,50{NBSP}€", 1250),
        ("12,50 EUR", 1250),
        ("€ 12,50", 1250),
    ],
)
def test_parsing_de_de_input(text, minor):
    assert parse_money(text, "EUR", "de_DE") == eur(minor)


def test_parsing_uses_the_currency_precision():
    assert parse_money("1,234", "JPY") == Money(1234, "JPY")
    assert parse_money("¥1,234", "JPY") == Money(1234, "JPY")
    assert parse_money("1.5", "KWD") == Money(1500, "KWD")
    assert parse_money("1.234", "KWD") == Money(1234, "KWD")
    assert parse_money("$9.99", "USD") == Money(999, "USD")


def test_parsing_accepts_plain_spaces_where_the_locale_groups_with_no_break_spaces():
    assert parse_money("1 234,56 €", "EUR", "fr_FR") == eur(123456)


def test_negative_input_is_refused_unless_allowed():
    with pytest.raises(MoneyParseError, match="can't be negative"):
        parse_money("-12.50", "EUR")
    assert parse_money("-12.50", "EUR", allow_negative=True) == eur(-1250)
    assert parse_money("-€12.50", "EUR", allow_negative=True) == eur(-1250)
    assert parse_money("€ -12.50", "EUR", allow_negative=True) == eur(-1250)
    assert parse_money("\u221212,50 €", "EUR", "de_DE", allow_negative=True) == eur(-1250)


@pytest.mark.parametrize(
    "text",
    ["abc", "12abc", "twelve", "NaN", "nan", "Infinity", "inf", "-Infinity", "1e5", "1E5",
     "1.2e3", "0x10", "12.50 USD", "$12.50", "12..5", "1.2.3", "--12", "-", "€", "12 50",
     "١٢", "½"],
)
def test_non_numeric_input_is_rejected_with_a_message_fit_for_a_shopper(text):
    with pytest.raises(MoneyParseError) as excinfo:
        parse_money(text, "EUR")
    assert str(excinfo.value) == "Enter an amount like 12.50."


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_input_asks_for_an_amount(text):
    with pytest.raises(MoneyParseError, match="Enter an amount, for example 12.50"):
        parse_money(text, "EUR")


def test_ambiguous_separators_are_rejected_rather_than_guessed():
    # In en_US "12,50" could be 1250 or 12.50; in de_DE "12.50" likewise.
    with pytest.raises(MoneyParseError, match="Enter an amount like 12.50"):
        parse_money("12,50", "EUR", "en_US")
    with pytest.raises(MoneyParseError, match="Enter an amount like 12,50"):
        parse_money("12.50", "EUR", "de_DE")
    with pytest.raises(MoneyParseError):
        parse_money("1,2345", "EUR")


def test_more_decimals_than_the_currency_allows_are_rejected_not_rounded():
    with pytest.raises(MoneyParseError) as excinfo:
        parse_money("12.345", "EUR")
    assert str(excinfo.value) == "EUR amounts have at most 2 decimal places. Enter an amount like 12.50."
    with pytest.raises(MoneyParseError, match="at most 2 decimal places. Enter an amount like 12,50"):
        parse_money("12,345", "EUR", "de_DE")
    with pytest.raises(MoneyParseError, match="JPY amounts have no decimal places. Enter an amount like 12."):
        parse_money("12.5", "JPY")
    with pytest.raises(MoneyParseError, match="at most 3 decimal places. Enter an amount like 12.500"):
        parse_money("1.2345", "KWD")


def test_absurd_magnitudes_are_rejected():
    assert parse_money("10,000,000,000,000.00", "EUR") == eur(MAX_PARSED_MINOR)
    with pytest.raises(MoneyParseError, match="too large"):
        parse_money("10,000,000,000,000.01", "EUR")
    with pytest.raises(MoneyParseError, match="too large"):
        parse_money("1" * 30, "EUR")
    with pytest.raises(MoneyParseError, match="too large"):
        parse_money("9" * 5000, "EUR")
    with pytest.raises(MoneyParseError, match="too large"):
        parse_money("-" + "9" * 20, "EUR", allow_negative=True)


def test_parse_errors_are_value_errors_and_never_leak_babel_wording():
    assert issubclass(MoneyParseError, ValueError)
    with pytest.raises(MoneyParseError) as excinfo:
        parse_money("1,23.4", "EUR")
    assert "Did you mean" not in str(excinfo.value)
    assert "decimal number" not in str(excinfo.value)


def test_parse_money_refuses_non_string_input_and_bad_currencies():
    with pytest.raises(TypeError):
        parse_money(12.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        parse_money("12", "XYZ")


# --- formatting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "money, locale, expected",
    [
        (Money(1250, "EUR"), "en_US", "€12.50"),
        (Money(123450, "EUR"), "en_US", "€1,234.50"),
        (Money(1250, "EUR"), "de_DE", f"12,50{NBSP}€"),
        (Money(123450, "EUR"), "de_DE", f"1.234,50{NBSP}€"),
        (Money(1250, "USD"), "en_US", "$12.50"),
        (Money(1250, "USD"), "de_DE", f"12,50{NBSP}$"),
        (Money(1234, "JPY"), "en_US", "¥1,234"),
        (Money(1234, "JPY"), "de_DE", f"1.234{NBSP}¥"),
        (Money(12345, "KWD"), "en_US", "KWD12.345"),
        (Money(12345, "KWD"), "de_DE", f"12,345{NBSP}KWD"),
        (Money(0, "EUR"), "en_US", "€0.00"),
        (Money(5, "EUR"), "en_US", "€0.05"),
        (Money(-1250, "EUR"), "en_US", "-€12.50"),
        (Money(-1250, "EUR"), "de_DE", f"-12,50{NBSP}€"),
    ],
)
def test_formatting_uses_the_locale_and_the_currency_precision(money, locale, expected):
    assert format_money(money, locale) == expected


def test_formatting_defaults_to_en_us():
    assert format_money(eur(1250)) == "€12.50"


def test_formatting_always_shows_the_currencys_decimal_places():
    assert format_money(Money(100, "EUR")) == "€1.00"
    assert format_money(Money(1000, "KWD")) == "KWD1.000"
    assert "." not in format_money(Money(100, "JPY"))


def test_formatting_refuses_anything_but_money():
    with pytest.raises(TypeError):
        format_money(Decimal("12.50"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_money(12.5)  # type: ignore[arg-type]


def test_formatted_amounts_parse_back_to_the_same_money():
    for locale in ("en_US", "de_DE"):
        for money in (eur(123456), eur(5), Money(99, "USD"), Money(1234567, "JPY"), Money(12345, "KWD")):
            assert parse_money(format_money(money, locale), money.currency, locale) == money
