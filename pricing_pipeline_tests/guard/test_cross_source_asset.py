"""The cross-source asset and its warning check, on every replayed provider published into
the pricing database (SQLite and PostgreSQL)."""

from datetime import datetime, timezone
from decimal import Decimal

from dagster import AssetCheckSeverity, build_schedule_context

from pricing_pipeline.defs.guard.assets import CHECK_NAME
from pricing_pipeline.defs.guard.jobs import cross_source_schedule
from pricing_pipeline.pricing.matching import cross_source_report
from pricing_pipeline.pricing.records import PriceRecord
from pricing_pipeline.settings import settings
from pricing_pipeline_tests.guard.conftest import cross_source_key
from pricing_pipeline_tests.recordings import REPLAY_FILES

JOB = "price_cross_source_job"


def run_cross_source(sync_defs, dagster_instance):
    result = sync_defs.resolve_job_def(JOB).execute_in_process(instance=dagster_instance, raise_on_error=False)
    [evaluation] = result.get_asset_check_evaluations()
    [materialization] = result.get_asset_materialization_events()
    return result, evaluation, materialization.event_specific_data.materialization.metadata


def test_disagreements_on_the_real_recordings_warn_with_a_table(payloads, store, sync_defs, dagster_instance):
    records = []
    for provider in REPLAY_FILES:
        snapshot = payloads.records(provider, cross_source_key(provider))
        store.publish(provider, snapshot)  # straight to the store: the guard is not under test here
        records += snapshot
    result, evaluation, metadata = run_cross_source(sync_defs, dagster_instance)

    assert result.success  # a warning never fails the run
    assert evaluation.check_name == CHECK_NAME
    assert not evaluation.passed and evaluation.severity == AssetCheckSeverity.WARN
    expected = cross_source_report(records, Decimal("0.05"))  # what the published data must give
    assert metadata["matched_models"].value == len(expected.matched) == 937
    assert metadata["matched_with_provider_api"].value == 403
    assert metadata["disagreeing_models"].value == len(expected.disagreeing_models) == 214
    assert evaluation.metadata["disagreements"].value == len(expected.disagreements)
    table = evaluation.metadata["disagreements_table"].value
    assert table.count("\n| ") == 50 and f"({len(expected.disagreements)} in all)" in table
    # Largest differences first: LiteLLM's W&B unit mistakes are not here (W&B has no API
    # partition and models.dev has no W&B entry for those ids), OpenRouter's are.
    assert (
        "| openrouter | `mancer/weaver` | input $/1M | 0.5 (openrouter `mancer/weaver`) "
        "| 5.625 (litellm `openrouter/mancer/weaver`) | +1025% |"
    ) in table
    assert "214 of 937 matched models disagree by more than 5%" in evaluation.description
    assert "| openrouter | litellm |" in metadata["sources_table"].value


def test_agreeing_sources_pass(store, sync_defs, dagster_instance):
    price = {"input_usd_per_mtok": Decimal("0.3"), "output_usd_per_mtok": Decimal("0.9")}
    store.publish("openrouter", [PriceRecord("openrouter", "z-ai/glm-4.6v", **price)])
    store.publish(
        "modelsdev",
        [
            PriceRecord(
                "modelsdev",
                "openrouter/z-ai/glm-4.6v",
                **{**price, "output_usd_per_mtok": Decimal("0.92")},  # 2% off: within tolerance
                upstream_provider="openrouter",
                upstream_model_id="z-ai/glm-4.6v",
            )
        ],
    )
    result, evaluation, metadata = run_cross_source(sync_defs, dagster_instance)
    assert result.success and evaluation.passed
    assert (metadata["matched_models"].value, metadata["disagreements"].value) == (1, 0)


def test_tolerance_is_configurable(monkeypatch, store, sync_defs, dagster_instance):
    monkeypatch.setenv("PRICING_CROSS_SOURCE_TOLERANCE", "0.01")
    settings.cache_clear()  # read once per process; the definitions already read them
    store.publish("openrouter", [PriceRecord("openrouter", "m", output_usd_per_mtok=Decimal("0.9"))])
    store.publish(
        "litellm",
        [
            PriceRecord(
                "litellm",
                "openrouter/m",
                output_usd_per_mtok=Decimal("0.92"),
                upstream_provider="openrouter",
                upstream_model_id="m",
            )
        ],
    )
    _, evaluation, metadata = run_cross_source(sync_defs, dagster_instance)
    assert not evaluation.passed and metadata["tolerance_percent"].value == 1.0


def test_runs_half_an_hour_after_each_sync():
    assert cross_source_schedule.cron_schedule == "30 */6 * * *"
    tick = datetime(2026, 6, 10, 0, 30, tzinfo=timezone.utc)
    [request] = cross_source_schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=tick)).run_requests
    assert request.run_key == "20260610T0030" and request.run_config == {}
