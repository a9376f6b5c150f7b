"""pricing_feeds_written_timestamp_seconds: the time of the newest successful ``price_feeds``
materialization, read afresh from the instance. A feeds run that fails (the feeds volume full)
leaves the gauge where it was, as it leaves the old feed files."""

from __future__ import annotations

import errno
from pathlib import Path

from dagster import DagsterEventType, materialize
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pricing_pipeline.defs.feeds.assets import LITELLM_FEED, PRICES_FEED, price_feeds
from pricing_pipeline.defs.feeds.resources import FeedsOutput
from pricing_pipeline.defs.metrics.derivation import collect_state
from pricing_pipeline.defs.metrics.exposition import FEEDS_METRIC, state_registry
from pricing_pipeline.defs.sync.resources import PricingDatabase
from pricing_pipeline_tests.metrics.conftest import promtool_check


class FullVolume(FeedsOutput):
    """The feeds folder on a volume with no space left: every write fails as the OS says so."""

    def write_atomically(self, name: str, data: bytes) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(Path(self.directory) / name))


def write_feeds(instance, sqlite_url: str, feeds: FeedsOutput):
    result = materialize([price_feeds], instance=instance, raise_on_error=False,
                         resources={"pricing_db": PricingDatabase(url=sqlite_url), "feeds": feeds})
    records = instance.get_records_for_run(result.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    return result, [r.event_log_entry.timestamp for r in records]


def exported(state) -> dict[str, float]:
    text = generate_latest(state_registry(state)).decode()
    return {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == FEEDS_METRIC}


def test_a_successful_feeds_run_sets_the_gauge_and_a_failed_one_leaves_it(dagster_instance, sqlite_url, tmp_path):
    folder = tmp_path / "feeds"
    # never written: no gauge (the alert tells "never written" from "behind" by its absence)
    state = collect_state(dagster_instance)
    assert state.feeds_written_at is None
    assert exported(state) == {}

    first, [first_at] = write_feeds(dagster_instance, sqlite_url, FeedsOutput(directory=str(folder)))
    assert first.success
    state = collect_state(dagster_instance)
    assert state.feeds_written_at == first_at
    assert exported(state) == {FEEDS_METRIC: first_at}
    result = promtool_check(generate_latest(state_registry(state)).decode())
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
    files = {name: (folder / name).read_bytes() for name in (PRICES_FEED, LITELLM_FEED)}

    # The feeds volume is full: the run fails, records no materialization, the files stay.
    failed, materialized = write_feeds(dagster_instance, sqlite_url, FullVolume(directory=str(folder)))
    assert not failed.success and materialized == []
    assert "No space left on device" in str(failed.get_step_failure_events()[0].step_failure_data.error)
    assert {name: (folder / name).read_bytes() for name in files} == files
    state = collect_state(dagster_instance)
    assert state.feeds_written_at == first_at
    assert exported(state) == {FEEDS_METRIC: first_at}

    # Space freed, the feeds written again: the gauge moves on to that run's materialization.
    again, [again_at] = write_feeds(dagster_instance, sqlite_url, FeedsOutput(directory=str(folder)))
    assert again.success and again_at > first_at
    assert collect_state(dagster_instance).feeds_written_at == again_at
