"""Per-provider freshness: the ``price_freshness`` observation (every provider at a glance)
and one check per provider on it, both evaluated by price_freshness_check_job, which
price_freshness_schedule runs and ``pricing-pipeline sync`` runs after its syncs (never inside a
sync run). Dagster's asset-level FreshnessPolicy judges a partitioned asset by its newest
partition, so one fresh provider would hide every stale one; these look at each provider, and
say when its last sync failed while its prices are still live."""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    AssetSpec,
    MetadataValue,
    ObserveResult,
    multi_asset_check,
    multi_observable_source_asset,
)

from pricing_pipeline.defs import upstream_state
from pricing_pipeline.defs.runs import DECIDED_BY_TAG, PUBLISHED_KEY
from pricing_pipeline.defs.sync.assets import GROUP, published_prices
from pricing_pipeline.defs.sync.resources import PricingDatabase
from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline.settings import FRESHNESS_FAIL_AFTER, FRESHNESS_WARN_AFTER
from pricing_pipeline.store.review import REVIEW_STATUSES

# A person's action on the provider, never a sync: accept, reject, re-publish (republish.py).
DECISIONS = (*REVIEW_STATUSES, "republished")
FRESHNESS_KEY = AssetKey("price_freshness")


def freshness_check_name(provider: str) -> str:
    return f"fresh_{provider}"


def hours(delta: timedelta) -> str:
    """'8 hours', '1.5 hours': a timedelta's str() reads '8:00:00' in the UI."""
    value = delta.total_seconds() / 3600
    return f"{value:g} hour" + ("" if value == 1 else "s")


# Observable, not materializable: no sync run (which carries the checks of the assets it
# materializes) evaluates, or fails to evaluate, another provider's freshness. Observed by the
# job its schedule runs, so the asset page lists that job and schedule as its automation.
@multi_observable_source_asset(
    specs=[
        AssetSpec(
            "price_freshness",
            deps=[published_prices],
            group_name=GROUP,
            kinds={"sql"},
            # Plain text: the asset page renders it as Markdown ("<provider>" vanished as HTML), the
            # catalog list shows it raw (backticks stayed).
            description="How old each provider's published prices are (or when the change watcher last found them current), and whether its last sync failed while "
            "they stay live. Each observation lists every provider; one check per provider (fresh_openrouter, "
            "fresh_litellm and so on) judges it. Evaluated every 15 minutes by price_freshness_schedule and after "
            "each pricing-pipeline sync command, never inside a sync run.",
        )
    ],
)
def price_freshness(context: AssetExecutionContext, pricing_db: PricingDatabase):
    """Every provider's freshness in one table: what an operator reads first on the asset page."""
    yield ObserveResult(asset_key=FRESHNESS_KEY, metadata=freshness_overview(context.instance, pricing_db, context.run.run_id))


def freshness_overview(instance, pricing_db: PricingDatabase, run_id: str) -> dict:
    """The observation's metadata (a review run reports it too, so a decision shows at once)."""
    now = datetime.now(timezone.utc)
    states = [ProviderFreshness.read(instance, pricing_db, provider, now) for provider in PROVIDER_NAMES]
    not_fresh = [state.provider for state in states if state.state != "fresh"]
    failing = [state.provider for state in states if state.failed_sync]
    fresh = len(states) - len(not_fresh)
    summary = f"{fresh} of {len(states)} providers fresh" + (f"; not fresh: {', '.join(not_fresh)}" if not_fresh else "")
    # Fresh prices can sit beside a failing sync (the last publish is recent): say so at a glance.
    summary += f"; last sync failed: {', '.join(failing)}." if failing else "."
    return {
        "summary": summary,
        "fresh_providers": fresh,
        "not_fresh_providers": len(not_fresh),
        "providers": MetadataValue.md(
            "| provider | state | last published | verified current | hours ago | held models | last sync | decided since |\n"
            "|---|---|---|---|---|---|---|---|\n" + "\n".join(state.table_row() for state in states)
        ),
        "run_id": run_id,
    }


@multi_asset_check(
    specs=[
        AssetCheckSpec(
            freshness_check_name(provider),
            asset=FRESHNESS_KEY,
            description=f"{provider} prices were published, or verified current by the change watcher, within "
            f"{hours(FRESHNESS_FAIL_AFTER)} (warning after {hours(FRESHNESS_WARN_AFTER)}).",
        )
        for provider in PROVIDER_NAMES
    ],
    can_subset=True,
)
def provider_freshness(context: AssetCheckExecutionContext, pricing_db: PricingDatabase):
    now = datetime.now(timezone.utc)
    for check_key in context.selected_asset_check_keys:
        state = ProviderFreshness.read(context.instance, pricing_db, check_key.name.removeprefix("fresh_"), now)
        yield AssetCheckResult(check_name=check_key.name, asset_key=FRESHNESS_KEY, **state.check_fields(context.run.run_id))


