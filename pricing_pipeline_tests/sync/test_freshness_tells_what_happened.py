"""Freshness after the common actions (issue 31): a review run (accept, reject) is never a
"sync failure"; the last sync is the last sync run with its real outcome; a person's decision
reads "accepted by … at …" on its own. Every sequence is checked against the observation and
every fresh_<provider> text."""

from __future__ import annotations

import json
import re

import pytest
from dagster import DagsterInstance

from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline_tests.recordings import REPLAY_FILES

HELD_MODEL = "Qwen/Qwen3.5-27B"
T = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"
PUBLISHED = rf"deepinfra: last published {T} \(0\.0 h ago\)"
NEVER = {p: f"{p}: never published." for p in PROVIDER_NAMES if p != "deepinfra"}


def jump_payload() -> bytes:
    body = json.loads(REPLAY_FILES["deepinfra"].read_text())
    model = next(m for m in body["data"] if m["id"] == HELD_MODEL)
    model["metadata"]["pricing"]["input_tokens"] *= 100
    return json.dumps(body).encode()


@pytest.fixture
def freshness(sync_defs, dagster_instance: DagsterInstance):
    """Evaluate freshness; returns (every fresh_<provider> description, check metadata by
    provider, the observation's metadata)."""
    job = sync_defs.resolve_job_def("price_freshness_check_job")

    def evaluate():
        result = job.execute_in_process(instance=dagster_instance, raise_on_error=False)
        assert result.success
        checks = {e.check_name.removeprefix("fresh_"): e for e in result.get_asset_check_evaluations()}
        assert set(checks) == set(PROVIDER_NAMES)
        observed = next(
            e.event_specific_data.asset_observation for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"
        )
        texts = {p: e.description for p, e in checks.items()}
        for provider, text in NEVER.items():  # the other providers' texts are untouched by deepinfra's story
            assert texts[provider] == text
        return texts, {p: e.metadata for p, e in checks.items()}, observed.metadata

    return evaluate


@pytest.fixture
def review(sync_defs, dagster_instance: DagsterInstance):
    job = sync_defs.resolve_job_def("price_review_job")

    def decide(decision: str, by: str = "jane.doe", reason: str = "checked the pricing page"):
        config = {"decision": decision, "models": [HELD_MODEL], "by": by, "reason": reason}
        result = job.execute_in_process(
            partition_key="deepinfra", instance=dagster_instance, raise_on_error=False,
            run_config={"ops": {"review_held_prices": {"config": config}}},
        )
        assert result.success
        return result

    return decide


def row_of(observation_metadata, provider: str) -> str:
    table = observation_metadata["providers"].value.splitlines()
    assert table[0] == "| provider | state | last published | verified current | hours ago | held models | last sync | decided since |"
    return next(row for row in table if row.startswith(f"| {provider} |"))


def held_then(replay, run_sync, freshness, review, decision: str):
    assert run_sync("deepinfra").success
    replay.serve("/deepinfra", jump_payload())
    held = run_sync("deepinfra")
    assert held.success
    texts, metadata, observed = freshness()
    assert re.fullmatch(
        rf"{PUBLISHED}; 1 model\(s\) held for review \(pricing-pipeline held --provider deepinfra\)\.", texts["deepinfra"]
    )
    assert metadata["deepinfra"]["last_sync"].value == "success"
    assert re.fullmatch(rf"\| deepinfra \| fresh \| {T} \| {T} \| 0\.0 \| 1 \| success at {T} \|  \|", row_of(observed, "deepinfra"))
    decided = review(decision)
    return held, decided


@pytest.mark.parametrize("decision,verb", [("accept", "accepted"), ("reject", "rejected")])
def test_a_decision_on_a_held_model_is_never_a_sync_failure(replay, run_sync, freshness, review, decision, verb):
    held, decided = held_then(replay, run_sync, freshness, review, decision)
    texts, metadata, observed = freshness()
    assert re.fullmatch(rf"{PUBLISHED}; {verb} by jane\.doe at {T}, run {decided.run_id[:8]}\.", texts["deepinfra"])
    assert "fail" not in texts["deepinfra"] and "stay live" not in texts["deepinfra"]
    fresh = metadata["deepinfra"]
    assert fresh["last_sync"].value == "success" and fresh["last_sync_run_id"].value == held.run_id
    assert (fresh["last_review"].value, fresh["last_review_by"].value) == (verb, "jane.doe")
    assert fresh["held_models"].value == 0
    assert observed["summary"].value == f"1 of {len(PROVIDER_NAMES)} providers fresh; not fresh: " + ", ".join(
        p for p in PROVIDER_NAMES if p != "deepinfra"
    ) + "."
    assert re.fullmatch(
        rf"\| deepinfra \| fresh \| {T} \| {T} \| 0\.0 \| 0 \| success at {T} \| {verb} by jane\.doe at {T}, run {decided.run_id[:8]} \|",
        row_of(observed, "deepinfra"),
    )


def test_held_then_accepted_then_synced_again_reads_as_that_sync(replay, run_sync, freshness, review):
    held_then(replay, run_sync, freshness, review, "accept")
    again = run_sync("deepinfra")
    assert again.success
    texts, metadata, observed = freshness()
    assert re.fullmatch(rf"{PUBLISHED}\.", texts["deepinfra"])  # the decision came before this sync
    assert metadata["deepinfra"]["last_sync_run_id"].value == again.run_id
    assert "last_review" not in metadata["deepinfra"]
    assert re.fullmatch(rf"\| deepinfra \| fresh \| {T} \| {T} \| 0\.0 \| 0 \| success at {T} \|  \|", row_of(observed, "deepinfra"))


def test_failed_then_succeeded_reads_as_the_success(replay, run_sync, freshness):
    assert run_sync("deepinfra").success
    replay.serve("/deepinfra", b'{"error": "upstream down"}', status=500)
    failed = run_sync("deepinfra")
    assert not failed.success
    texts, metadata, observed = freshness()
    assert re.fullmatch(
        rf"{PUBLISHED}; last sync failure at {T} \(http_5xx\), run {failed.run_id[:8]}; the published prices stay live\.",
        texts["deepinfra"],
    )
    assert observed["summary"].value.endswith("; last sync failed: deepinfra.")
    assert re.fullmatch(rf"\| deepinfra \| fresh \| {T} \| {T} \| 0\.0 \| 0 \| failure at {T} \(http_5xx\) \|  \|", row_of(observed, "deepinfra"))

    replay.serve_file("/deepinfra", REPLAY_FILES["deepinfra"])
    succeeded = run_sync("deepinfra")
    assert succeeded.success
    texts, metadata, observed = freshness()
    assert re.fullmatch(rf"{PUBLISHED}\.", texts["deepinfra"])
    assert (metadata["deepinfra"]["last_sync"].value, metadata["deepinfra"]["last_sync_run_id"].value) == ("success", succeeded.run_id)
    assert "last sync failed" not in observed["summary"].value
    assert re.fullmatch(rf"\| deepinfra \| fresh \| {T} \| {T} \| 0\.0 \| 0 \| success at {T} \|  \|", row_of(observed, "deepinfra"))
