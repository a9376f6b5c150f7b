"""The price guard in the real sync job: real recordings served over HTTP, mutated the way
real incidents looked; what is (not) published is read back from the database, on SQLite
and PostgreSQL."""

import json
from decimal import Decimal
from pathlib import Path

from dagster import TimestampMetadataValue

from pricing_pipeline.defs.sync.guard import check_name
from pricing_pipeline.pricing.guard import RULES
from pricing_pipeline.settings import settings
from pricing_pipeline_tests.guard.conftest import MODELSDEV_DAY1, MODELSDEV_DAY2
from pricing_pipeline_tests.guard.test_rules import LITELLM_UNIT_MISTAKES
from pricing_pipeline_tests.published_state import db_state
from pricing_pipeline_tests.recordings import recording

GUARD_CHECKS = {check_name(rule) for rule in RULES}

PER_MTOK_IN_PER_TOKEN_FIELD = "anthropic/claude-opus-4.7"  # prompt "5" instead of "0.000005"
TIMES_1000 = "deepseek/deepseek-v3.2"  # completion x1000
TO_ZERO = "openai/gpt-5.4"  # prompt and completion "0"
OFFENDERS = {PER_MTOK_IN_PER_TOKEN_FIELD, TIMES_1000, TO_ZERO}
BENIGN = "openai/gpt-5.4-mini"  # a real-looking 10% price move
REMOVED = "openai/gpt-5.4-nano"


def incident_payload(payloads):
    """The OpenRouter recording with three incidents, one ordinary change and one removal."""
    payload = payloads.models_only("openrouter")
    models = {m["id"]: m for m in payload["data"]}
    models[PER_MTOK_IN_PER_TOKEN_FIELD]["pricing"]["prompt"] = "5"
    models[TIMES_1000]["pricing"]["completion"] = "0.0004"
    models[TO_ZERO]["pricing"].update(prompt="0", completion="0")
    models[BENIGN]["pricing"]["prompt"] = "0.000000825"
    payload["data"] = [m for m in payload["data"] if m["id"] != REMOVED]
    return json.dumps(payload)


def override(**config):
    return {"resources": {"price_guard_override": {"config": config}}}


def evaluations(result):
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def published_in(result):
    return [e for e in result.get_asset_materialization_events() if e.asset_key.path == ["published_prices"]]


def held_models(result, store, provider="openrouter"):
    return {row["model_id"] for row in store.held(provider)}


def test_incidents_are_held_per_model_and_the_rest_publishes(
    openrouter_models_only, replay, upstream, payloads, run_sync, store, sync_defs, dagster_instance
):
    assert run_sync("openrouter").success
    before = store.published_records("openrouter")

    upstream.serve("/openrouter", incident_payload(payloads))
    result = run_sync("openrouter")

    assert result.success  # three suspicious models never freeze the provider
    checks = evaluations(result)
    warned = {name for name, e in checks.items() if not e.passed}
    assert warned == {"price_guard_price_jump", "price_guard_zero_transition", "price_guard_price_bounds"}
    assert all(checks[name].severity.value == "WARN" for name in warned)
    assert checks["price_guard_new_model_structure"].passed
    jump = checks["price_guard_price_jump"]
    assert jump.metadata["held_models"].value == 2 and jump.metadata["run_id"].value == result.run_id
    table = jump.metadata["held"].value
    assert f"`{TIMES_1000}` | price\\_jump: output 0.4 → 400 $/1M (up x1000)" in table
    assert "| **held** |" in table and "output 0.4" in table and "output 400" in table
    assert "pricing-pipeline accept" in jump.description
    # The held models keep their published prices; the ordinary change and the removal publish.
    published = store.published_records("openrouter")
    for model_id in OFFENDERS:
        assert published[model_id].price_key() == before[model_id].price_key(), model_id
    assert published[BENIGN].input_usd_per_mtok == Decimal("0.825")
    assert REMOVED not in published
    assert held_models(result, store) == OFFENDERS
    row = store.sync_row(result.run_id)
    assert (row["status"], row["models_held"], row["models_changed"], row["models_removed"]) == ("success", 3, 1, 1)
    held_log = [c for c in store.changes("openrouter") if c["kind"] == "held"]
    assert {c["model_id"] for c in held_log} == OFFENDERS
    assert {(c["decided_by"], c["run_id"]) for c in held_log} == {("price_guard", result.run_id)}
    [event] = published_in(result)
    metadata = event.event_specific_data.materialization.metadata
    assert metadata["held_after_publish"].value == 3 and metadata["oldest_hold_after_publish"].value > 0
    assert "held" not in metadata  # the overview shows it after an accept too: it says when it was true
    assert isinstance(metadata["oldest_hold_after_publish"], TimestampMetadataValue)  # the UI shows a date, not seconds

    # prices.json tells the gateway which live prices are under review
    assert sync_defs.resolve_job_def("price_feeds_job").execute_in_process(instance=dagster_instance).success
    feed = json.loads((Path(settings().feeds_directory()) / "prices.json").read_text())["providers"]["openrouter"]
    assert feed[TIMES_1000]["held"]["rule"] == "price_jump" and "x1000" in feed[TIMES_1000]["held"]["reason"]
    assert feed[TIMES_1000]["components"] == json.loads(json.dumps(
        [c.to_json() for c in published[TIMES_1000].components()]))
    assert feed[BENIGN]["held"] is None and feed[BENIGN]["last_change"]["kind"] == "changed"


