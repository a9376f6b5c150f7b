from decimal import Decimal

import pytest

from pricing_pipeline.pricing.units import (
    PriceValueError,
    decimal_str,
    per_mtok,
    per_token_to_per_mtok,
    round_price,
    scaled,
    to_decimal,
)


def test_float_noise_is_rounded_away_through_the_decimal_string():
    # DeepInfra's real value: binary arithmetic upstream, 2.6 meant.
    assert per_mtok(2.5999999999999996) == Decimal("2.6")
    assert str(per_mtok(2.5999999999999996)) == "2.6"


def test_per_token_strings_scale_exactly():
    assert per_token_to_per_mtok("0.00000014") == Decimal("0.14")
    assert per_token_to_per_mtok("0.0000000028") == Decimal("0.0028")
    # a float per-token price: 3e-06 must not become 2.9999999999999996
    assert per_token_to_per_mtok(3e-06) == Decimal("3")


def test_rounding_keeps_ten_significant_digits_half_even():
    assert round_price(Decimal("1.23456789012345")) == Decimal("1.234567890")
    assert round_price(Decimal("0.000000123456789049")) == Decimal("1.234567890E-7")
    assert round_price(Decimal("2.00000000005")) == Decimal("2")  # half-even at the 11th digit


def test_results_print_in_plain_notation():
    assert decimal_str(per_mtok(15)) == "15"
    assert decimal_str(per_mtok(1500)) == "1500"
    assert decimal_str(per_mtok(0.0000005)) == "0.0000005"
    assert decimal_str(round_price(Decimal("0E-10"))) == "0"


def test_provider_specific_units():
    assert scaled(1500, Decimal("0.0001")) == Decimal("0.15")  # Novita


@pytest.mark.parametrize("bad", ["abc", "", "NaN", "Infinity", None, True, [1], {"usd": 1}])
def test_non_numbers_are_rejected(bad):
    with pytest.raises(PriceValueError):
        to_decimal(bad)
