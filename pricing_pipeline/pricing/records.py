"""The normalized price record: what every adapter produces and the store publishes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pricing_pipeline.pricing.units import decimal_str

# The price columns every record carries, in USD per 1M tokens or USD per unit.
TOKEN_PRICE_FIELDS = (
    "input_usd_per_mtok",
    "output_usd_per_mtok",
    "cache_read_usd_per_mtok",
    "cache_write_usd_per_mtok",
)
UNIT_PRICE_FIELDS = ("request_usd", "image_usd")
PRICE_FIELDS = TOKEN_PRICE_FIELDS + UNIT_PRICE_FIELDS


@dataclass(frozen=True)
class PriceTier:
    """Prices that apply above a threshold, e.g. prompts longer than 200k tokens."""

    min_context_tokens: int
    input_usd_per_mtok: Decimal | None = None
    output_usd_per_mtok: Decimal | None = None
    cache_read_usd_per_mtok: Decimal | None = None
    cache_write_usd_per_mtok: Decimal | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"min_context_tokens": self.min_context_tokens}
        for name in TOKEN_PRICE_FIELDS:
            out[name] = decimal_str(getattr(self, name))
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PriceTier:
        return cls(
            min_context_tokens=int(data["min_context_tokens"]),
            **{name: _dec(data.get(name)) for name in TOKEN_PRICE_FIELDS},
        )


@dataclass(frozen=True)
class PriceRecord:
    """One model's prices at one source.

    ``provider`` is the source we fetched (the Dagster partition). Catalog sources
    (models.dev, LiteLLM) describe models of other providers: ``upstream_provider`` and
    ``upstream_model_id`` name the model they describe. A price of ``None`` means unknown or
    not offered, which is never the same as zero. ``variable_pricing`` marks models whose
    price is decided per request (OpenRouter's ``-1``). ``raw`` is the upstream pricing
    object as received, kept for audit; it does not take part in change detection.
    """

    provider: str
    model_id: str
    input_usd_per_mtok: Decimal | None = None
    output_usd_per_mtok: Decimal | None = None
    cache_read_usd_per_mtok: Decimal | None = None
    cache_write_usd_per_mtok: Decimal | None = None
    request_usd: Decimal | None = None
    image_usd: Decimal | None = None
    variable_pricing: bool = False
    tiers: tuple[PriceTier, ...] = ()
    upstream_provider: str | None = None
    upstream_model_id: str | None = None
    raw: Any = field(default=None, compare=False, hash=False)

    def prices(self) -> dict[str, Decimal | None]:
        return {name: getattr(self, name) for name in PRICE_FIELDS}

    def price_key(self) -> tuple:
        """What a price change is: every priced attribute, nothing cosmetic."""
        return (
            tuple(self.prices().values()),
            self.variable_pricing,
            self.tiers,
            self.upstream_provider,
            self.upstream_model_id,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form: prices as decimal strings (never floats)."""
        return {
            "provider": self.provider,
            "model_id": self.model_id,
            **{name: decimal_str(value) for name, value in self.prices().items()},
            "variable_pricing": self.variable_pricing,
            "tiers": [tier.to_json() for tier in self.tiers],
            "upstream_provider": self.upstream_provider,
            "upstream_model_id": self.upstream_model_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], raw: Any = None) -> PriceRecord:
        return cls(
            provider=data["provider"],
            model_id=data["model_id"],
            **{name: _dec(data.get(name)) for name in PRICE_FIELDS},
            variable_pricing=bool(data.get("variable_pricing", False)),
            tiers=tuple(PriceTier.from_json(t) for t in data.get("tiers") or ()),
            upstream_provider=data.get("upstream_provider"),
            upstream_model_id=data.get("upstream_model_id"),
            raw=raw,
        )

    def replace(self, **changes: Any) -> PriceRecord:
        return dataclasses.replace(self, **changes)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
