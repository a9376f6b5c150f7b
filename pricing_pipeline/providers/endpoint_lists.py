"""What the per-model endpoint APIs of gateways share (OpenRouter's and Vercel's
``GET <models URL>/<id>/endpoints``): the URL of each model's list, and its entries by the
endpoint they are (one record per endpoint: pricing/endpoints.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from pricing_pipeline.pricing.endpoints import endpoint_id
from pricing_pipeline.pricing.model_ids import display_id, model_id_problem

# Path characters of model ids kept as they are (``~vendor/model-latest``, ``:free``).
ID_PATH_SAFE = "/:~"


def urls(models_url: str, model_ids: Iterable[str]) -> dict[str, str]:
    """Each model's endpoints URL: the models URL (without its query) + ``/<id>/endpoints``."""
    scheme, host, path, _, _ = urlsplit(models_url)
    base = urlunsplit((scheme, host, path.rstrip("/"), "", ""))
    ids = (model_id.strip() for model_id in model_ids)
    # an id that cannot be stored is quarantined with the list: nothing to ask about it
    return {model_id: f"{base}/{quote(model_id, safe=ID_PATH_SAFE)}/endpoints" for model_id in ids
            if not model_id_problem(model_id)}


def by_tag(entries: list[Any], quarantined: dict[str, str], model_id: str, tag_key: str = "tag") -> dict[str, dict]:
    """The entries by the endpoint each is (its ``tag_key``), one entry each. An entry without
    one raises (TypeError: which published endpoint it is cannot be told, so the model keeps all
    of them); a tag listed twice at different prices, or making an id that cannot be stored, is
    quarantined in ``quarantined`` (a bill names the tag only)."""
    groups: dict[str, list[dict]] = {}
    for position, entry in enumerate(entries):
        tag = entry.get(tag_key) if isinstance(entry, dict) else None
        if not isinstance(tag, str) or not tag.strip():
            raise TypeError(f"endpoint {position} without a {tag_key}: {str(entry)[:80]}")
        groups.setdefault(tag.strip(), []).append(entry)
    out: dict[str, dict] = {}
    for tag, same_tag in groups.items():
        record_id = endpoint_id(model_id, tag)
        problem = model_id_problem(record_id)
        if problem:
            quarantined[display_id(record_id)] = problem
        elif any(other.get("pricing") != same_tag[0].get("pricing") for other in same_tag[1:]):
            quarantined[record_id] = f"{len(same_tag)} endpoints tagged {tag!r} at different prices"
        else:
            out[tag] = same_tag[0]
    return out
