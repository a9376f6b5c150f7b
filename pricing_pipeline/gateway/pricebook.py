"""The gateway's hot path: the cost of a request from memory, equal to ``request_cost``'s.

``PriceBook.load(database_url)`` reads the published prices once into an immutable index:
every model's prices live now, plus the history live at any instant of the last
``history_window`` (a request billed a little after it ran). ``book.cost(...)`` runs the
same selection and billing routine as ``request_cost`` (cost.bill) over that index, so the
two cannot disagree: same total, same lines, same ``CostError`` subclass and message. An
instant older than the window is answered by ``request_cost`` itself, from the database.

Freshness: at most every ``check_every`` a call reads the publish generation (one small
query, store/listings.py); when a publish changed prices since the load, a background
thread reloads and swaps the index by reference. Readers never lock: they read the one
reference; only reloads take the lock, and the old index serves until the new one is whole.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pricing_pipeline.gateway.cost import request_cost
from pricing_pipeline.pricing.cost import (
    IndexedComponents,
    ListedPrices,
    RequestCost,
    UnknownUpstream,
    Usage,
    bill,
    check_request,
    choose_endpoint,
    not_listed,
)
from pricing_pipeline.pricing.endpoints import endpoint_model, is_endpoint_id
from pricing_pipeline.pricing.records import SERVICE_TIERS
from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline.store import PricingStore
from pricing_pipeline.store.listings import publish_generation, read_listings

log = logging.getLogger(__name__)

DEFAULT_HISTORY_WINDOW = timedelta(days=1)
DEFAULT_CHECK_EVERY = timedelta(seconds=5)
MAX_CHOICES_KEPT = 100_000  # upstream names come from requests: keep a bounded number of answers


@dataclass(frozen=True)
class _Index:
    generation: tuple
    since: datetime  # instants from here on are answered from memory
    # (provider, model_id) -> its listings live at some instant since ``since``, newest first
    listings: dict[tuple[str, str], tuple[ListedPrices, ...]]
    # (provider, model_id) -> (first listed, listed until) of every model ever published
    spans: dict[tuple[str, str], tuple[datetime, datetime | None]]
    # (provider, model_id) -> the keys of its endpoints' listings (pricing/endpoints.py)
    endpoints: dict[tuple[str, str], tuple[tuple[str, str], ...]]
    loaded_seconds: float
    # (provider, model_id) -> the instant from which the same endpoints are live (each one's newest
    # listing, while it is not removed), so that the choice among them is the same at any later instant
    endpoints_settled: dict[tuple[str, str], datetime] = field(default_factory=dict)
    # (provider, model_id, upstream_provider asked) -> the endpoint chosen from the settled
    # endpoints, or the UnknownUpstream raised (its message): filled as requests ask
    chosen: dict[tuple[str, str, str], ListedPrices | str] = field(default_factory=dict)


class PriceBook:
    def __init__(self, store, history_window: timedelta = DEFAULT_HISTORY_WINDOW,
                 check_every: timedelta = DEFAULT_CHECK_EVERY):
        self._store, self._providers = store, PROVIDER_NAMES
        self.history_window, self._check_every = history_window, check_every.total_seconds()
        self._reload_lock = threading.Lock()
        self._index = self._read()
        self._next_check = time.monotonic() + self._check_every

    @classmethod
    def load(cls, database_url: str, history_window: timedelta = DEFAULT_HISTORY_WINDOW,
             check_every: timedelta = DEFAULT_CHECK_EVERY) -> PriceBook:
        return cls(PricingStore(database_url), history_window, check_every)

    # --- the hot path ------------------------------------------------------------------

    def cost(self, provider: str, model_id: str, usage: Usage, at: datetime | None = None,
             service_tier: str = "standard", region: str | None = None,
             upstream_provider: str | None = None) -> RequestCost:
        """What ``request_cost`` answers for the same arguments, from memory."""
        if provider not in self._providers or service_tier not in SERVICE_TIERS:
            check_request(provider, service_tier, self._providers)  # raises what is wrong
        if time.monotonic() >= self._next_check:
            self._check_for_publish()
        index = self._index  # one read of the reference: a swap mid-call is not seen
        at = (at or datetime.now(UTC)).astimezone(UTC)
        if at < index.since:
            return request_cost(provider, model_id, usage, at, service_tier, region, store=self._store,
                                upstream_provider=upstream_provider)
        key = (provider, model_id)
        listed = _live_at(index.listings.get(key, ()), at)
        if listed is None:
            raise not_listed(provider, model_id, at, *index.spans.get(key, (None, None)))
        if upstream_provider is not None:
            listed = self._endpoint(index, key, upstream_provider, at)
        return bill(provider, model_id, listed, usage, at, service_tier, region)

    @staticmethod
    def _endpoint(index: _Index, key: tuple[str, str], upstream_provider: str, at: datetime) -> ListedPrices:
        """``choose_endpoint`` among the model's endpoints live at ``at``; once they are settled
        (the same at every later instant), its answer is kept and given again."""
        settled = index.endpoints_settled.get(key)
        if settled is not None and at >= settled:
            chosen = index.chosen.get((*key, upstream_provider))
            if chosen is not None:
                if isinstance(chosen, str):
                    raise UnknownUpstream(chosen)
                return chosen
        live = (_live_at(index.listings[endpoint], at) for endpoint in index.endpoints.get(key, ()))
        try:
            _, _, listed = choose_endpoint(key[0], key[1], upstream_provider,
                                           ((e.upstream_tag, e.upstream_provider, e) for e in live if e is not None),
                                           _same_prices)
        except UnknownUpstream as error:
            if settled is not None and at >= settled and len(index.chosen) < MAX_CHOICES_KEPT:
                index.chosen[(*key, upstream_provider)] = str(error)
            raise
        if settled is not None and at >= settled and len(index.chosen) < MAX_CHOICES_KEPT:
            index.chosen[(*key, upstream_provider)] = listed
        return listed

    # --- freshness ---------------------------------------------------------------------

    @property
    def generation(self) -> tuple:
        return self._index.generation

    @property
    def since(self) -> datetime:
        """Instants from here on are answered from memory; older ones read the database."""
        return self._index.since

    @property
    def models(self) -> int:
        return len(self._index.listings)

    @property
    def load_seconds(self) -> float:
        return self._index.loaded_seconds

    def refresh(self) -> bool:
        """Reload if a publish changed prices since the index was read; True if it did."""
        with self._reload_lock:
            if publish_generation(self._store) == self._index.generation:
                return False
            self._index = self._read()
            return True

    def _check_for_publish(self) -> None:
        self._next_check = time.monotonic() + self._check_every
        if self._reload_lock.locked():
            return  # a reload is under way
        threading.Thread(target=self._refresh_in_background, name="price-book-refresh", daemon=True).start()

    def _refresh_in_background(self) -> None:
        try:
            self.refresh()
        except Exception:  # the database unreachable: keep serving the index we have
            log.exception("price book refresh failed; still serving the prices of generation %s", self.generation)

    def _read(self) -> _Index:
        started = time.perf_counter()
        since = datetime.now(UTC) - self.history_window
        listings = read_listings(self._store, since)
        components = listings.components
        indexed: dict[frozenset, IndexedComponents] = {}  # equal component sets share one index
        spans = {(provider, model_id): (first, until) for provider, model_id, first, until in listings.spans}
        same_key = {key: key for key in spans}  # both dicts share one key tuple per model
        by_model: dict[tuple[str, str], list[ListedPrices]] = {}
        for provider, model_id, valid_from, valid_to, variable_pricing, upstream, tag in listings.history:
            own = frozenset(components.get((provider, model_id, valid_from), ()))  # sorted once per distinct set
            index = indexed.get(own)
            if index is None:
                index = indexed[own] = IndexedComponents(own)
            key = same_key.get((provider, model_id)) or (provider, model_id)
            by_model.setdefault(key, []).append(
                ListedPrices(index, bool(variable_pricing), valid_from, valid_to, upstream if tag else None, tag))
        endpoints: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for provider, model_id in by_model:
            if is_endpoint_id(model_id):
                endpoints.setdefault((provider, endpoint_model(model_id)), []).append((provider, model_id))
        newest_first = {key: tuple(sorted(rows, key=_newest_first)) for key, rows in by_model.items()}
        settled = {}
        for key, keys in endpoints.items():
            newest = [newest_first[endpoint][0] for endpoint in keys]
            settled[key] = max(max(n.valid_from for n in newest), max((n.valid_to for n in newest if n.valid_to),
                                                                      default=since))
        return _Index(
            listings.generation,
            since,
            newest_first,
            spans,
            {key: tuple(sorted(keys)) for key, keys in endpoints.items()},
            time.perf_counter() - started,
            settled,
        )


def _same_prices(a: ListedPrices, b: ListedPrices) -> bool:
    return a.components is b.components  # equal component sets share one index (_read)


def _live_at(listings: tuple[ListedPrices, ...], at: datetime) -> ListedPrices | None:
    for listed in listings:
        if listed.valid_from <= at and (listed.valid_to is None or listed.valid_to > at):
            return listed
    return None


def _newest_first(listed: ListedPrices):
    return -listed.valid_from.timestamp()
