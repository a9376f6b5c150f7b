"""One tick of one provider's watcher: poll the list (conditionally), poll the endpoints whose
prices moved lately, and ask for a sync run only when something differs from what is
published, within the hourly request budget.

The run it asks for is an ordinary sync of the provider (same guard, history, holds): the
whole list, and the per-model endpoints of the models that moved only (``DETAIL_MODELS_TAG``);
every other model keeps the endpoints it has until the scheduled sync reads them all. Its run
key is derived from the content and the publish it differs from, so polling an unchanged
upstream, or the same change twice, launches nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from dagster import AssetRecordsFilter, DagsterInstance, DagsterRunStatus, RunRequest, RunsFilter

from pricing_pipeline.defs import upstream_state as stored
from pricing_pipeline.defs.runs import DETAIL_MODELS_TAG, PUBLISHED_KEY, TRIGGER_TAG, WATCH_KEY_TAG
from pricing_pipeline.defs.upstream_state import PendingChange, WatchState
from pricing_pipeline.pricing import watch
from pricing_pipeline.pricing.endpoints import endpoints_prefix, is_endpoint_id
from pricing_pipeline.pricing.records import PriceRecord
from pricing_pipeline.providers.base import ProviderAdapter
from pricing_pipeline.providers.errors import UpstreamError
from pricing_pipeline.store import PricingStore
from pricing_pipeline.store import holds as held
from pricing_pipeline.store import live

# The recent publishes a pending change is looked for in (a tick is minutes apart).
RECENT_PUBLISHES = 20
# A change whose run failed is asked for again, at most this many runs in all; then the
# scheduled sync takes it (the failures show in the sync alerts).
MAX_RUN_ATTEMPTS = 3
RUN_KEY_TAG = "dagster/run_key"


@dataclass(frozen=True)
class Publish:
    """A sync's publish as the watcher compares with it."""

    timestamp: float
    run_id: str
    list_fingerprint: str | None
    watch_key: str | None
    scoped: bool  # fetched the endpoints of some models only (a watcher's run)


@dataclass
class Tick:
    outcome: str | None  # unchanged | changed | error; None: no poll (budget)
    message: str
    run_request: RunRequest | None = None


def recent_publishes(instance: DagsterInstance, provider: str) -> list[Publish]:
    """The provider's latest sync publishes, newest first (reviews and re-publishes carry no
    fingerprint and are left out: they fetched nothing)."""
    result = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=PUBLISHED_KEY, asset_partitions=[provider]), limit=RECENT_PUBLISHES, ascending=False
    )
    out = []
    for record in result.records:
        metadata = record.asset_materialization.metadata if record.asset_materialization else {}
        fingerprint = _text(metadata.get("list_fingerprint"))
        if fingerprint is None:
            continue
        out.append(Publish(record.timestamp, record.run_id, fingerprint, _text(metadata.get("watch_key")),
                           bool(_text(metadata.get("detail_scope")))))
    return out


def _text(value) -> str | None:
    value = getattr(value, "value", value)
    return value if isinstance(value, str) and value else None


def resolve_pending(state: WatchState, publishes: list[Publish]) -> float | None:
    """The seconds from a pending change's first sighting to the publish that carried it (and
    the change is no longer pending); None while it is not published."""
    pending = state.pending
    if pending is None:
        return None
    for publish in sorted(publishes, key=lambda p: p.timestamp):
        if publish.timestamp < pending.seen_at:
            continue
        carried = publish.watch_key == pending.key or (
            not publish.scoped
            and (pending.kind == "endpoints" or publish.list_fingerprint == pending.list_fingerprint)
        )
        if carried:
            state.pending = None
            lag = publish.timestamp - pending.seen_at
            state.observe_lag(lag)
            return lag
    return None


class Expected:
    """What a polled record is compared with: the live fingerprint, or for a model held for a
    person, the proposal that is held (so a held change is not seen anew at every poll)."""

    def __init__(self, store: PricingStore, provider: str):
        with store.engine.connect() as conn:
            self.live, _ = live.live_fingerprints(conn, provider)
            self.standing = {m: h.proposal for m, h in held.standing(conn, provider).items()}

    def matches(self, record: PriceRecord) -> bool:
        if record.model_id in self.standing:
            return held.canonical(record).price_fingerprint() == self.standing[record.model_id]
        return self.live.get(record.model_id) == record.price_fingerprint()

    def endpoints_of(self, model_id: str) -> set[str]:
        prefix = endpoints_prefix(model_id)
        return {m for m in self.live if m.startswith(prefix)}