def freshness_evaluation(instance, pricing_db: PricingDatabase, provider: str, run_id: str) -> AssetCheckEvaluation:
    """fresh_<provider>'s result as another run reports it (a review: its decision shows at once)."""
    state = ProviderFreshness.read(instance, pricing_db, provider, datetime.now(timezone.utc))
    return AssetCheckEvaluation(asset_key=FRESHNESS_KEY, check_name=freshness_check_name(provider), **state.check_fields(run_id))


@dataclass(frozen=True)
class ProviderFreshness:
    """One provider's freshness as the observation and its check both read it."""

    provider: str
    last: datetime | None  # its last publish by a sync (a review or a re-publish does not count)
    age: timedelta | None  # since upstream was last confirmed: that publish, or a watcher's poll since
    verified: datetime | None  # the change watcher's last poll that found upstream as published
    last_sync: dict | None  # its latest closed sync log row of a sync run (never a review run)
    review: dict | None  # a person's decision on held models since that sync, with "by"
    counts: dict

    @classmethod
    def read(cls, instance, pricing_db: PricingDatabase, provider: str, now: datetime) -> "ProviderFreshness":
        last = last_publish_time(instance, provider)
        verified = upstream_state.verified_at(instance, provider)
        # Freshness is "verified current": a poll that found upstream as published is as good as a
        # sync that published it (only after a publish: nothing is current before one).
        current = max(last, verified) if last is not None and verified is not None else last
        rows = pricing_db.store.sync_rows(provider)
        sync, review = last_sync_and_review(rows)
        if review is not None:
            review = {**review, "by": decided_by(instance, pricing_db, review["run_id"])}
        return cls(
            provider,
            last,
            None if current is None else now - current,
            verified if last is not None and verified is not None and verified > last else None,
            sync,
            review,
            provider_counts(pricing_db, provider, rows),
        )

    @property
    def state(self) -> str:
        return freshness_state(self.age)

    @property
    def failed_sync(self) -> dict | None:
        """The last sync, when it did not succeed (a review run is never a sync)."""
        return self.last_sync if self.last_sync and self.last_sync["status"] != "success" else None

    @property
    def failed_when(self) -> str:
        """" at <time>" of the failed last sync ("" when it has no time)."""
        return when(self.failed_sync)

    @property
    def last_sync_text(self) -> str:
        """"success at T", "failure at T (connection)", "" (never synced)."""
        sync = self.last_sync
        if not sync:
            return ""
        kind = f" ({sync['error_type'] or 'no error type'})" if sync["status"] != "success" else ""
        return f"{sync['status']}{when(sync)}{kind}"

    @property
    def review_text(self) -> str:
        """"accepted by jane at T, run R" (a person's decision since the last sync), or ""."""
        review = self.review
        if not review:
            return ""
        run = f", run {review['run_id'][:8]}" if review["run_id"] else ""
        return f"{review['status']} by {review['by'] or 'unknown'}{when(review)}{run}"

    def table_row(self) -> str:
        published = utc_minute(self.last) if self.last else ""
        verified = utc_minute(self.verified) if self.verified else published
        hours_ago = f"{self.age.total_seconds() / 3600:.1f}" if self.age else ""
        return (
            f"| {self.provider} | {self.state} | {published} | {verified} | {hours_ago} | {self.counts['held_models']} "
            f"| {self.last_sync_text} | {self.review_text} |"
        )

    def description(self) -> str:
        """What an operator reads first: when the provider last published (a sync that changes
        nothing publishes too), whether its latest sync failed while those prices stay live,
        a person's decision on held models since, and whether models wait for a person."""
        provider, failed, held = self.provider, self.failed_sync, self.counts["held_models"]
        if self.last is None:
            text = f"{provider}: never published"
        elif self.verified is not None:
            published = (self.verified - self.last) + self.age
            text = (f"{provider}: last published {utc_minute(self.last)} ({published.total_seconds() / 3600:.1f} h ago), "
                    f"verified current by the change watcher {utc_minute(self.verified)} "
                    f"({self.age.total_seconds() / 60:.0f} min ago)")
        else:
            text = f"{provider}: last published {utc_minute(self.last)} ({self.age.total_seconds() / 3600:.1f} h ago)"
        if failed:
            kind = f" ({failed['error_type']})" if failed["error_type"] else ""
            run = f", run {failed['run_id'][:8]}" if failed["run_id"] else ""
            text += f"; last sync {failed['status']}{self.failed_when}{kind}{run}"
            if self.last is not None:
                text += "; the published prices stay live"
        if self.review:
            text += f"; {self.review_text}"
        if held:
            text += f"; {held} model(s) held for review (pricing-pipeline held --provider {provider})"
        return text + "."

    def check_fields(self, run_id: str) -> dict:
        """fresh_<provider>'s verdict, text and metadata."""
        passed, severity = freshness_verdict(self.age)
        return {
            "passed": passed,
            "severity": severity,
            "description": self.description(),
            "metadata": {
                "provider": self.provider,
                "run_id": run_id,
                **({"last_published_at": MetadataValue.timestamp(self.last)} if self.last else {}),
                **({"verified_current_at": MetadataValue.timestamp(self.verified)} if self.verified else {}),
                "age_hours": round(self.age.total_seconds() / 3600, 2) if self.age else -1,
                **self.sync_metadata(),
                **self.counts,
            },
        }

    def sync_metadata(self) -> dict:
        """The last sync's real outcome, and the decision since, as check metadata."""
        sync, review = self.last_sync, self.review
        metadata: dict = {"last_sync": sync["status"] if sync else "never"}
        if sync:
            metadata["last_sync_run_id"] = sync["run_id"] or ""
            metadata["last_sync_error_type"] = sync["error_type"] or ""
            if sync["finished_at"] or sync["started_at"]:
                metadata["last_sync_at"] = MetadataValue.timestamp(sync["finished_at"] or sync["started_at"])
        if review:
            metadata["last_review"] = review["status"]
            metadata["last_review_by"] = review["by"] or ""
            metadata["last_review_run_id"] = review["run_id"] or ""
        return metadata


