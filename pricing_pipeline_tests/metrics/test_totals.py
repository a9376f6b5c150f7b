"""The totals kept in the instance: each heartbeat reads only what is new, and what it adds up
to is what a recomputation from the whole history gives, across restarts, without counting
anything twice."""

from __future__ import annotations

from dagster._core.test_utils import create_run_for_test

from pricing_pipeline.defs.metrics import totals
from pricing_pipeline.defs.metrics.derivation import collect_state


def comparable(state):
    return (
        state.runs_total, state.errors_total, state.last_attempt, state.usage, state.last_publish,
        {p: (h.counts, h.total) for p, h in state.scheduled_duration.items()},
        {p: (h.counts, h.total) for p, h in state.request_duration.items()},
        {p: (h.counts, h.total) for p, h in state.database_duration.items()},
        state.timeouts_total, state.update_errors_total,
    )


def failed_run(instance, provider: str):
    run = create_run_for_test(instance, job_name="price_sync_job", tags={"dagster/partition": provider})
    instance.report_run_failed(run, "run worker exited unexpectedly")
    return run


def test_heartbeats_read_only_what_is_new_and_agree_with_a_full_recomputation(replay, sync, instance):
    assert sync("chutes").success
    first = collect_state(instance)
    assert first.runs_read == 1 and "chutes" in first.last_publish  # the events: read by the run's own hook
    again = collect_state(instance)
    assert (again.runs_read, again.events_read) == (0, 0)
    assert comparable(again) == comparable(first)

    replay.serve("/chutes", b"not json")
    assert not sync("chutes").success
    assert sync("novita").success
    failed_run(instance, "litellm")
    later = collect_state(instance)
    assert later.runs_read >= 2  # the chutes failure may already be counted by novita's own hook
    assert later.runs_total[("manual", "chutes", "success")] == 1
    assert later.runs_total[("manual", "chutes", "failure")] == 1
    assert later.runs_total[("manual", "litellm", "failure")] == 1
    assert comparable(later) == comparable(collect_state(instance, incremental=False, write_back=False))


def test_a_restarted_process_carries_on_from_the_kept_totals(instance):
    failed_run(instance, "chutes")
    collect_state(instance)
    stored = instance.run_storage.get_cursor_values({totals.STORAGE_KEY})[totals.STORAGE_KEY]
    kept = totals.Totals.from_json(stored)
    assert kept.runs_total[("manual", "chutes", "failure")] == 1 and kept.cursors["failure"] > 0
    # A new process has nothing in memory: only the instance.
    failed_run(instance, "chutes")
    state = collect_state(instance)
    assert state.runs_read == 1 and state.runs_total[("manual", "chutes", "failure")] == 2


def test_totals_that_do_not_fit_the_code_or_are_a_day_old_are_recomputed(instance, monkeypatch):
    failed_run(instance, "chutes")
    state = collect_state(instance, now=1_000_000.0)
    assert state.runs_read == 1
    assert collect_state(instance, now=1_000_000.0 + totals.FULL_RECOMPUTE_SECONDS - 1).runs_read == 0
    assert collect_state(instance, now=1_000_000.0 + totals.FULL_RECOMPUTE_SECONDS + 1).runs_read == 1  # the daily check
    monkeypatch.setattr(totals, "ERROR_TYPES", (*totals.ERROR_TYPES, "new_error_class"))
    rebuilt = collect_state(instance, now=1_000_000.0 + totals.FULL_RECOMPUTE_SECONDS + 2)
    assert rebuilt.runs_read == 1 and rebuilt.runs_total[("manual", "chutes", "failure")] == 1


def test_a_run_whose_status_lags_its_end_event_is_counted_next_time(instance, monkeypatch):
    run = failed_run(instance, "chutes")
    real = instance.get_run_records

    def before_the_status_update(*args, **kwargs):
        records = real(*args, **kwargs)
        return [r._replace(dagster_run=r.dagster_run.with_status(r.dagster_run.status.STARTED))
                if r.dagster_run.run_id == run.run_id else r for r in records]

    monkeypatch.setattr(instance, "get_run_records", before_the_status_update)
    assert collect_state(instance).runs_total[("manual", "chutes", "failure")] == 0
    monkeypatch.undo()
    state = collect_state(instance)
    assert state.runs_read == 1 and state.runs_total[("manual", "chutes", "failure")] == 1


def test_stale_totals_from_a_slower_process_never_replace_newer_ones(instance):
    failed_run(instance, "chutes")
    slow = totals.load(instance, now=0.0)  # read before the other process advanced
    collect_state(instance, now=1.0)
    assert not totals.save(instance, slow)
    kept = totals.Totals.from_json(instance.run_storage.get_cursor_values({totals.STORAGE_KEY})[totals.STORAGE_KEY])
    assert kept.runs_total[("manual", "chutes", "failure")] == 1


def test_a_canceled_run_is_read_from_its_own_end_event(instance):
    run = create_run_for_test(instance, job_name="price_sync_job", tags={"dagster/partition": "vercel"})
    instance.report_run_canceled(run)
    state = collect_state(instance)
    assert state.runs_read == 1 and state.runs_total[("manual", "vercel", "canceled")] == 1
    assert totals.load(instance, now=state.computed_at).cursors["canceled"] > 0
