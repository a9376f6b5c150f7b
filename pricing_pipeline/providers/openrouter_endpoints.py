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

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from pricing_pipeline.pricing.endpoints import endpoint_id
from pricing_pipeline.pricing.model_ids import display_id, model_id_problem
from pricing_pipeline.pricing.records import PriceRecord

# Path characters of OpenRouter ids kept as they are (``~vendor/model-latest``, ``:free``).
ID_PATH_SAFE = "/:~"


def urls(models_url: str, model_ids: Iterable[str]) -> dict[str, str]:
    """Each model's endpoints URL: the models URL (without its query) + ``/<id>/endpoints``."""
    scheme, host, path, _, _ = urlsplit(models_url)
    base = urlunsplit((scheme, host, path.rstrip("/"), "", ""))
    ids = (model_id.strip() for model_id in model_ids)
    # an id that cannot be stored is quarantined with the list: nothing to ask about it
    return {model_id: f"{base}/{quote(model_id, safe=ID_PATH_SAFE)}/endpoints" for model_id in ids
            if not model_id_problem(model_id)}


def records(adapter, model_id: str, payload: Any) -> tuple[list[PriceRecord], dict[str, str]]:
    """The endpoint records of one model's endpoints body, and the unreadable entries
    (``{endpoint id: reason}``). A body of the wrong shape raises (TypeError)."""
    data = payload.get("data") if isinstance(payload, dict) else None
    entries = data.get("endpoints") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise TypeError("endpoints body without a data.endpoints list")
    architecture = data.get("architecture")
    by_tag: dict[str, list[dict]] = {}
    for position, entry in enumerate(entries):
        tag = entry.get("tag") if isinstance(entry, dict) else None
        if not isinstance(tag, str) or not tag.strip():
            # which published endpoint it is cannot be told: the model keeps all of them
            raise TypeError(f"endpoint {position} without a tag: {str(entry)[:80]}")
        by_tag.setdefault(tag.strip(), []).append(entry)
    out: list[PriceRecord] = []
    quarantined: dict[str, str] = {}
    for tag, same_tag in by_tag.items():
        record_id = endpoint_id(model_id, tag)
        problem = model_id_problem(record_id)
        if problem:
            quarantined[display_id(record_id)] = problem
            continue
        if any(other.get("pricing") != same_tag[0].get("pricing") for other in same_tag[1:]):
            # a bill names the tag only: which of the prices applies cannot be told
            quarantined[record_id] = f"{len(same_tag)} endpoints tagged {tag!r} at different prices"
            continue
        entry = same_tag[0]
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
