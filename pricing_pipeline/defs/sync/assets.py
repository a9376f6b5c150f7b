"""Per-provider assets: raw upstream snapshot -> normalized prices -> published prices."""


import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetObservation,
    Backoff,
    Failure,
    Jitter,
    MaterializeResult,
    MetadataValue,
    Output,
    RetryPolicy,
    RetryRequested,
    asset,
)
from sqlalchemy.exc import SQLAlchemyError

from pricing_pipeline.defs import upstream_state
from pricing_pipeline.defs.runs import (
    DETAIL_MODELS_TAG,
    HELD_TAG,
    QUARANTINED_TAG,
    REPUBLISH_JOB_NAME,
    SYNC_JOB_NAME,
    TRIGGER_TAG,
    WATCH_KEY_TAG,
    fetches,
    untagged_trigger,
)
from pricing_pipeline.defs.sync.guard import GUARD_CHECK_SPECS, guard_results
from pricing_pipeline.defs.sync.held import held_observation
from pricing_pipeline.defs.sync.override import GUARD_RESOURCE_DEFS, PriceGuardOverride
from pricing_pipeline.defs.sync.partitions import provider_partitions
from pricing_pipeline.defs.sync.resources import PricingDatabase, UpstreamApi
from pricing_pipeline.defs.sync.run_metadata import changes_markdown, detail_metadata, reasons_markdown, watch_metadata
from pricing_pipeline.pricing.endpoints import is_endpoint_id
from pricing_pipeline.pricing.holds import reviewer
from pricing_pipeline.pricing.model_ids import display_id
from pricing_pipeline.pricing.records import NormalizedSnapshot
from pricing_pipeline.pricing.watch import list_fingerprint
from pricing_pipeline.providers import json_body
from pricing_pipeline.providers._http import public_url
from pricing_pipeline.providers.errors import UpstreamError
from pricing_pipeline.providers.registry import get_adapter
from pricing_pipeline.settings import settings
from pricing_pipeline.store import holds

GROUP = "pricing"
# Never wait longer than this for a 429's Retry-After inside one run; the next scheduled run
# is the better retry.
MAX_RETRY_AFTER_SECONDS = 300.0

UPSTREAM_RETRY_POLICY = RetryPolicy(
    max_retries=settings().retry_max,
    delay=settings().retry_delay_seconds,
    backoff=Backoff.EXPONENTIAL,
    jitter=Jitter.PLUS_MINUS,
)


@dataclass(frozen=True)
class RawSnapshot:
    """The upstream response as received: kept (by the IO manager) for audit and replay. The
    body, not its parsed tree: bytes pass between steps cheaply, the tree costs about six
    times the body in memory."""

    provider: str
    url: str
    fetched_at: datetime
    sha256: str
    size_bytes: int
    body: bytes
    # per-model detail bodies (OpenRouter's endpoints) by model id, and the failed requests
    details: dict[str, bytes] = field(default_factory=dict)
    detail_failures: dict[str, str] = field(default_factory=dict)
    # the models whose details were asked for, when not all were (a watcher's run); None: all
    detail_scope: tuple[str, ...] | None = None


def sync_failure(context: AssetExecutionContext, error: UpstreamError, stage: str) -> Failure:
    """Record the failed attempt (the metrics publisher counts these observations) and turn
    it into a Dagster failure, retried only as far as the error's own retry budget allows."""
    for event in attempt_events(context, error, stage):
        context.log_event(event)
    return as_failure(context, error, stage)


def as_failure(context: AssetExecutionContext, error: UpstreamError, stage: str) -> Failure:
    return Failure(
        description=str(error),
        metadata={"provider": error.provider, "error_type": error.error_type, "stage": stage},
        allow_retries=error.may_retry(context.retry_number),
    )


