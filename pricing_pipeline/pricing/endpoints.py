"""A model's upstream endpoints: the routes an aggregator (OpenRouter) serves it through, each
at its own price.

An endpoint is published as a record of its own, next to the model's headline record, so
history, changes, the guard's per-model rules and holds all work per endpoint (one endpoint's
jump holds that endpoint only). Its id is the model's id, ``#`` and the endpoint's tag
(``openai/gpt-4o#azure/eu``): ``#`` never occurs in OpenRouter's ids (they are URL paths), so
the id alone says which model an endpoint belongs to. The record names the serving provider
(``upstream_provider``: ``Azure``), its ``upstream_tag`` and ``quantization``.

Choosing the endpoint that served a request (``cost.choose_endpoint``): the name a response
reports (OpenRouter's ``provider``, e.g. ``Azure``) or an endpoint tag, case-insensitively. A
provider with several endpoints (``azure`` and ``azure/eu``) is billed at its base endpoint,
the tag without a ``/`` suffix, unless the tag is given.
"""

from __future__ import annotations

ENDPOINT_MARK = "#"
# The upstream's own mark of a free model (OpenRouter's ``vendor/model:free`` ids).
FREE_MARKERS = (":free",)


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