def decided_by(instance, pricing_db: PricingDatabase, run_id: str | None) -> str | None:
    """Who decided: the run's own tag, else the change log and holds of the run."""
    if not run_id:
        return None
    run = instance.get_run_by_id(run_id)
    return (run.tags.get(DECIDED_BY_TAG) if run else None) or pricing_db.store.decided_by(run_id)


def when(row: dict | None) -> str:
    """" at <time>" of a sync log row ("" when it has none)."""
    moment = row and (row["finished_at"] or row["started_at"])
    return f" at {utc_minute(moment)}" if moment else ""


def last_sync_and_review(rows: list[dict]) -> tuple[dict | None, dict | None]:
    """The provider's latest closed row of a sync run, and the latest review (accept / reject)
    closed after it (None when the sync came after every review)."""
    sync = review = None
    for row in rows:  # in id order: the latest last
        if row["status"] == "running":
            continue
        if row["status"] in DECISIONS:
            review = row
        else:
            sync, review = row, None
    return sync, review


def utc_minute(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def provider_counts(pricing_db: PricingDatabase, provider: str, rows: list[dict]) -> dict:
    """The provider's live and held models, and its last *successful* sync's counts (named so:
    a failed or blocked sync publishes nothing). A check per provider, so the UI plots each
    over time on its own axis (Dagster plots a partitioned asset's metadata by partition, one
    point per provider, never as a provider's history)."""
    success = next((row for row in reversed(rows) if row["status"] == "success"), None)
    return {
        "live_models": pricing_db.store.live_model_count(provider),
        "held_models": pricing_db.store.hold_summary(provider)[0],
        **{
            f"last_success_{name}": (success or {}).get(f"models_{name}") or 0
            for name in ("fetched", "added", "changed", "removed", "quarantined")
        },
    }


def freshness_state(age: timedelta | None) -> str:
    """"fresh", "stale" (past the warning age), "too old" or "never published"."""
    if age is None:
        return "never published"
    passed, severity = freshness_verdict(age)
    return "fresh" if passed else ("stale" if severity == AssetCheckSeverity.WARN else "too old")


def freshness_verdict(age: timedelta | None) -> tuple[bool, AssetCheckSeverity]:
    """Fresh; stale (warn after 6 h); too old or never published (fail after 8 h)."""
    if age is None or age > FRESHNESS_FAIL_AFTER:
        return False, AssetCheckSeverity.ERROR
    if age > FRESHNESS_WARN_AFTER:
        return False, AssetCheckSeverity.WARN
    return True, AssetCheckSeverity.WARN


def last_publish_time(instance, provider: str) -> datetime | None:
    result = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=PUBLISHED_KEY, asset_partitions=[provider]), limit=1, ascending=False
    )
    if not result.records:
        return None
    return datetime.fromtimestamp(result.records[0].timestamp, tz=timezone.utc)