def attempt_events(context: AssetExecutionContext, error: UpstreamError, stage: str, url: str | None = None) -> list:
    """The failed attempt's events. A fetch attempt names the URL it tried (credentials and
    query string removed), and is also the fetch check's failed result: drawn as a failure,
    where Dagster draws every observation alike."""
    attempt = context.retry_number + 1
    tried = f" GET {url}:" if url else ""
    metadata = {
        "provider": error.provider,
        "run_id": context.run.run_id,
        "error_type": error.error_type,
        "stage": stage,
        "attempt": attempt,
        **({"url": url} if url else {}),
    }
    events: list = [
        AssetObservation(
            asset_key=context.asset_key,
            partition=context.partition_key,
            # the text says it is a failure (already redacted: UpstreamError redacts its message)
            description=f"Failed {stage} attempt {attempt} ({error.error_type}):{tried} {error}",
            metadata=metadata,
        )
    ]
    if stage == "fetch" and fetch_check_selected(context):
        events.append(
            AssetCheckResult(
                check_name=FETCH_CHECK,
                passed=False,
                severity=AssetCheckSeverity.ERROR,
                description=f"{error.provider}: fetch attempt {attempt} failed ({error.error_type}):{tried} {error} "
                f"(run {context.run.run_id[:8]})",
                metadata=metadata,
            )
        )
    return events


def refuse_without_fetch(context: AssetExecutionContext) -> None:
    """No publish without a fetch: a run that selected normalized_prices or published_prices
    without raw_price_snapshot would load the snapshot an earlier run stored, publish it and
    make freshness read "0.0 h ago" with nothing fetched. Refused before anything is read or
    written (the hooks then leave the sync log alone: defs/runs.fetches)."""
    if fetches(context.run):
        return
    raise Failure(
        description=(
            f"{context.asset_key.to_user_string()}: refused: this run does not fetch {context.partition_key} "
            "(raw_price_snapshot is not selected), so it would re-publish a snapshot an earlier run stored and "
            f"reset freshness. To sync, launch {SYNC_JOB_NAME} from the Jobs page (pick the provider) or "
            f"materialize all three sync assets; to re-publish the stored snapshot on purpose, launch "
            f"{REPUBLISH_JOB_NAME} (by, reason)."
        ),
        metadata={"provider": context.partition_key, "refused": "no fetch in this run"},
        allow_retries=False,
    )


FETCH_CHECK = "raw_price_snapshot_fetch"


def fetch_check_selected(context: AssetExecutionContext) -> bool:
    return any(key.name == FETCH_CHECK for key in context.selected_asset_check_keys)


@asset(
    partitions_def=provider_partitions,
    group_name=GROUP,
    retry_policy=UPSTREAM_RETRY_POLICY,
    kinds={"python"},
    description="The provider's model list exactly as its API returned it.",
    check_specs=[
        AssetCheckSpec(
            FETCH_CHECK,
            asset="raw_price_snapshot",
            partitions_def=provider_partitions,
            description="The fetch succeeded; a failed attempt is a failed result naming the URL tried (credentials "
            "and query string removed), the error type and the attempt number.",
        )
    ],
)
def raw_price_snapshot(context: AssetExecutionContext, upstream: UpstreamApi, pricing_db: PricingDatabase):
    provider = context.partition_key
    adapter = get_adapter(provider)
    url = public_url(adapter.url())
    pricing_db.store.start_sync(provider, context.run.run_id)
    trigger = untagged_trigger(context.run.tags)
    if trigger:  # UI and backfill runs: tagged like the schedule's and the CLI's
        context.instance.add_run_tags(context.run.run_id, {TRIGGER_TAG: trigger})
    try:
        fetched = upstream.fetch(adapter)
        # Archived before parsing: a body we reject is exactly what an operator wants to see.
        snapshot_id, _ = pricing_db.store.archive_raw_snapshot(
            provider, public_url(fetched.url), fetched.body, fetched.fetched_at, context.run.run_id
        )
        json_body.check(provider, fetched.body)
        scope = detail_scope(context.instance, context.run.tags)
        # A watcher's run: the budget it was paid from has no room for retries (its next poll is one)
        details = upstream.fetch_details(adapter, fetched.body, only=scope, **({"attempts": 1} if watched_run(context) else {}))
    except UpstreamError as error:
        if watched_run(context):
            yield from attempt_events(context, error, "fetch", url)
            raise Failure(description=str(error), allow_retries=False,
                          metadata={"provider": error.provider, "error_type": error.error_type, "stage": "fetch"}) from error
        if (
            error.error_type == "rate_limited"
            and error.retry_after_seconds is not None
            and error.retry_after_seconds <= MAX_RETRY_AFTER_SECONDS
        ):
            yield from attempt_events(context, error, "fetch", url)
            raise RetryRequested(
                max_retries=UPSTREAM_RETRY_POLICY.max_retries, seconds_to_wait=error.retry_after_seconds
            ) from error
        # Yielded, not logged: a generator's logged events are lost when it raises.
        yield from attempt_events(context, error, "fetch", url)
        raise as_failure(context, error, "fetch") from error
    sha256 = hashlib.sha256(fetched.body).hexdigest()
    attempt = context.retry_number + 1
    yield Output(
        RawSnapshot(provider, public_url(fetched.url), fetched.fetched_at, sha256, len(fetched.body), fetched.body,
                    details.bodies, details.failures, None if scope is None else tuple(sorted(scope))),
        metadata={
            "provider": provider,
            "url": public_url(fetched.url),
            "size_bytes": len(fetched.body),
            "sha256": sha256,
            "raw_snapshot_id": snapshot_id,
            "request_seconds": round(fetched.elapsed_seconds, 6),
            "fetched_at": fetched.fetched_at.isoformat(),
            **detail_metadata(details),
            **({"detail_scope": ", ".join(sorted(scope)) or "none"} if scope is not None else {}),
            "attempt": attempt,
        },
    )
    if details.failures:
        context.log.warning(f"{provider}: {len(details.failures)} model(s)' endpoint requests failed; they keep the "
                            f"endpoint prices they had: {', '.join(sorted(details.failures)[:10])}")
    if fetch_check_selected(context):
        yield AssetCheckResult(
            check_name=FETCH_CHECK,
            passed=True,
            description=f"{provider}: fetched on attempt {attempt} (run {context.run.run_id[:8]})",
            metadata={"provider": provider, "run_id": context.run.run_id, "attempt": attempt, "url": public_url(fetched.url)},
        )


