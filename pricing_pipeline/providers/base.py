"""What every provider adapter is: where to fetch, how to find the models, how to price one."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from pricing_pipeline.pricing.modality import apply_unit_rules
from pricing_pipeline.pricing.model_ids import display_id, model_id_problem
from pricing_pipeline.pricing.records import NormalizedSnapshot, PriceRecord
from pricing_pipeline.providers import _http, json_body
from pricing_pipeline.providers.errors import InvalidResponse, UpstreamError


@dataclass(frozen=True)
class Upstream:
    """Who a provider is to the rest of the system, in one value.

    ``name`` is the partition key and the metric label. The endpoint is overridable with
    ``PRICING_<NAME>_URL``; an API key, where the API takes one, is read from ``key_env`` at
    request time and sent as a Bearer token (never logged); ``key_required``: the API refuses
    requests without one.
    """

    name: str
    default_url: str
    key_env: str | None = None
    key_required: bool = False
    # The smallest plausible catalogue (about half of what the provider listed when the
    # adapter was written): PricingSyncLowModelsUpdated's threshold, generated into the rules
    # by monitoring/code_facts.py. None: the rule's default for unlisted providers (50).
    min_models: int | None = None
    # A catalog of other providers' prices (models.dev, LiteLLM): reference data we compare
    # against, not prices we resell. Its implausible entries are upstream errors to report,
    # so the static price-guard rules warn on them instead of blocking the whole catalog.
    reference_catalog: bool = False


class ProviderAdapter:
    """Subclass per upstream API: set ``upstream`` and implement ``normalize`` (and ``entries``
    when the payload is not an OpenAI-style ``{"data": [...]}`` list)."""

    upstream: ClassVar[Upstream]
    # The upstream's price keys name their own units (LiteLLM's ``input_cost_per_second``):
    # the domain's unit resolver leaves them as read; else generic ``prompt``/``input``
    # prices are put in the unit the model type bills (pricing/modality.py).
    keys_name_units: ClassVar[bool] = False

    name = property(lambda self: self.upstream.name)
    default_url = property(lambda self: self.upstream.default_url)
    api_key_env = property(lambda self: self.upstream.key_env)
    api_key_required = property(lambda self: self.upstream.key_required)
    min_expected_models = property(lambda self: self.upstream.min_models)
    reference_catalog = property(lambda self: self.upstream.reference_catalog)

    @property
    def url_env(self) -> str:
        return f"PRICING_{self.name.upper()}_URL"

    def url(self) -> str:
        return os.environ.get(self.url_env) or self.default_url

    def headers(self) -> dict[str, str]:
        if not self.api_key_env:
            return {}
        key = os.environ.get(self.api_key_env)
        if not key:
            if self.api_key_required:
                raise UpstreamError(
                    self.name, "configuration", f"{self.api_key_env} is not set; the API needs a key"
                )
            return {}
        return {"Authorization": f"Bearer {key}"}

    def fetch(self, settings: _http.HttpSettings = _http.HttpSettings(),
              conditional: dict[str, str] | None = None) -> _http.FetchResult:
        """GET the list; ``conditional``: ``If-None-Match`` / ``If-Modified-Since`` headers
        (the watcher's), answered ``304`` with no body when nothing changed."""
        return _http.fetch(self.name, self.url(), {**self.headers(), **(conditional or {})}, settings)

    # --- parse + normalize -------------------------------------------------------------

    def entries(self, payload: Any) -> Iterable[tuple[str, Any]]:
        """(model_id, upstream entry) pairs in the payload; raise InvalidResponse on bad shape.
        The default is the OpenAI-style ``{"data": [{"id": ...}, ...]}`` list."""
        return ((self.model_id_of(item), item) for item in self.data_list(payload))

    def normalize(self, model_id: str, entry: Any) -> PriceRecord | None:
        """One entry as a PriceRecord, or None for entries that are not priced models."""
        raise NotImplementedError

    def parse(self, payload: Any) -> NormalizedSnapshot:
        """Every model of a payload. A model whose entry cannot be read is quarantined with
        the reason (it keeps its published prices) instead of failing the provider; a
        payload of the wrong shape or with duplicate ids fails as a whole (InvalidResponse):
        a partial snapshot would look like removed models."""
        return self._snapshot(self.entries(payload))

    def parse_body(self, body: bytes, stream_above_bytes: int = json_body.STREAM_ABOVE_BYTES) -> NormalizedSnapshot:
        """``parse`` of a response body. A big OpenAI-style list is read one model at a time
        (only where the adapter keeps the default ``entries``: others read their own shape)."""
        if json_body.streams(body, stream_above_bytes) and type(self).entries is ProviderAdapter.entries:
            items = json_body.stream_list(self.name, body, "data")
            return self._snapshot((self.model_id_of(item), item) for item in items)
        return self.parse(json_body.load(self.name, body))

    def _snapshot(self, entries: Iterable[tuple[str, Any]]) -> NormalizedSnapshot:
        # One entry at a time, so a streamed list never exists whole.
        records: list[PriceRecord] = []
        quarantined: dict[str, str] = {}
        unknown_keys: Counter[str] = Counter()
        seen: set[str] = set()
        duplicates: set[str] = set()
        for raw_id, entry in entries:
            model_id = raw_id.strip()  # the one whitespace rule: surrounding whitespace is not part of an id
            problem = model_id_problem(model_id)
            if problem:  # never written anywhere: shown escaped and truncated
                quarantined[display_id(raw_id)] = problem
                continue
            if model_id in seen:
                duplicates.add(model_id)
            seen.add(model_id)
            if duplicates:
                continue  # the payload fails as a whole below
            try:
                record = self.normalize(model_id, entry)
                if record is not None:  # the domain's unit and never-free rules, for every adapter
                    record = apply_unit_rules(record, self.keys_name_units)
            except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
                quarantined[model_id] = (str(exc) if isinstance(exc, (ValueError, TypeError)) else f"{type(exc).__name__}: {exc}")[:500]
                continue
            if record is None:
                continue
            problem = record.upstream_model_id and model_id_problem(record.upstream_model_id)
            if problem:
                quarantined[model_id] = f"upstream {problem}"
                continue
            records.append(record)
            unknown_keys.update(set(record.unknown_keys))
        if duplicates:
            shown = ", ".join(display_id(d) for d in sorted(duplicates)[:5])
            raise InvalidResponse(self.name, f"{len(duplicates)} duplicate model ids: {shown}")
        return NormalizedSnapshot(records, quarantined, dict(sorted(unknown_keys.items())))

    # --- per-model detail requests (a model's endpoints) ---------------------------------

    def detail_urls(self, body: bytes) -> dict[str, str]:
        """The further request each model of a list body needs (``{model_id: URL}``), e.g.
        OpenRouter's per-model endpoints; none by default."""
        return {}

    def detail_urls_for(self, model_ids: Iterable[str]) -> dict[str, str]:
        """The detail request of each of ``model_ids`` without a list body (the watcher's
        polls of volatile models); none by default."""
        return {}

    @property
    def has_details(self) -> bool:
        return type(self).detail_urls is not ProviderAdapter.detail_urls

    def details(self, model_id: str, payload: Any) -> tuple[list[PriceRecord], dict[str, str]]:
        """The records a model's detail body adds, and its unreadable entries by record id."""
        raise NotImplementedError

    def detail_records(self, model_id: str, body: bytes) -> tuple[list[PriceRecord], dict[str, str]]:
        """A model's detail body read into records by the domain's rules (raises when the body
        cannot be read), and its unreadable entries."""
        added, bad = self.details(model_id, json_body.load(self.name, body))
        return [apply_unit_rules(record, self.keys_name_units) for record in added], bad

    def with_details(
        self, snapshot: NormalizedSnapshot, bodies: dict[str, bytes], failures: dict[str, str]
    ) -> NormalizedSnapshot:
        """The snapshot with every model's detail records added. A model whose detail request
        failed (``failures``) or whose body cannot be read keeps its published detail records
        (``endpoints_unread``); an unreadable entry is quarantined by its own id."""
        records, quarantined = list(snapshot.records), dict(snapshot.quarantined)
        unknown_keys: Counter[str] = Counter(snapshot.unknown_keys)
        unread = dict(failures)
        for model_id, body in bodies.items():
            try:
                added, bad = self.detail_records(model_id, body)
            except (UpstreamError, ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
                unread[model_id] = f"unreadable: {str(exc)[:300]}"
                continue
            records += added
            quarantined.update(bad)
            for record in added:
                unknown_keys.update(set(record.unknown_keys))
        return NormalizedSnapshot(records, quarantined, dict(sorted(unknown_keys.items())), unread)

    def aliases(self, body: bytes) -> dict[str, str]:
        """Other names the provider's bills give its models (``{alias: model id}``), read from a
        list body: OpenRouter's ``canonical_slug``. None by default."""
        return {}

    def records(self, payload: Any) -> list[PriceRecord]:
        """Every priced model in a payload, strictly: any unreadable entry fails it."""
        snapshot = self.parse(payload)
        if snapshot.quarantined:
            model_id, reason = next(iter(snapshot.quarantined.items()))
            raise InvalidResponse(self.name, f"model {model_id!r}: {reason}")
        return snapshot.records

    # --- helpers for subclasses --------------------------------------------------------

    def data_list(self, payload: Any, key: str = "data") -> list[Any]:
        if not isinstance(payload, dict):
            raise InvalidResponse(self.name, f"expected a JSON object, got {type(payload).__name__}")
        if key not in payload:
            raise InvalidResponse(self.name, f"response has no {key!r} key")
        items = payload[key]
        if not isinstance(items, list):
            raise InvalidResponse(self.name, f"{key!r} is {type(items).__name__}, expected a list")
        return items

    def model_id_of(self, item: Any, key: str = "id") -> str:
        if not isinstance(item, dict) or not isinstance(item.get(key), str) or not item[key]:
            raise InvalidResponse(self.name, f"model entry without a string {key!r}: {str(item)[:80]}")
        return item[key]
