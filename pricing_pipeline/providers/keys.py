"""Reading an upstream pricing object: every key is read or reported, each value's JSON type
is checked, and each price becomes an exact Decimal in the unit its component names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pricing_pipeline.pricing.records import USD_PER_MTOK, PriceComponent
from pricing_pipeline.pricing.units import PriceValueError, round_price, to_decimal


def pricing_object(container: dict, key: str = "pricing") -> dict | None:
    """The entry's pricing object, or None when the upstream gives none (price unknown)."""
    pricing = container.get(key)
    if pricing is not None and not isinstance(pricing, dict):
        raise TypeError(f"{key} is {type(pricing).__name__}, expected an object")
    return pricing


def expect_number(value: Any, field: str) -> Any:
    """APIs that send JSON numbers: a string there means the shape changed."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PriceValueError(f"{field} is {type(value).__name__} {value!r}, expected a number")
    return value


def expect_decimal_str(value: Any, field: str) -> Any:
    """APIs that send prices as decimal strings (exact by design)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise PriceValueError(f"{field} is {type(value).__name__} {value!r}, expected a decimal string")
    return value


PER_TOKEN = Decimal(1_000_000)  # USD per token (character, pixel) -> USD per million
AS_IS = Decimal(1)


@dataclass(frozen=True)
class Price:
    """Where an upstream pricing key goes: the component, its unit, and the factor that
    turns the upstream number into USD in that unit."""

    component: str
    unit: str
    scale: Decimal = AS_IS


def usd_per_token(**components: str) -> dict[str, Price]:
    """A table of upstream keys priced in USD per token: ``prompt="input"`` reads ``prompt`` as
    the input component, in USD per million tokens."""
    return {key: Price(component, USD_PER_MTOK, PER_TOKEN) for key, component in components.items()}


class KeyReader:
    """An upstream pricing object whose keys are ticked off as the adapter reads them, so a
    key no adapter knows is reported (``unknown()``), never silently dropped."""

    def __init__(self, obj: Mapping[str, Any], where: str = "pricing"):
        if not isinstance(obj, Mapping):
            raise TypeError(f"{where} is {type(obj).__name__}, expected an object")
        self.obj, self.where = obj, where
        self._read: set[str] = set()

    def get(self, key: str) -> Any:
        self._read.add(key)
        return self.obj.get(key)

    def ignore(self, *keys: str) -> None:
        """Keys we know and deliberately do not read as prices (documented per adapter)."""
        self._read.update(keys)

    def unknown(self) -> list[str]:
        return [f"{self.where}.{key}" for key in self.obj if key not in self._read]

    def components(self, table: Mapping[str, Price], value_of, **variant: Any) -> list[PriceComponent]:
        """The components of every key of ``table`` present here. ``value_of(value, key)``
        checks the upstream value's JSON type (None for absent or 'not a price')."""
        out = []
        for key, price in table.items():
            field = f"{self.where}.{key}"
            value = value_of(self.get(key), field)
            if value is not None:
                try:
                    usd = round_price(to_decimal(value) * price.scale)
                except PriceValueError as error:
                    raise PriceValueError(f"{field}: {error}") from None
                out.append(PriceComponent(price.component, price.unit, usd, **variant))
        return out