def tick(
    instance: DagsterInstance,
    store: PricingStore,
    upstream,
    adapter: ProviderAdapter,
    settings,
    now: float | None = None,
) -> Tick:
    """Poll ``adapter``'s provider once; the state is saved after every request."""
    provider = adapter.name
    now = time.time() if now is None else now
    state = stored.load(instance, provider)
    budget = watch.RequestBudget(settings.watch_budget(provider), state.budget_spent, state.budget_list_spent,
                                 settings.watch_interval_seconds)
    publishes = recent_publishes(instance, provider)
    lag = resolve_pending(state, publishes)
    baseline = publishes[0] if publishes else None

    def finish(result: Tick) -> Tick:
        state.budget_spent, state.budget_list_spent = budget.spent, budget.list_spent
        state.last_poll_at, state.last_message = now, result.message
        if result.outcome:
            state.polls[result.outcome] += 1
            state.last_outcome = result.outcome
        stored.save(instance, state)
        return result

    if not budget.spend(now, lists=1):
        state.skipped_total += 1
        wait = budget.next_free_at(now) - now
        return finish(Tick(None, f"{provider}: skipped: the hour's {budget.per_hour} requests are spent "
                                 f"(next in {wait:.0f}s); the scheduled sync is the floor"))
    state.requests_total += 1
    stored.save(instance, state)  # the request counts even if this tick dies
    try:
        fetched = upstream.fetch(adapter, conditional=state.conditional_headers())
        if fetched.not_modified:
            fingerprint, records = state.validated_fingerprint, None
        else:
            snapshot = adapter.parse_body(fetched.body)
            fingerprint, records = watch.list_fingerprint(snapshot), snapshot.records
            state.etag, state.last_modified, state.validated_fingerprint = fetched.etag, fetched.last_modified, fingerprint
    except UpstreamError as error:
        return finish(Tick("error", f"{provider}: poll failed ({error.error_type}): {error}"))
    how = "304 Not Modified" if fetched.not_modified else f"{len(fetched.body)} bytes"
    lag_note = f"; the change seen before went live after {lag:.0f}s" if lag is not None else ""

    expected = Expected(store, provider)
    list_changed = baseline is None or baseline.list_fingerprint != fingerprint
    moved: set[str] = set()
    if list_changed and records is not None:
        listed = {r.model_id for r in records}
        moved = {r.model_id for r in records if not is_endpoint_id(r.model_id) and not expected.matches(r)}
        moved |= {m for m in expected.live if not is_endpoint_id(m) and m not in listed}  # gone from the list
    elif list_changed:  # a 304 for a body that differs from the publish (its run failed): read it whole next time
        state.validated_fingerprint = None

    volatile = poll_volatile(store, upstream, adapter, settings, budget, now, expected,
                             reserve=len(moved), exclude=moved)
    state.requests_total += volatile.requests
    state.skipped_total += len(volatile.skipped)
    notes = f"{volatile.note()}{lag_note}"
    endpoint_changed = volatile.changed
    if not list_changed and not endpoint_changed:
        state.verified_at = now
        return finish(Tick("unchanged", f"{provider}: unchanged ({how}){notes}"))
    if list_changed and records is None:
        return finish(Tick("changed", f"{provider}: upstream differs from the last publish ({how}); "
                                      f"the next poll reads it whole"))
    request = change_request(instance, state, adapter, baseline, fingerprint, list_changed, moved, endpoint_changed, budget, now)
    if request is None:
        state.skipped_total += 1  # the run's list request, at least
        return finish(Tick("changed", f"{provider}: changed, but the hour's budget cannot pay its run; "
                                      "the next poll retries"))
    scope = state.pending.models if state.pending else []
    what = "list" if list_changed else "endpoints"
    return finish(Tick("changed", f"{provider}: {what} changed ({how}); sync requested for it"
                                  + (f" with the endpoints of {len(scope)} model(s)" if adapter.has_details else "")
                                  + notes, request))


@dataclass
class VolatilePoll:
    """The endpoints polled this tick: the models whose endpoints moved, those not polled for
    the budget, those whose poll failed, and the requests made (retries included)."""

    polled: list[str] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    requests: int = 0

    def note(self) -> str:
        out = f"; endpoints of {len(self.polled)} volatile model(s) polled" if self.polled else ""
        if self.changed:
            out += f", moved: {', '.join(sorted(self.changed)[:5])}"
        if self.skipped:
            out += f"; over budget, not polled: {len(self.skipped)} volatile model(s) ({', '.join(self.skipped[:5])})"
        if self.failed:
            out += f"; {len(self.failed)} endpoint poll(s) failed ({', '.join(sorted(self.failed)[:3])})"
        return out


