"""A response body as JSON. Small bodies (every real provider's today) load whole with the
standard library; a big catalog's ``{"data": [...]}`` list is streamed one model at a time
(ijson's C backend), so memory holds the records made from it, not the whole JSON tree,
which costs about six times the body."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import ijson

from pricing_pipeline.providers.errors import InvalidResponse

STREAM_ABOVE_BYTES = 8 * 2**20


def streams(body: bytes, stream_above_bytes: int = STREAM_ABOVE_BYTES) -> bool:
    return len(body) > stream_above_bytes


def load(provider: str, body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise not_json(provider, body, exc) from None


def check(provider: str, body: bytes, stream_above_bytes: int = STREAM_ABOVE_BYTES) -> None:
    """Raise InvalidResponse unless the body is JSON, without keeping a big body's tree."""
    if not streams(body, stream_above_bytes):
        load(provider, body)
        return
    try:
        for _ in ijson.basic_parse(body):
            pass
    except ijson.JSONError as exc:
        raise not_json(provider, body, exc) from None


class InternedKeysDict(dict):
    """A JSON object whose keys are interned: a model keeps its pricing object (``raw``), and
    100k models repeat the same few keys. (``json.loads`` shares repeated keys itself.)"""

    __slots__ = ()

    def __setitem__(self, key: str, value: Any) -> None:
        dict.__setitem__(self, sys.intern(key), value)


def stream_list(provider: str, body: bytes, key: str) -> Iterator[Any]:
    """The items of the top-level object's ``key`` list, one at a time, with the errors
    ``load`` + ``data_list`` give for a body of another shape."""
    try:
        _check_list_shape(provider, ijson.parse(body), key)
        yield from ijson.items(body, f"{key}.item", use_float=True, map_type=InternedKeysDict)
    except ijson.JSONError as exc:
        raise not_json(provider, body, exc) from None


def _check_list_shape(provider: str, events: Iterator[tuple[str, str, Any]], key: str) -> None:
    # Reads events only up to the key's value: the list itself is streamed afterwards.
    _, event, value = next(events)
    if event != "start_map":
        raise InvalidResponse(provider, f"expected a JSON object, got {_type_name(event, value)}")
    for prefix, event, value in events:
        if prefix == key and event != "map_key":
            if event != "start_array":
                raise InvalidResponse(provider, f"{key!r} is {_type_name(event, value)}, expected a list")
            return
        if prefix == "" and event == "end_map":
            raise InvalidResponse(provider, f"response has no {key!r} key")


def _type_name(event: str, value: Any) -> str:
    """The Python type json.loads would have made of the value an event starts."""
    if event == "number":
        return "int" if isinstance(value, int) else "float"
    return {"start_map": "dict", "start_array": "list", "string": "str", "boolean": "bool", "null": "NoneType"}[event]


def not_json(provider: str, body: bytes, exc: Exception) -> InvalidResponse:
    snippet = body[:80].decode("utf-8", "replace").strip()
    return InvalidResponse(provider, f"response is not JSON ({exc.__class__.__name__}: {exc}); starts with {snippet!r}")
