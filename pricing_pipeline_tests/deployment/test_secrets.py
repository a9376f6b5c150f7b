"""A canary API key through every path a key can leak by, in the production topology: an
upstream answering 200 with a non-JSON body that echoes it, a 401 whose error body echoes it,
and a connection error with the key in the URL. Afterwards the canary is nowhere: not in a
dump of either PostgreSQL database (Dagster's event log and run storage, the pricing
database with its sync log and archived bodies), the compute logs and files under
DAGSTER_HOME, the processes' logs, the Pushgateway, or what GraphQL serves the UI."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import sqlalchemy as sa
from dagster import DagsterRunStatus

from pricing_pipeline_tests.conftest import POSTGRES_ADMIN_URL
from pricing_pipeline_tests.deployment.test_ui_launch_paths import materialize_from_catalog
from pricing_pipeline_tests.metrics.conftest import free_port

CANARY = f"canary{uuid.uuid4().hex}"

RUN_LOGS = """
query Logs($runId: ID!) {
  logsForRun(runId: $runId) {
    __typename
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message }
        ... on ExecutionStepFailureEvent { error { message stack causes { message } } failureMetadata { metadataEntries { label } } }
        ... on RunFailureEvent { error { message } }
        ... on MaterializationEvent { metadataEntries { label ... on TextMetadataEntry { text } ... on MarkdownMetadataEntry { mdStr } } }
      }
    }
  }
  runOrError(runId: $runId) { ... on Run { tags { key value } runConfigYaml } }
}"""


def pg_dump(database: str) -> str:
    url = sa.engine.make_url(POSTGRES_ADMIN_URL)
    return subprocess.run(
        ["pg_dump", "-h", url.host, "-p", str(url.port or 5432), "-U", url.username, database],
        capture_output=True, text=True, check=True,
    ).stdout


def files_under(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def test_a_canary_key_is_found_nowhere(deployment):
    for name in ("OPENROUTER_API_KEY", "TOGETHER_API_KEY", "NOVITA_API_KEY"):
        deployment.env[name] = CANARY
    deployment.upstream.serve("/together", f"<html>Invalid key {CANARY}</html>", status=200)
    deployment.upstream.serve("/novita", json.dumps({"error": f"key {CANARY} is not valid"}), status=401)
    deployment.env["PRICING_OPENROUTER_URL"] = f"http://127.0.0.1:{free_port()}/api/v1/models?key={CANARY}"
    deployment.start_webserver()
    deployment.start_daemon()
    deployment.wait_for_daemon_heartbeat()

    run_ids = [materialize_from_catalog(deployment, p) for p in ("together", "novita", "openrouter")]
    runs = deployment.wait_for_runs(run_ids)
    assert all(run.status == DagsterRunStatus.FAILURE for run in runs.values())
    deployment._wait(
        lambda: deployment.pushgateway.value("pricing_manual_sync_runs_total", provider="openrouter", status="failure") == 1,
        90, "the failures to be pushed",
    )
    # the keys did reach the upstream (the test would see a leak) and were redacted on the way back
    assert any(r.headers.get("Authorization") == f"Bearer {CANARY}" for r in deployment.upstream.requests)
    store = deployment.store()
    together = store.sync_row(run_ids[0])
    assert together["error_type"] == "invalid_response" and "[redacted]" in together["error"]
    store.dispose()

    graphql = json.dumps([deployment.graphql(RUN_LOGS, runId=run_id) for run_id in run_ids])
    assert "Invalid key [redacted]" in graphql  # the echoed body, as the UI shows it
    places = {
        "Dagster storage (pg_dump)": pg_dump(deployment.databases[0]),
        "pricing database (pg_dump)": pg_dump(deployment.databases[1]),
        "DAGSTER_HOME (compute logs)": files_under(deployment.home).decode(errors="replace"),
        "webserver and daemon logs": files_under(deployment.tmp).decode(errors="replace"),
        "Pushgateway": deployment.pushgateway.exposition(),
        "GraphQL": graphql,
    }
    assert "compute_logs" in " ".join(str(p) for p in deployment.home.rglob("*"))
    assert {place: CANARY in text for place, text in places.items()} == {place: False for place in places}
