"""The change watcher under a real `dagster-daemon` (PostgreSQL instance, the shipped
dagster.yaml, a real Pushgateway) against the local upstream: first syncs, the hourly budget,
an unchanged upstream that launches nothing, a 304, a change published by the run it asks for,
a change the guard holds, and an upstream error that stops no other provider's watching."""

from __future__ import annotations

import re
import socket
import time
from collections import defaultdict

from dagster import AssetRecordsFilter, DagsterRunStatus, RunsFilter

from pricing_pipeline.defs import upstream_state
from pricing_pipeline.defs.runs import PUBLISHED_KEY, SYNC_JOB_NAME, WATCH_KEY_TAG
from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline_tests.watch.conftest import together_body

UNREACHABLE = ("openrouter", "vercel", "modelsdev", "litellm")
SERVED = [p for p in PROVIDER_NAMES if p not in UNREACHABLE]

INTERVAL = 4
BUDGET = 1000
# chutes' own budget: spent after a few polls, while the others stay well within theirs
CHUTES_BUDGET = 8
MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
JUMPED = "Qwen/Qwen2.5-72B-Instruct-Turbo"
# waits only: how long the test gives the daemon (a loaded CI machine); the lag is measured in
# benchmarks/change_lag.py
PATIENCE = 240


def test_the_watcher_under_the_daemon(deployment):
    upstream = deployment.upstream
    deployment.env.update(PRICING_WATCH_ENABLED="true", PRICING_WATCH_INTERVAL_SECONDS=str(INTERVAL),
                          PRICING_WATCH_MAX_REQUESTS_PER_HOUR=str(BUDGET),
                          PRICING_CHUTES_WATCH_MAX_REQUESTS_PER_HOUR=str(CHUTES_BUDGET),
                          # every sync run here is the watcher's (a six-hourly tick could fall in the test)
                          PRICING_SYNC_CRON="0 0 1 1 *")
    # Four providers served; the other four (the big lists, parsed at every poll) unreachable:
    # their watchers record errors, which stop no other provider's watching.
    for provider in UNREACHABLE:
        deployment.env[f"PRICING_{provider.upper()}_URL"] = f"http://127.0.0.1:{closed_port()}/models"
    # deepinfra's API honours conditional requests here
    upstream.serve("/deepinfra", upstream.routes["/deepinfra"].body,
                   headers={"Content-Type": "application/json", "ETag": '"deepinfra-1"'})
    deployment.start_daemon()
    with deployment.instance() as instance:
        wait = deployment._wait

        def states():
            return upstream_state.load_all(instance, PROVIDER_NAMES)

        def runs(**tags):
            # sync runs only: bill_reconciliation runs after each sync carry the provider partition too
            return instance.get_runs(RunsFilter(job_name=SYNC_JOB_NAME, tags=tags))

        def syncs():  # the feeds job runs after syncs: not the watcher's
            return instance.get_runs(RunsFilter(job_name=SYNC_JOB_NAME))

        # 1. nothing published yet: every watcher asks for its provider's first sync
        wait(lambda: all(_published(instance, p) for p in SERVED), PATIENCE, "every served provider's first publish")
        others = [p for p in SERVED if p != "chutes"]
        # (chutes' budget may be spent before its first sync is through the queue)
        wait(lambda: all(states()[p].verified_at for p in others), PATIENCE, "every provider verified by a poll")
        assert {r.tags["dagster/partition"] for r in runs(**{"pricing/trigger": "watch"})} == set(SERVED)
        assert all(states()[p].polls["error"] > 0 and states()[p].verified_at is None for p in UNREACHABLE)

        # 2. the hourly budget is never exceeded: chutes' is spent, its watcher skips and says so
        wait(lambda: states()["chutes"].skipped_total > 0, PATIENCE, "chutes' budget to run out")
        assert "requests are spent" in states()["chutes"].last_message
        assert len(upstream.requests_to("/chutes")) <= CHUTES_BUDGET  # its first sync's request included

        # 3. unchanged upstream: polls go on, no run is launched
        launched = len(syncs())
        polls = {p: states()[p].polls["unchanged"] for p in others}
        wait(lambda: all(states()[p].polls["unchanged"] >= polls[p] + 2 for p in others), PATIENCE,
             "two more polls of every provider")
        assert len(syncs()) == launched

        # 4. a 304 is honoured: deepinfra's polls send its ETag and read no body
        sent = [r.headers.get("If-None-Match") for r in upstream.requests_to("/deepinfra")]
        assert '"deepinfra-1"' in sent
        assert "304 Not Modified" in states()["deepinfra"].last_message

        # 5. a changed price: one run, asked for by the watcher, publishes it
        store = deployment.store()
        old_jump = store.published_records("together")[JUMPED].input_usd_per_mtok
        before_change = {r.run_id for r in runs(**{"dagster/partition": "together"})}
        upstream.serve("/together", together_body({MODEL: {"input": 0.97}}))
        wait(lambda: str(store.published_records("together")[MODEL].input_usd_per_mtok) == "0.97", PATIENCE,
             "the changed price to be published")
        wait(lambda: states()["together"].pending is None and sum(states()["together"].lag_counts) >= 1, PATIENCE,
             "the change-to-live lag to be recorded")
        changed_runs = [r.run_id for r in runs(**{"dagster/partition": "together"}) if r.run_id not in before_change]
        # this change's: one run key, the watcher's; a run that failed (on a loaded machine, this
        # deployment's 25 s maximum runtime) is asked for again under its key + "-retryN"
        by_key = defaultdict(list)
        for run in deployment.wait_for_runs(changed_runs).values():
            by_key[re.sub(r"-retry\d+$", "", run.tags[WATCH_KEY_TAG])].append(run.status)
        assert len(by_key) == 1, by_key
        assert all(statuses.count(DagsterRunStatus.SUCCESS) == 1
                   and set(statuses) <= {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE}
                   for statuses in by_key.values()), by_key

        # 6. a change the guard flags is held like any other, and not asked for again
        upstream.serve("/together", together_body({MODEL: {"input": 0.97}, JUMPED: {"input": float(old_jump) * 1000}}))
        wait(lambda: JUMPED in {h["model_id"] for h in store.held("together")}, PATIENCE, "the jump to be held")
        assert store.published_records("together")[JUMPED].input_usd_per_mtok == old_jump
        held_runs = len(runs(**{"dagster/partition": "together"}))
        polls = states()["together"].polls["unchanged"]
        wait(lambda: states()["together"].polls["unchanged"] >= polls + 2, PATIENCE, "two polls after the hold")
        assert len(runs(**{"dagster/partition": "together"})) == held_runs

        # 7. one upstream failing stops no other provider's watching
        upstream.serve("/novita", b"unavailable", status=503)
        errors = states()["novita"].polls["error"]
        polls = {p: states()[p].polls["unchanged"] for p in others if p != "novita"}
        wait(lambda: states()["novita"].polls["error"] >= errors + 2, PATIENCE, "novita's polls to fail")
        wait(lambda: all(states()[p].polls["unchanged"] > n for p, n in polls.items()), PATIENCE,
             "every other provider polled meanwhile")
        assert states()["novita"].verified_at < time.time() - INTERVAL
        assert "poll failed (http_5xx)" in states()["novita"].last_message
        for provider in others:  # one request a poll, and one a run: within the hour's budget
            assert len(upstream.requests_to(f"/{provider}")) <= BUDGET
        store.dispose()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _published(instance, provider: str) -> bool:
    result = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=PUBLISHED_KEY, asset_partitions=[provider]), limit=1)
    return bool(result.records)
