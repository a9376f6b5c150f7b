"""The price guard in the real sync job: real recordings served over HTTP, mutated the way
real incidents looked; what is (not) published is read back from the database, on SQLite
and PostgreSQL."""

import json

from pricing_pipeline.defs.guard.checks import check_name
from pricing_pipeline.pricing.guard import RULES
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
    payload = payloads.get("openrouter")
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


def test_incidents_block_and_nothing_is_published(replay, upstream, payloads, run_sync, store):
    assert run_sync("openrouter").success
    before = db_state(store, "openrouter")

    upstream.serve("/openrouter", incident_payload(payloads))
    result = run_sync("openrouter")

    assert not result.success
    checks = evaluations(result)
    failed = {name for name, e in checks.items() if not e.passed}
    assert failed == {"price_guard_price_jump", "price_guard_zero_transition", "price_guard_price_bounds"}
    assert checks["price_guard_new_model_structure"].passed
    jump = checks["price_guard_price_jump"]
    assert jump.metadata["offending_models"].value == 2 and jump.metadata["blocking_models"].value == 2
    table = jump.metadata["offenders"].value
    assert f"`{TIMES_1000}` | output 0.4 → 400 $/1M (up x1000) | **blocking**" in table
    assert f"`{PER_MTOK_IN_PER_TOKEN_FIELD}` | input 5 → 5000000 $/1M (up x1000000)" in table
    assert "accept_models" in jump.description
    assert checks["price_guard_zero_transition"].metadata["offending_models"].value == 1
    assert checks["price_guard_price_bounds"].metadata["offending_models"].value == 1
    # Blocked: published_prices never ran, the database is exactly as before.
    assert not published_in(result)
    assert db_state(store, "openrouter") == before
    assert store.published_records("openrouter")[TO_ZERO].input_usd_per_mtok == 2.5
    row = store.sync_row(result.run_id)
    assert (row["status"], row["error_type"]) == ("blocked", "check_blocked")


def test_half_the_models_missing_blocks_and_nothing_is_published(replay, upstream, payloads, run_sync, store):
    assert run_sync("openrouter").success
    before = db_state(store, "openrouter")
    payload = payloads.get("openrouter")
    payload["data"] = payload["data"][: len(payload["data"]) // 2 - 1]  # a truncated response
    upstream.serve("/openrouter", json.dumps(payload))
    result = run_sync("openrouter")
    assert not result.success
    failed = {name for name, e in evaluations(result).items() if not e.passed}
    # the count floor and the guard's mass-change rule both see it
    assert failed == {"normalized_prices_model_count", "price_guard_mass_change"}
    assert not published_in(result)
    assert db_state(store, "openrouter") == before


def test_override_publishes_exactly_the_accepted_changes_with_the_audit_trail(
    replay, upstream, payloads, run_sync, store
):
    assert run_sync("openrouter").success
    before = db_state(store, "openrouter")
    upstream.serve("/openrouter", incident_payload(payloads))

    # Accepting two of the three offenders is not enough: nothing is published.
    partial = run_sync(
        "openrouter",
        run_config=override(accept_models=[TIMES_1000, TO_ZERO], reason="checked", accepted_by="jane"),
    )
    assert not partial.success
    assert {n for n, e in evaluations(partial).items() if not e.passed} == {"price_guard_price_bounds", "price_guard_price_jump"}
    assert evaluations(partial)["price_guard_zero_transition"].metadata["accepted_models"].value == 1
    assert db_state(store, "openrouter") == before

    reason = "OpenRouter repriced these three models on purpose (support ticket 4711)"
    result = run_sync(
        "openrouter",
        run_config=override(accept_models=sorted(OFFENDERS) + ["not/offending"], reason=reason, accepted_by="jane.doe"),
    )
    assert result.success
    checks = evaluations(result)
    assert all(checks[name].passed for name in GUARD_CHECKS)
    assert checks["price_guard_price_jump"].metadata["accepted_models"].value == 2
    assert checks["price_guard_price_jump"].metadata["accept_reason"].value == reason
    assert "| accepted |" in checks["price_guard_price_jump"].metadata["offenders"].value

    published = store.published_records("openrouter")
    assert published[PER_MTOK_IN_PER_TOKEN_FIELD].input_usd_per_mtok == 5_000_000
    assert published[TO_ZERO].input_usd_per_mtok == 0
    assert REMOVED not in published
    new_changes = store.changes("openrouter")[len(before[2]) :]
    by_model = {c["model_id"]: c for c in new_changes}
    assert set(by_model) == OFFENDERS | {BENIGN, REMOVED}
    for change in new_changes:
        assert change["run_id"] == result.run_id
        if change["model_id"] in OFFENDERS:
            assert (change["accepted_by"], change["accept_reason"]) == ("jane.doe", reason)
        else:  # ordinary changes were not flagged, so nobody had to accept them
            assert (change["accepted_by"], change["accept_reason"]) == (None, None)
    assert by_model[REMOVED]["kind"] == "removed"
    [event] = published_in(result)
    assert event.event_specific_data.materialization.metadata["accepted_changes"].value == 3


def test_an_override_without_a_reason_is_refused(replay, upstream, payloads, run_sync, store):
    assert run_sync("openrouter").success
    before = db_state(store, "openrouter")
    upstream.serve("/openrouter", incident_payload(payloads))
    result = run_sync("openrouter", run_config=override(accept_all=True, accepted_by="jane"))
    assert not result.success
    checks = evaluations(result)
    assert {n for n, e in checks.items() if not e.passed} == GUARD_CHECKS  # every guard check refuses it
    assert "has no reason" in checks["price_guard_price_jump"].description
    assert db_state(store, "openrouter") == before


def test_accept_all_marks_every_change_of_the_run(replay, upstream, payloads, run_sync, store):
    assert run_sync("openrouter").success
    upstream.serve("/openrouter", incident_payload(payloads))
    result = run_sync(
        "openrouter", run_config=override(accept_all=True, reason="bulk repricing", accepted_by="ops")
    )
    assert result.success
    changes = [c for c in store.changes("openrouter") if c["run_id"] == result.run_id]
    assert {c["model_id"] for c in changes} == OFFENDERS | {BENIGN, REMOVED}
    assert {(c["accepted_by"], c["accept_reason"]) for c in changes} == {("ops", "bulk repricing")}


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
    assert sum(checks[name].metadata["offending_models"].value for name in GUARD_CHECKS) == 0
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
    assert bounds.metadata["offending_models"].value == len(LITELLM_UNIT_MISTAKES)
    assert "`wandb/openai/gpt-oss-120b` | input 15000 $/1M above 1000; output 60000 $/1M above 1000" in (
        bounds.metadata["offenders"].value
    )
    assert len(store.published_records("litellm")) > 2900


def test_a_sudden_unit_change_in_a_reference_catalog_still_blocks(replay, upstream, run_sync, store):
    assert run_sync("litellm").success
    before = db_state(store, "litellm")
    payload = json.loads(recording("litellm_model_prices_and_context_window_2026-08-01.json").read_bytes())
    payload["gpt-4o"]["input_cost_per_token"] *= 1000
    upstream.serve("/litellm", json.dumps(payload))
    blocked = run_sync("litellm")
    assert not blocked.success
    jump = evaluations(blocked)["price_guard_price_jump"]
    assert not jump.passed and jump.severity.value == "ERROR"
    assert "`gpt-4o`" in jump.metadata["offenders"].value
    assert db_state(store, "litellm") == before


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
