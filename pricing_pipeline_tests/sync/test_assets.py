"""The sync assets and blocking checks, through Dagster, against real recordings."""

import json

from dagster import AssetSelection, materialize

from pricing_pipeline.defs.metrics.resources import MetricsPublisher
from pricing_pipeline.defs.sync.assets import normalized_prices, published_prices, raw_price_snapshot
from pricing_pipeline.defs.sync.checks import normalized_prices_checks
from pricing_pipeline.defs.sync.guard import check_name
from pricing_pipeline.defs.sync.resources import PricingDatabase, UpstreamApi
from pricing_pipeline.pricing.endpoints import is_endpoint_id
from pricing_pipeline.pricing.guard import RULES
from pricing_pipeline_tests.recordings import REPLAY_FILES, recording

ASSETS = [raw_price_snapshot, normalized_prices, published_prices, normalized_prices_checks]
SELECTION = AssetSelection.assets(raw_price_snapshot, normalized_prices, published_prices).without_checks()
# the snapshot checks run as one set (not subsettable: see checks.py)
SELECTION |= AssetSelection.checks_for_assets(normalized_prices)
SELECTION |= AssetSelection.checks_for_assets(published_prices)  # the guard's, decided inside the publish
SELECTION |= AssetSelection.checks_for_assets(raw_price_snapshot)  # the fetch's, decided by the fetch