def test_half_the_models_missing_blocks_and_nothing_is_published(openrouter_models_only, replay, upstream, payloads, run_sync, store):
    assert run_sync("openrouter").success
    before = db_state(store, "openrouter")
    payload = payloads.models_only("openrouter")
    payload["data"] = payload["data"][: len(payload["data"]) // 2 - 1]  # a truncated response
    upstream.serve("/openrouter", json.dumps(payload))
    result = run_sync("openrouter")
    assert not result.success
    failed = {name for name, e in evaluations(result).items() if not e.passed}
    assert failed == {"normalized_prices_model_count"}  # cannot be judged per model: the snapshot blocks
    assert not published_in(result)
    assert db_state(store, "openrouter") == before


def test_override_publishes_exactly_the_accepted_changes_with_the_audit_trail(
    openrouter_models_only, replay, upstream, payloads, run_sync, store
):
    assert run_sync("openrouter").success
    upstream.serve("/openrouter", incident_payload(payloads))

    # Accepting two of the three: those two publish, the third stays held.
    partial = run_sync(
        "openrouter",
        run_config=override(accept_models=[TIMES_1000, TO_ZERO], reason="checked", accepted_by="jane"),
    )
    assert partial.success
    assert {n for n, e in evaluations(partial).items() if not e.passed} == {"price_guard_price_bounds", "price_guard_price_jump"}
    assert evaluations(partial)["price_guard_zero_transition"].metadata["accepted_models"].value == 1
    assert held_models(partial, store) == {PER_MTOK_IN_PER_TOKEN_FIELD}
    published = store.published_records("openrouter")
    assert published[TO_ZERO].input_usd_per_mtok == 0
    assert published[TIMES_1000].output_usd_per_mtok == 400

    reason = "OpenRouter repriced this model on purpose (support ticket 4711)"
    result = run_sync(
        "openrouter",
        run_config=override(accept_models=[PER_MTOK_IN_PER_TOKEN_FIELD, "not/offending"], reason=reason, accepted_by="jane.doe"),
    )
    assert result.success
    checks = evaluations(result)
    assert all(checks[name].passed for name in GUARD_CHECKS)
    assert checks["price_guard_price_jump"].metadata["accepted_models"].value == 1
    assert checks["price_guard_price_jump"].metadata["accept_reason"].value == reason
    assert "| accepted |" in checks["price_guard_price_jump"].metadata["held"].value
    assert store.published_records("openrouter")[PER_MTOK_IN_PER_TOKEN_FIELD].input_usd_per_mtok == 5_000_000
    assert held_models(result, store) == set()

    changes = [c for c in store.changes("openrouter") if c["kind"] in ("added", "changed", "removed")]
    by_run = {}
    for change in changes:
        by_run.setdefault(change["run_id"], {})[change["model_id"]] = change
    assert set(by_run[partial.run_id]) == {TIMES_1000, TO_ZERO, BENIGN, REMOVED}
    assert (by_run[partial.run_id][TO_ZERO]["accepted_by"], by_run[partial.run_id][BENIGN]["accepted_by"]) == ("jane", None)
    [accepted] = by_run[result.run_id].values()
    assert (accepted["model_id"], accepted["accepted_by"], accepted["accept_reason"]) == (
        PER_MTOK_IN_PER_TOKEN_FIELD, "jane.doe", reason)
    [event] = published_in(result)
    assert event.event_specific_data.materialization.metadata["accepted_changes"].value == 1


def test_an_override_without_a_reason_is_refused(openrouter_models_only, replay, upstream, payloads, run_sync, store):
    assert run_sync("openrouter").success
    before = db_state(store, "openrouter")
    upstream.serve("/openrouter", incident_payload(payloads))
    result = run_sync("openrouter", run_config=override(accept_all=True, accepted_by="jane"))
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "has no reason" in str(failure.event_specific_data.error)
    assert db_state(store, "openrouter") == before
    assert store.sync_row(result.run_id)["error_type"] == "configuration"


def test_accept_all_marks_every_change_of_the_run(openrouter_models_only, replay, upstream, payloads, run_sync, store):
    assert run_sync("openrouter").success
    upstream.serve("/openrouter", incident_payload(payloads))
    result = run_sync(
        "openrouter", run_config=override(accept_all=True, reason="bulk repricing", accepted_by="ops")
    )
    assert result.success
    changes = [c for c in store.changes("openrouter") if c["run_id"] == result.run_id]
    assert {c["model_id"] for c in changes} == OFFENDERS | {BENIGN, REMOVED}
    assert {(c["accepted_by"], c["accept_reason"]) for c in changes} == {("ops", "bulk repricing")}
    assert held_models(result, store) == set()


def test_the_real_models_dev_day_over_day_change_is_published(replay, upstream, run_sync, store):
    upstream.serve_file("/modelsdev", recording(MODELSDEV_DAY1))
    first = run_sync("modelsdev")
    assert first.success
    assert all(evaluations(first)[name].passed for name in GUARD_CHECKS)
    upstream.serve_file("/modelsdev", recording(MODELSDEV_DAY2))
    second = run_sync("modelsdev")
    assert second.success
    checks = evaluations(second)
    assert all(checks[name].passed for name in GUARD_CHECKS)
    assert sum(checks[name].metadata["flagged_models"].value for name in GUARD_CHECKS) == 0
    changes = [c for c in store.changes("modelsdev") if c["run_id"] == second.run_id]
    kinds = {kind: sum(c["kind"] == kind for c in changes) for kind in ("added", "changed", "removed")}
    assert kinds == {"added": 16, "changed": 10, "removed": 28}
    assert all(c["accepted_by"] is None for c in changes)
    published = store.published_records("modelsdev")
    for groq in ("groq/whisper-large-v3", "groq/groq/compound", "groq/canopylabs/orpheus-v1-english"):
        assert all(value is None for value in published[groq].prices().values()), groq  # unknown, not 0
    [old, new] = store.history("modelsdev", "groq/groq/compound")  # a chat model listed at 0 (whisper never free)
    assert old.record.input_usd_per_mtok == 0 and new.record.input_usd_per_mtok is None


def test_the_real_litellm_unit_mistakes_are_reported_but_do_not_block_the_reference_catalog(
    replay, run_sync, store
):
    """LiteLLM is a reference catalog: its 16 real unit mistakes are shown as a warning (and in
    the cross-source report), while the rest of the catalog is published."""
    first = run_sync("litellm")
    assert first.success
    bounds = evaluations(first)["price_guard_price_bounds"]
    assert not bounds.passed and bounds.severity.value == "WARN"
    assert bounds.metadata["flagged_models"].value == len(LITELLM_UNIT_MISTAKES)
    assert bounds.metadata["held_models"].value == 0
    assert "`wandb/openai/gpt-oss-120b` | input 15000 $/1M above 1000; output 60000 $/1M above 1000" in (
        bounds.metadata["warnings"].value
    )
    assert len(store.published_records("litellm")) > 2900
    assert store.held("litellm") == []
    # the next sync lists the same prices: they are still live, so the warning stands
    again = evaluations(run_sync("litellm"))["price_guard_price_bounds"]
    assert not again.passed and again.metadata["flagged_models"].value == len(LITELLM_UNIT_MISTAKES)


def test_a_sudden_unit_change_in_a_reference_catalog_is_still_held(replay, upstream, run_sync, store):
    assert run_sync("litellm").success
    before = store.published_records("litellm")["gpt-4o"]
    payload = json.loads(recording("litellm_model_prices_and_context_window_2026-08-01.json").read_bytes())
    payload["gpt-4o"]["input_cost_per_token"] *= 1000
    payload["gpt-4o-mini"]["input_cost_per_token"] *= 1.5  # an ordinary change beside it
    upstream.serve("/litellm", json.dumps(payload))
    result = run_sync("litellm")
    assert result.success
    jump = evaluations(result)["price_guard_price_jump"]
    assert not jump.passed and jump.metadata["held_models"].value == 1
    assert "`gpt-4o`" in jump.metadata["held"].value
    published = store.published_records("litellm")
    assert published["gpt-4o"].price_key() == before.price_key()
    assert [c["model_id"] for c in store.changes("litellm") if c["kind"] == "changed"] == ["gpt-4o-mini"]


def test_the_override_is_optional_launchpad_config_of_the_sync_job(sync_defs):
    from dagster import validate_run_config

    from pricing_pipeline.defs.sync.jobs import SYNC_JOB_NAME

    job = sync_defs.resolve_job_def(SYNC_JOB_NAME)
    field = job.run_config_schema.config_type.fields["resources"].config_type.fields["price_guard_override"]
    assert not field.is_required  # schedules and the CLI launch with no config at all
    assert set(field.config_type.fields["config"].config_type.fields) == {
        "accept_models",
        "accept_all",
        "reason",
        "accepted_by",
    }
    resolved = validate_run_config(job, {})["resources"]["price_guard_override"]["config"]
    assert resolved == {"accept_models": [], "accept_all": False, "reason": "", "accepted_by": ""}
    assert validate_run_config(job, override(accept_models=["m"], reason="r", accepted_by="a"))
