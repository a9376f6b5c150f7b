"""The failed attempt is visible (issue 31): each failed fetch attempt's event names the URL
tried (credentials and query string removed), the error type and the attempt number, and is
the fetch check's failed result (drawn as a failure), never mixed with an old success's URL."""

from __future__ import annotations

from pricing_pipeline.providers.registry import get_adapter


def observations(result):
    return [
        e.event_specific_data.asset_observation for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"
    ]


def test_each_failed_fetch_attempt_names_the_url_tried_the_error_type_and_the_attempt(replay, run_sync, monkeypatch):
    path = replay.serve("/vercel-down", b'{"error": "upstream down"}', status=500)
    secret_url = path.replace("http://", "http://user:hunter2@") + "?api_key=hunter2"
    monkeypatch.setenv(get_adapter("vercel").url_env, secret_url)
    result = run_sync("vercel")
    assert not result.success
    attempts = [o for o in observations(result) if o.metadata.get("stage") and o.metadata["stage"].value == "fetch"]
    assert [o.metadata["attempt"].value for o in attempts] == [1, 2]  # PRICING_RETRY_MAX=1 in the tests
    public = path  # no credentials, no query string
    for observation in attempts:
        assert observation.metadata["url"].value == public
        assert observation.metadata["error_type"].value == "http_5xx"
        assert f"GET {public}:" in observation.description and "hunter2" not in observation.description
    checks = [e for e in result.get_asset_check_evaluations() if e.check_name == "raw_price_snapshot_fetch"]
    assert [c.metadata["attempt"].value for c in checks] == [1, 2]  # one failed result per attempt
    check = checks[-1]
    assert not check.passed and check.severity.value == "ERROR" and check.partition == "vercel"
    assert check.description.startswith(f"vercel: fetch attempt 2 failed (http_5xx): GET {public}: ")
    assert check.metadata["url"].value == public and check.metadata["attempt"].value == 2
    assert "hunter2" not in str(check.metadata)


def test_a_fetch_that_succeeds_passes_its_check_with_the_attempt(replay, run_sync):
    result = run_sync("vercel")
    assert result.success
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == "raw_price_snapshot_fetch"]
    assert check.passed and check.metadata["attempt"].value == 1
    [materialization] = [
        e.event_specific_data.materialization for e in result.get_asset_materialization_events()
        if e.event_specific_data.materialization.asset_key.path == ["raw_price_snapshot"]
    ]
    assert materialization.metadata["attempt"].value == 1