def test_materialize_publishes_a_provider_with_counts_and_change_table(replay, db_url, store):
    # metrics: the assets' hooks need the publisher; without a Pushgateway it records nothing
    resources = {"pricing_db": PricingDatabase(url=db_url), "upstream": UpstreamApi(), "metrics": MetricsPublisher()}
    result = materialize(ASSETS, selection=SELECTION, resources=resources, partition_key="deepinfra")
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "normalized_prices_schema": True,
        "normalized_prices_finite_non_negative": True,
        "normalized_prices_model_count": True,
        "normalized_prices_quarantine": True,
        "normalized_prices_catalog_replaced": True,
        "normalized_prices_unknown_keys": True,
        **{check_name(rule): True for rule in RULES},
        "raw_price_snapshot_fetch": True,
    }
    # every result names its provider and run, passing ones too
    for evaluation in result.get_asset_check_evaluations():
        assert evaluation.metadata["provider"].value == "deepinfra"
        if evaluation.asset_key == normalized_prices.key:
            assert evaluation.metadata["run_id"].value == result.run_id
            assert evaluation.description == f"deepinfra: passed. (run {result.run_id[:8]})"
    published = {
        e.materialization.asset_key.path[-1]: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    meta = published["published_prices"]
    assert (meta["models"].value, meta["added"].value, meta["changed"].value, meta["removed"].value) == (88, 88, 0, 0)
    assert "| model | change |" in meta["changes"].value
    raw_meta = published["raw_price_snapshot"]
    assert raw_meta["size_bytes"].value == recording("deepinfra_v1_openai_models_2026-04-17.json").stat().st_size
    assert raw_meta["url"].value.endswith("/deepinfra")
    assert len(store.published_records("deepinfra")) == 88

    again = materialize(ASSETS, selection=SELECTION, resources=resources, partition_key="deepinfra")
    meta = [e.materialization.metadata for e in again.get_asset_materialization_events()
            if e.materialization.asset_key.path[-1] == "published_prices"][0]
    assert (meta["added"].value, meta["changed"].value) == (0, 0)
    assert meta["changes"].value == "No price changes."


def test_every_provider_syncs_from_its_recording(replay, run_sync, store):
    for provider in REPLAY_FILES:
        result = run_sync(provider)
        assert result.success, provider
        row = store.sync_row(result.run_id)
        assert row["status"] == "success" and row["models_fetched"] > 0, provider
        # every model and endpoint read is published, but those the guard held (new, priced zero)
        published = store.published_records(provider)
        assert row["models_fetched"] + row["endpoints_fetched"] == len(published) + row["models_held"], provider
        assert row["endpoints_fetched"] == sum(map(is_endpoint_id, published)) + sum(
            map(is_endpoint_id, (h["model_id"] for h in store.held(provider)))), provider
    [azure] = store.prices("openrouter", "openai/gpt-4o#azure")  # one of OpenRouter's endpoints
    assert (azure.record.upstream_provider, azure.record.upstream_tag, azure.record.upstream_model_id) == (
        "Azure", "azure", "openai/gpt-4o")


def test_half_the_models_missing_blocks_the_publish(replay, upstream, run_sync, store):
    assert run_sync("openrouter").success
    before = store.prices("openrouter")
    payload = json.loads(REPLAY_FILES["openrouter"].read_bytes())
    payload["data"] = payload["data"][: len(payload["data"]) // 3]  # a truncated response
    upstream.serve("/openrouter", json.dumps(payload))
    result = run_sync("openrouter")
    assert not result.success
    blocked = {e.check_name: e for e in result.get_asset_check_evaluations()
               if not e.passed and e.severity.value == "ERROR"}  # (the quarantine check warns: REPLAY_AMBIGUOUS_ENDPOINTS)
    assert set(blocked) == {"normalized_prices_model_count"}  # the guard runs in the publish, which never ran
    listed = len(json.loads(REPLAY_FILES["openrouter"].read_bytes())["data"])
    # new and priced zero (unmarked_free): not published; the models of them (not their endpoints)
    held = sum(not is_endpoint_id(h["model_id"]) for h in store.held("openrouter"))
    # the models of the list: their endpoints are not counted
    assert blocked["normalized_prices_model_count"].metadata["models_published"].value == listed - held
    assert store.prices("openrouter") == before  # nothing published, nothing removed
    row = store.sync_row(result.run_id)
    assert (row["status"], row["error_type"]) == ("blocked", "check_blocked")


def test_negative_price_blocks_the_publish(replay, upstream, run_sync, store):
    assert run_sync("deepinfra").success
    payload = json.loads(REPLAY_FILES["deepinfra"].read_bytes())
    priced = [m for m in payload["data"] if m.get("metadata")]
    priced[0]["metadata"]["pricing"]["input_tokens"] = -0.5
    upstream.serve("/deepinfra", json.dumps(payload))
    result = run_sync("deepinfra")
    assert not result.success
    failed = {e.check_name: e for e in result.get_asset_check_evaluations() if not e.passed}
    assert set(failed) == {"normalized_prices_finite_non_negative"}
    assert priced[0]["id"] in failed["normalized_prices_finite_non_negative"].metadata["offenders"].value
    assert store.published_records("deepinfra")[priced[0]["id"]].input_usd_per_mtok > 0


def test_a_real_mass_removal_is_published_only_with_accept_all_and_a_reason(replay, upstream, run_sync, store):
    assert run_sync("openrouter").success
    payload = json.loads(REPLAY_FILES["openrouter"].read_bytes())
    models = {m for m in store.published_records("openrouter") if not is_endpoint_id(m)}
    payload["data"] = payload["data"][:100]
    upstream.serve("/openrouter", json.dumps(payload))
    override = {"accept_all": True, "reason": "OpenRouter retired 236 models on 2026-11-26", "accepted_by": "ops"}
    no_reason = run_sync("openrouter", run_config={"resources": {"price_guard_override": {"config": {"accept_all": True}}}})
    assert not no_reason.success and {m for m in store.published_records("openrouter") if not is_endpoint_id(m)} == models
    accepted = run_sync("openrouter", run_config={"resources": {"price_guard_override": {"config": override}}})
    assert accepted.success
    assert {m for m in store.published_records("openrouter") if not is_endpoint_id(m)} == {
        m["id"] for m in payload["data"]}  # accept_all publishes the held zero-priced ones too
    removals = [c for c in store.changes("openrouter") if c["kind"] == "removed" and not is_endpoint_id(c["model_id"])]
    assert len(removals) == len(models - {m["id"] for m in payload["data"]})
    assert {(c["accepted_by"], c["accept_reason"], c["run_id"]) for c in removals} == {
        ("ops", override["reason"], accepted.run_id)}


def test_an_empty_model_list_is_never_published_even_on_a_first_sync(replay, upstream, run_sync, store):
    upstream.serve("/chutes", '{"object": "list", "data": []}')
    result = run_sync("chutes")
    assert not result.success
    [blocked] = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert blocked.check_name == "normalized_prices_model_count"
    assert store.sync_row(result.run_id)["status"] == "blocked"


def test_the_model_count_floor_rounds_up(replay, upstream, run_sync, store):
    payload = json.loads(REPLAY_FILES["chutes"].read_bytes())
    payload["data"] = payload["data"][:3]
    upstream.serve("/chutes", json.dumps(payload))
    assert run_sync("chutes").success
    payload["data"] = payload["data"][:1]  # 1 of 3 is below half
    upstream.serve("/chutes", json.dumps(payload))
    assert not run_sync("chutes").success
    assert len(store.published_records("chutes")) == 3