def poll_volatile(store: PricingStore, upstream, adapter: ProviderAdapter, settings, budget: watch.RequestBudget,
                  now: float, expected: Expected, reserve: int, exclude: set[str]) -> VolatilePoll:
    """Poll the endpoints of the models whose endpoint prices changed lately, the most recent
    first, as far as the budget goes (``reserve``: requests kept for the run a change needs)."""
    if not adapter.has_details:
        return VolatilePoll()
    since = datetime.fromtimestamp(now, timezone.utc) - timedelta(hours=settings.watch_volatile_hours)
    with store.engine.connect() as conn:
        changes = live.changed_since(conn, adapter.name, since)
    volatile = [m for m in watch.volatile_models(changes, since) if m not in exclude]
    affordable = max(0, budget.per_model_allowance(now) - reserve)
    result = VolatilePoll(polled=volatile[:affordable], skipped=volatile[affordable:])
    if not result.polled:
        return result
    budget.spend(now, len(result.polled))
    # one attempt each: the budget is of requests made, and the next poll is the retry
    fetched = upstream.fetch_detail_urls(adapter, adapter.detail_urls_for(result.polled), attempts=1)
    result.failed, result.requests = dict(fetched.failures), fetched.requests
    for model_id, body in fetched.bodies.items():
        try:
            records, _ = adapter.detail_records(model_id, body)
        except (UpstreamError, ValueError, TypeError, KeyError, AttributeError, ArithmeticError):
            result.failed[model_id] = "unreadable"  # the next full sync reports why
            continue
        if not all(map(expected.matches, records)) or {r.model_id for r in records} != expected.endpoints_of(model_id):
            result.changed.add(model_id)
    return result


def failed(instance: DagsterInstance, run_key: str) -> bool:
    """Whether the run launched for ``run_key`` ended without publishing."""
    runs = instance.get_runs(RunsFilter(tags={RUN_KEY_TAG: run_key}), limit=1)
    return bool(runs) and runs[0].status in (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


def change_request(instance: DagsterInstance, state: WatchState, adapter: ProviderAdapter, baseline: Publish | None, fingerprint: str,
                   list_changed: bool, moved: set[str], endpoint_changed: set[str], budget: watch.RequestBudget,
                   now: float) -> RunRequest | None:
    """The run for a change, its requests reserved in the budget: the list and, budget allowing,
    the endpoints of the changed models (those found by their endpoints first). The same change
    seen again asks again for the same run (Dagster launches a run key once), paid once."""
    digest = hashlib.sha256(json.dumps([fingerprint, sorted(endpoint_changed), sorted(moved)]).encode()).hexdigest()[:16]
    key = f"watch-{adapter.name}-{(baseline.run_id[:8] if baseline else 'none')}-{digest}"
    pending = state.pending
    if pending is not None and pending.key.startswith(key):
        if not failed(instance, pending.key) or pending.attempt >= MAX_RUN_ATTEMPTS:
            return _run_request(instance, adapter, pending.key, pending.models)
        # its run failed (a timeout, a 5xx): one more, under a key of its own
        key, attempt = f"{key}-retry{pending.attempt}", pending.attempt + 1
    else:
        attempt = 1
    scope: list[str] = []
    if adapter.has_details:
        # the run's list request comes out of the list share while there is one left
        affordable = budget.per_model_allowance(now) - (len(budget.list_spent) >= budget.list_share)
        scope = (sorted(endpoint_changed) + sorted(moved - endpoint_changed))[:max(0, affordable)]
    if not budget.spend(now, 1 + len(scope), lists=1):
        return None
    state.requests_total += 1 + len(scope)
    seen_at = pending.seen_at if pending is not None else now  # the first sighting of what is not yet live
    state.pending = PendingChange(key, seen_at, "list" if list_changed else "endpoints",
                                  fingerprint if list_changed else None, scope, attempt)
    return _run_request(instance, adapter, key, scope)


def _run_request(instance: DagsterInstance, adapter: ProviderAdapter, key: str, scope: list[str]) -> RunRequest:
    tags = {TRIGGER_TAG: "watch", WATCH_KEY_TAG: key}
    if adapter.has_details:
        tags[DETAIL_MODELS_TAG] = stored.scope_tag(instance, key, scope)
    return RunRequest(run_key=key, partition_key=adapter.name, tags=tags)
