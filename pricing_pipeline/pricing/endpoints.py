"""A model's upstream endpoints: the routes an aggregator (OpenRouter) serves it through, each
at its own price.

An endpoint is published as a record of its own, next to the model's headline record, so
history, changes, the guard's per-model rules and holds all work per endpoint (one endpoint's
jump holds that endpoint only). Its id is the model's id, ``#`` and the endpoint's tag
(``openai/gpt-4o#azure/eu``): ``#`` never occurs in OpenRouter's ids (they are URL paths), so
the id alone says which model an endpoint belongs to. The record names the serving provider
(``upstream_provider``: ``Azure``), its ``upstream_tag`` and ``quantization``.

Choosing the endpoint that served a request (:func:`choose_endpoint`): the name a response
reports (OpenRouter's ``provider``, e.g. ``Azure``) or an endpoint tag, case-insensitively. A
provider with several endpoints (``azure`` and ``azure/eu``) is billed at its base endpoint,
the tag without a ``/`` suffix, unless the tag is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from pricing_pipeline.pricing.cost import CostError

ENDPOINT_MARK = "#"
# The upstream's own mark of a free model (OpenRouter's ``vendor/model:free`` ids).
FREE_MARKERS = (":free",)

T = TypeVar("T")


class UnknownUpstream(CostError):
    """The model has no endpoint at the upstream provider asked for, or several without a base."""


def endpoint_id(model_id: str, tag: str) -> str:
    return f"{model_id}{ENDPOINT_MARK}{tag}"


def is_endpoint_id(model_id: str) -> bool:
    return ENDPOINT_MARK in model_id


def endpoint_model(model_id: str) -> str:
    """The model an id belongs to: itself, or an endpoint's model."""
    return model_id.split(ENDPOINT_MARK, 1)[0]


def endpoints_prefix(model_id: str) -> str:
    return model_id + ENDPOINT_MARK


def marked_free(model_id: str) -> bool:
    """The upstream itself says the model is free (its id carries the free marker)."""
    return endpoint_model(model_id).endswith(FREE_MARKERS)


def choose_endpoint(
    provider: str, model_id: str, wanted: str, endpoints: Iterable[tuple[str, str | None, T]]
) -> tuple[str, str | None, T]:
    """The endpoint that served a request, from ``(tag, provider name, value)`` of the model's
    endpoints: the one whose tag is ``wanted``, else the provider's only endpoint, else its
    base endpoint (a tag without ``/``). Raises :class:`UnknownUpstream` naming what there is."""
    endpoints = list(endpoints)
    key = wanted.strip().casefold()
    for endpoint in endpoints:
        if endpoint[0].casefold() == key:
            return endpoint
    candidates = [e for e in endpoints if (e[1] or "").casefold() == key]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        known = sorted({f"{name} ({tag})" if name else tag for tag, name, _ in endpoints})
        offered = ", ".join(known) if known else "none listed"
        raise UnknownUpstream(f"{provider}/{model_id} has no endpoint at {wanted!r} (its endpoints: {offered})")
    base = [e for e in candidates if "/" not in e[0]]
    if len(base) == 1:
        return base[0]
    tags = ", ".join(sorted(e[0] for e in candidates))
    raise UnknownUpstream(
        f"{provider}/{model_id} has several {wanted!r} endpoints and no base one: give the tag ({tags})"
    )
