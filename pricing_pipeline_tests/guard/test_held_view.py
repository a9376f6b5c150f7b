"""Held status is current at once (issue 31): a review run reports the guard checks' results
and the held list, and each held model's ready-made accept / reject link opens a launchpad
whose config, with who and why typed in, decides exactly that model."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

import yaml
from dagster import AssetCheckKey, AssetKey, DagsterInstance

from pricing_pipeline.defs.sync.guard import check_name
from pricing_pipeline.pricing.guard import RULES
from pricing_pipeline_tests.sync.test_freshness_tells_what_happened import HELD_MODEL, jump_payload

LINK = re.compile(r"\[(accept|reject)\]\((/locations/[^)]+)\)")


def observations(result, key: str):
    return [
        e.event_specific_data.asset_observation
        for e in result.all_events
        if e.event_type_value == "ASSET_OBSERVATION" and e.event_specific_data.asset_observation.asset_key == AssetKey(key)
    ]


def held_sync(replay, run_sync):
    assert run_sync("deepinfra").success
    replay.serve("/deepinfra", jump_payload())
    result = run_sync("deepinfra")
    assert result.success
    return result


def latest_check(instance: DagsterInstance, rule: str):
    key = AssetCheckKey(AssetKey("published_prices"), check_name(rule))
    [record] = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
    return record.event.dagster_event.event_specific_data


def review_config(url: str) -> tuple[str, dict]:
    """The partition and the run config a launchpad link fills in."""
    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).path == "/locations/__repository__@pricing_pipeline/jobs/price_review_job/playground/setup"
    assert query["tags[0][key]"] == ["dagster/partition"]
    return query["tags[0][value]"][0], yaml.safe_load(unquote(query["config"][0]))


def test_the_held_list_is_observed_on_each_publish_with_a_ready_made_decision_per_model(replay, run_sync):
    result = held_sync(replay, run_sync)
    [held] = observations(result, "held_prices")
    assert held.metadata["summary"].value == "1 model(s) held: deepinfra 1"
    table = held.metadata["held"].value
    assert f"| deepinfra | `{HELD_MODEL}` | price\\_jump |" in table
    links = dict(LINK.findall(table))
    partition, config = review_config(links["accept"])
    assert partition == "deepinfra"
    decided = config["ops"]["review_held_prices"]["config"]
    assert (decided["decision"], decided["models"], decided["by"], decided["reason"]) == ("accept", [HELD_MODEL], "", "")
    assert list(decided["expected_proposals"]) == [HELD_MODEL]  # the proposal shown, refused if replaced since
    assert review_config(links["reject"])[1]["ops"]["review_held_prices"]["config"]["decision"] == "reject"


def test_an_accept_from_the_link_reports_held_status_at_once(replay, run_sync, sync_defs, dagster_instance, store):
    result = held_sync(replay, run_sync)
    assert not latest_check(dagster_instance, "price_jump").passed  # held: the check warns
    [held] = observations(result, "held_prices")
    partition, config = review_config(dict(LINK.findall(held.metadata["held"].value))["accept"])
    config["ops"]["review_held_prices"]["config"].update(by="jane.doe", reason="the pricing page says so")
    review = sync_defs.resolve_job_def("price_review_job").execute_in_process(
        partition_key=partition, instance=dagster_instance, run_config=config
    )
    assert review.success and store.held("deepinfra") == []
    evaluations = {e.check_name: e for e in review.get_asset_check_evaluations()}
    for rule in RULES:  # every guard check of the provider, current from the review run
        evaluation = evaluations[check_name(rule)]
        assert evaluation.passed and evaluation.partition == "deepinfra"
        assert evaluation.description == f"deepinfra: nothing held by {rule} after accepted by jane.doe. (run {review.run_id[:8]})"
    assert latest_check(dagster_instance, "price_jump").passed  # what the UI shows as the check's latest result
    fresh = evaluations["fresh_deepinfra"]
    assert fresh.metadata["held_models"].value == 0 and "accepted by jane.doe at" in fresh.description
    [held_now] = observations(review, "held_prices")
    assert held_now.metadata["summary"].value == "Nothing is held." and held_now.metadata["held_models"].value == 0
    [overview] = observations(review, "price_freshness")
    assert "accepted by jane.doe" in overview.metadata["providers"].value


def test_a_reject_leaves_other_holds_listed(replay, run_sync, sync_defs, dagster_instance, store):
    held_sync(replay, run_sync)
    review = sync_defs.resolve_job_def("price_review_job").execute_in_process(
        partition_key="deepinfra", instance=dagster_instance,
        run_config={"ops": {"review_held_prices": {"config": {
            "decision": "reject", "models": [HELD_MODEL], "by": "ann", "reason": "a typo upstream"}}}},
    )
    evaluations = {e.check_name: e for e in review.get_asset_check_evaluations()}
    assert evaluations["price_guard_price_jump"].passed
    assert "rejected by ann" in evaluations["fresh_deepinfra"].description
