"""The change watcher's tick against a real local upstream, a real pricing database and a
Dagster instance: the runs it asks for are executed as the daemon would launch them."""

from __future__ import annotations

import json
from copy import deepcopy

import pytest

from pricing_pipeline_tests.recordings import REPLAY_DETAILS, REPLAY_FILES


def together_body(price_changes: dict[str, dict] | None = None) -> bytes:
    """Together's recorded list, with ``{model_id: {pricing key: value}}`` changed."""
    models = json.loads(REPLAY_FILES["together"].read_bytes())
    models = deepcopy(models)
    for entry in models:
        entry["pricing"].update((price_changes or {}).get(entry["id"], {}))
    return json.dumps(models).encode()


def endpoints_body(model_id: str, tag: str, prompt: str) -> bytes:
    """A model's recorded endpoint list with one endpoint's prompt price changed."""
    folder, _ = REPLAY_DETAILS["openrouter"]
    body = json.loads((folder / f"{model_id}.json").read_bytes())
    for endpoint in body["data"]["endpoints"]:
        if endpoint["tag"] == tag:
            endpoint["pricing"]["prompt"] = prompt
    return json.dumps(body).encode()


class Watcher:
    """Ticks of one provider's watcher, and the runs they ask for, executed in process."""

    def __init__(self, defs, instance, db_url):
        from pricing_pipeline.defs.sync.jobs import SYNC_JOB_NAME
        from pricing_pipeline.defs.sync.resources import UpstreamApi
        from pricing_pipeline.store import PricingStore

        self.job = defs.resolve_job_def(SYNC_JOB_NAME)
        self.instance = instance
        self.store = PricingStore(db_url)
        self.store.migrate()  # as the sensor's PricingDatabase resource does when it is set up
        self.upstream = UpstreamApi(timeout_seconds=5, connect_timeout_seconds=2)

    def tick(self, provider: str, now: float | None = None):
        from pricing_pipeline.defs.watch.poll import tick
        from pricing_pipeline.providers.registry import get_adapter
        from pricing_pipeline.settings import settings

        return tick(self.instance, self.store, self.upstream, get_adapter(provider), settings(), now=now)

    def state(self, provider: str):
        from pricing_pipeline.defs.upstream_state import load

        return load(self.instance, provider)

    def launch(self, request):
        """The run a tick asked for, as the daemon launches it (its partition and tags)."""
        result = self.job.execute_in_process(
            partition_key=request.partition_key, tags=request.tags, instance=self.instance, raise_on_error=False
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        return result

    def sync(self, provider: str):
        result = self.job.execute_in_process(partition_key=provider, instance=self.instance, raise_on_error=False,
                                             tags={"pricing/trigger": "schedule"})
        assert result.success
        return result


@pytest.fixture
def watcher(replay, sqlite_url, dagster_instance):
    from pricing_pipeline.definitions import build_definitions
    from pricing_pipeline.defs.sync.resources import PricingDatabase, UpstreamApi

    defs = build_definitions({"pricing_db": PricingDatabase(url=sqlite_url),
                              "upstream": UpstreamApi(timeout_seconds=5, connect_timeout_seconds=2)})
    watcher = Watcher(defs, dagster_instance, sqlite_url)
    yield watcher
    watcher.store.dispose()