def detail_scope(instance, tags) -> set[str] | None:
    """The models whose per-model details a watcher's run fetches (DETAIL_MODELS_TAG); None: all."""
    raw = tags.get(DETAIL_MODELS_TAG)
    if raw is None:
        return None
    try:
        models = upstream_state.scope_models(instance, raw)
    except ValueError:
        models = None
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise Failure(description=f"run tag {DETAIL_MODELS_TAG} is not a JSON list of model ids", allow_retries=False)
    return set(models)


def watched_run(context: AssetExecutionContext) -> bool:
    return WATCH_KEY_TAG in context.run.tags


@asset(
    partitions_def=provider_partitions,
    group_name=GROUP,
    kinds={"python"},
    description="Every model of the snapshot as exact Decimal USD price components (per 1M tokens, per "
    "image, per search, ...), with the models that could not be read quarantined and the pricing keys "
    "no adapter rule knows listed.",
)
def normalized_prices(context: AssetExecutionContext, raw_price_snapshot: RawSnapshot) -> NormalizedSnapshot:
    provider = context.partition_key
    refuse_without_fetch(context)
    adapter = get_adapter(provider)
    try:
        snapshot = adapter.parse_body(raw_price_snapshot.body)
    except UpstreamError as error:
        raise sync_failure(context, error, "normalize") from error
    raw = raw_price_snapshot
    if raw.details or raw.detail_failures:
        snapshot = adapter.with_details(snapshot, raw.details, raw.detail_failures)
    if raw.detail_scope is not None:  # the other models' endpoints were not asked for: they stay
        listed = {r.model_id for r in snapshot.records if not is_endpoint_id(r.model_id)}
        snapshot = replace(snapshot, endpoints_kept=frozenset(listed - set(raw.detail_scope)))
    records = snapshot.records
    endpoints = sum(is_endpoint_id(r.model_id) for r in records)  # counted apart from the list's models
    if snapshot.quarantined:
        context.log.warning(f"{provider}: {len(snapshot.quarantined)} model(s) quarantined (unreadable entries)")
    if snapshot.unknown_keys:
        keys = ", ".join(display_id(key, 80) for key in list(snapshot.unknown_keys)[:20])
        context.log.warning(f"{provider}: pricing keys no adapter rule reads: {keys}")
    context.add_output_metadata(
        {
            "provider": provider,
            "models": len(records) - endpoints,
            "components": sum(len(r.components()) for r in records),
            "variable_pricing_models": sum(r.variable_pricing for r in records),
            "tiered_models": sum(any(c.min_context_tokens for c in r.components()) for r in records),
            "unknown_price_models": sum(
                not r.variable_pricing and all(c.usd is None for c in r.components()) for r in records
            ),
            "quarantined_models": len(snapshot.quarantined),
            "endpoint_records": endpoints,
            "endpoints_unread_models": len(snapshot.endpoints_unread),
            "unknown_pricing_keys": len(snapshot.unknown_keys),
            **({"quarantined": MetadataValue.md(reasons_markdown(snapshot.quarantined, "model", "reason"))}
               if snapshot.quarantined else {}),
            **({"unknown_keys": MetadataValue.md(reasons_markdown(snapshot.unknown_keys, "key", "models"))}
               if snapshot.unknown_keys else {}),
        }
    )
    return snapshot


