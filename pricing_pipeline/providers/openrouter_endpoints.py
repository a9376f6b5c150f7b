"""OpenRouter's per-model endpoints: ``GET /api/v1/models/{author}/{slug}/endpoints``.

OpenRouter bills a request at the endpoint that served it (``provider`` in the response), and
endpoints of one model differ in price (Azure's GPT-4o at $2.50 / $10 beside a cheaper one),
so each endpoint is a record of its own (``pricing/endpoints.py``). The documented shape:
``{data: {id, name, architecture, endpoints: [{name, provider_name, tag, quantization,
context_length, pricing: {prompt, completion, input_cache_read, ..., discount, overrides?},
status, uptime_last_30m, ...}]}}``. ``pricing`` has the model list's keys and units (USD per
token, strings), read by the same rules (``OpenRouter.priced``); its prices already include
``discount``, which is kept with the raw pricing for display and never applied again.

An endpoint entry that cannot be read is quarantined by its id (it keeps its published
prices); a body that cannot be read at all, or an entry without a tag (which endpoint it is
cannot be told), leaves all of the model's endpoints as they were.
"""

from __future__ import annotations

from typing import Any

from pricing_pipeline.pricing.endpoints import endpoint_id
from pricing_pipeline.pricing.records import PriceRecord
from pricing_pipeline.providers import endpoint_lists

urls = endpoint_lists.urls


def records(adapter, model_id: str, payload: Any) -> tuple[list[PriceRecord], dict[str, str]]:
    """The endpoint records of one model's endpoints body, and the unreadable entries
    (``{endpoint id: reason}``). A body of the wrong shape raises (TypeError)."""
    data = payload.get("data") if isinstance(payload, dict) else None
    entries = data.get("endpoints") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise TypeError("endpoints body without a data.endpoints list")
    architecture = data.get("architecture")
    out: list[PriceRecord] = []
    quarantined: dict[str, str] = {}
    for tag, entry in endpoint_lists.by_tag(entries, quarantined, model_id).items():
        record_id = endpoint_id(model_id, tag)
        try:
            out.append(adapter.priced(
                record_id, entry.get("pricing"), architecture,
                upstream_provider=_text(entry.get("provider_name"), "provider_name"),
                upstream_model_id=model_id,
                upstream_tag=tag,
                quantization=_text(entry.get("quantization"), "quantization"),
            ))
        except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
            quarantined[record_id] = str(exc)[:500]
    return out, quarantined


def _text(value: Any, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{key} is {type(value).__name__}, expected a string")
    return value.strip()[:200] or None
