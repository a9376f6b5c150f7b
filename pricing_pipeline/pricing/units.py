"""Unit conversions and the one rounding rule for every price we store.

Upstream APIs quote prices per token, per 1M tokens or in provider-specific units, as JSON
strings, floats or integers. We store USD per 1M tokens (USD per unit for per-request and
per-image prices) as exact decimals:

* A JSON float is read through its shortest round-trip decimal string (``repr``), never
  through binary arithmetic: ``2.5999999999999996`` stays a decimal string until rounding.
* Scaling (per token -> per 1M) is exact decimal arithmetic.
* The result is rounded half-even to ``SIGNIFICANT_DIGITS`` (10) significant digits, which
  removes float noise (``2.5999999999999996`` -> ``2.6``) and keeps every real price
  (no provider quotes more than 6 significant digits), then normalized (no trailing zeros).
"""

from __future__ import annotations

import decimal
import functools
import re
from decimal import Decimal

SIGNIFICANT_DIGITS = 10
TOKENS_PER_MTOK = Decimal(1_000_000)

_ROUNDING = decimal.Context(prec=SIGNIFICANT_DIGITS, rounding=decimal.ROUND_HALF_EVEN)


# The one grammar of a price string: a JSON number's syntax, nothing around it. No spaces,
# no "+", no leading zeros, no ".5", no "Infinity"/"NaN", no thousands separators.
PRICE_STRING = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# Magnitudes a price can have in any unit we read (USD per token ... USD per 1M units):
# 1e-24 .. 1e12. Outside it a value is a unit or encoding error, and beyond ~1e28 it no
# longer fits the 10-significant-digit rounding at all.
MIN_ADJUSTED_EXPONENT = -24
MAX_ADJUSTED_EXPONENT = 12


class PriceValueError(ValueError):
    """An upstream price value that is not a finite number in the price grammar."""


def to_decimal(value: object) -> Decimal:
    """An upstream JSON number or numeric string as an exact Decimal (no rounding yet)."""
    if isinstance(value, bool) or value is None:
        raise PriceValueError(f"not a price: {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        # repr() is the shortest string that round-trips to the same float: the value
        # the upstream JSON actually carried.
        result = Decimal(repr(value))
    elif isinstance(value, str):
        if not PRICE_STRING.fullmatch(value):
            raise PriceValueError(f"not a price string: {value[:40]!r}")
        result = Decimal(value)
    else:
        raise PriceValueError(f"not a price: {type(value).__name__} {str(value)[:40]!r}")
    if not result.is_finite():
        raise PriceValueError(f"not a finite number: {value!r}")
    if result.is_zero() and result.is_signed():
        raise PriceValueError(f"negative zero is not a price: {value!r}")
    if not result.is_zero() and not MIN_ADJUSTED_EXPONENT <= result.adjusted() <= MAX_ADJUSTED_EXPONENT:
        raise PriceValueError(f"out of range for a price: {str(value)[:40]!r}")
    return result


# Cached: a catalog repeats a few hundred distinct prices across its models, and one shared
# Decimal (immutable) per distinct price is most of a big snapshot's memory saved.
@functools.lru_cache(maxsize=65536)
def round_price(value: Decimal) -> Decimal:
    """The storage rounding rule: 10 significant digits, half-even, normalized."""
    rounded = _ROUNDING.plus(value)
    if rounded == 0:
        return Decimal(0)
    normalized = rounded.normalize(_ROUNDING)
    # normalize() may produce an exponent form like 1E+1; quantize back to a plain integer.
    if normalized.as_tuple().exponent > 0:
        normalized = normalized.quantize(Decimal(1))
    return normalized


def per_token_to_per_mtok(value: object) -> Decimal:
    """USD per token -> USD per 1M tokens."""
    return round_price(to_decimal(value) * TOKENS_PER_MTOK)


def per_mtok(value: object) -> Decimal:
    """A price already in USD per 1M tokens."""
    return round_price(to_decimal(value))


def scaled(value: object, usd_per_unit: Decimal) -> Decimal:
    """A price quoted in a provider-specific unit (e.g. Novita's 0.0001 USD) -> USD."""
    return round_price(to_decimal(value) * usd_per_unit)


def decimal_str(value: Decimal | None) -> str | None:
    """The canonical string of a stored price (plain notation, never exponent form)."""
    if value is None:
        return None
    return format(value, "f")


# Plausible non-zero prices per unit, (lowest, highest) in USD per that unit (None: no
# lower bound): outside them a price is a unit mistake (the price guard's ``price_bounds``).
# Real ranges: tokens $0.001-$600 per 1M; TTS $4-$300 per 1M characters; images
# $0.001-$0.25 per image and $0.003-$0.1 per megapixel; video $0.01-$0.75 per second;
# transcription $0.0001-$0.1 per minute (voxtral $0.001/min = $0.0000166667/s).
PRICE_BOUNDS: dict[str, tuple[Decimal | None, Decimal]] = {
    "usd_per_mtok": (Decimal("0.0001"), Decimal(1000)),
    "usd_per_mchar": (Decimal("0.0001"), Decimal(1000)),
    "usd_per_mpixel": (Decimal("0.00001"), Decimal(10)),
    "usd_per_second": (Decimal("0.0000001"), Decimal(10)),
    "usd_per_minute": (Decimal("0.000001"), Decimal(60)),
    "usd_per_image": (None, Decimal(50)),
    "usd_per_request": (None, Decimal(50)),
    "usd_per_search": (None, Decimal(50)),
    "usd_per_query": (None, Decimal(50)),
    "usd_per_page": (None, Decimal(50)),
    "usd_per_session": (None, Decimal(50)),
}