@asset(
    partitions_def=provider_partitions,
    group_name=GROUP,
    kinds={"sql"},
    description="The provider's prices as the gateway reads them: live table, components, history, change log. "
    "The price guard decides per model inside the publish: a flagged model is held for a person (its published "
    "prices stay), the rest publishes.",
    resource_defs=GUARD_RESOURCE_DEFS,
    check_specs=GUARD_CHECK_SPECS,
)
def published_prices(
    context: AssetExecutionContext,
    normalized_prices: NormalizedSnapshot,
    pricing_db: PricingDatabase,
    price_guard_override: PriceGuardOverride,
) -> MaterializeResult:
    provider = context.partition_key
    refuse_without_fetch(context)
    records = normalized_prices.records
    override = price_guard_override.decision()
    problem = override.problem()
    if problem:
        error = UpstreamError(provider, "configuration", f"{problem}; nothing is published")
        raise sync_failure(context, error, "publish")
    thresholds = settings().guard_thresholds
    reference_catalog = get_adapter(provider).reference_catalog

    try:
        result = pricing_db.store.publish(
            provider,
            records,
            run_id=context.run.run_id,
            quarantined=normalized_prices.quarantined,
            endpoints_unread=normalized_prices.endpoints_unread,
            endpoints_kept=normalized_prices.endpoints_kept,
            review=reviewer(records, thresholds, override, reference_catalog, holds.canonical),
        )
    except SQLAlchemyError as exc:
        error = UpstreamError(provider, "database", f"publish failed, nothing written ({type(exc).__name__})")
        raise sync_failure(context, error, "publish") from exc
    verdict = result.verdict
    held_since = {row["model_id"]: row["held_since"] for row in pricing_db.store.held(provider)}
    if verdict.held:
        context.log.warning(f"{provider}: {len(verdict.held)} model(s) held by the price guard: {', '.join(sorted(verdict.held)[:10])}")
    context.log_event(held_observation(pricing_db, context.run.run_id))  # the held list, current at once
    # The Runs list shows a sync that held or quarantined models (a plain "Success" hid it).
    facts = {HELD_TAG: len(verdict.held), QUARANTINED_TAG: len(normalized_prices.quarantined)}
    if any(facts.values()):
        context.instance.add_run_tags(context.run.run_id, {k: str(v) for k, v in facts.items() if v})
    return MaterializeResult(
        metadata={
            "provider": provider,
            "models": result.models,  # the models of the list; their endpoints apart
            "endpoints": len(records) - result.models,
            "added": len(result.diff.added),
            "changed": len(result.diff.changed),
            "removed": len(result.diff.removed),
            "quarantined": len(normalized_prices.quarantined),
            "endpoint_fetch_failures": len(normalized_prices.endpoints_unread),
            # "after the publish": the overview shows the latest materialization's metadata, and a
            # later accept or reject does not change it (held_prices and the checks are current).
            "held_after_publish": len(held_since),
            "held_this_run": len(verdict.held),
            **({"oldest_hold_after_publish": MetadataValue.timestamp(result.oldest_hold_since.timestamp())} if result.oldest_hold_since else {}),
            "unknown_pricing_keys": len(normalized_prices.unknown_keys),
            "publish_seconds": round(result.duration_seconds, 6),
            # what the change watcher compares its polls with (defs/watch/poll.py)
            "list_fingerprint": list_fingerprint(normalized_prices),
            **watch_metadata(context.run.tags, normalized_prices),
            "published_at": result.published_at.isoformat(),
            "changes": MetadataValue.md(changes_markdown(result.diff)),
            "accepted_changes": sum(c.model_id in verdict.accepted or override.accept_all for c in result.diff.changes),
        },
        check_results=guard_results(
            provider, context.run.run_id, verdict, held_since, override, len(records), thresholds
        ),
    )
