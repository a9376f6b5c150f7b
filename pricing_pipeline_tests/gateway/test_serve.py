"""``pricing-pipeline serve``'s endpoints over HTTP (httpx against the real service): the same
JSON as the CLI, the errors and their statuses, and the feeds with their ETags, gzip and 304s,
also while a publish rewrites them."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from pricing_pipeline import cli
from pricing_pipeline.defs.feeds.assets import write_feeds
from pricing_pipeline.defs.feeds.resources import FeedsOutput
from pricing_pipeline.gateway.pricebook import PriceBook
from pricing_pipeline.gateway.serve import create_app
from pricing_pipeline.providers.registry import get_adapter
from pricing_pipeline_tests.gateway.conftest import RunningService, publish_all

MAP = "/v1/feeds/litellm_model_cost_map.json"


def cli_json(capsys, monkeypatch, database_url: str, *argv: str):
    """What ``pricing-pipeline ARGV --format json`` prints, run in this process."""
    monkeypatch.setenv("PRICING_DATABASE_URL", database_url)
    capsys.readouterr()
    assert cli.main([*argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_prices_are_the_clis_json(service, published, capsys, monkeypatch):
    at = datetime.now(UTC).isoformat()
    for query, argv in (
        ({}, []),
        ({"provider": "openrouter"}, ["--provider", "openrouter"]),
        ({"provider": "openrouter", "model": "anthropic/claude-sonnet-4.6"},
         ["--provider", "openrouter", "--model", "anthropic/claude-sonnet-4.6"]),
        ({"model": "anthropic/claude-sonnet-4.6", "at": at}, ["--model", "anthropic/claude-sonnet-4.6", "--at", at]),
        ({"provider": "openrouter", "at": "2001-01-01"}, ["--provider", "openrouter", "--at", "2001-01-01"]),
    ):
        response = httpx.get(f"{service.url}/v1/prices", params=query, timeout=120)
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        ours = response.json()
        assert ours == cli_json(capsys, monkeypatch, published.database_url, "prices", *argv), query
        assert ours or query.get("at") == "2001-01-01"


def test_cost_is_the_clis_json_with_every_argument(service, published, capsys, monkeypatch):
    at = datetime.now(UTC).isoformat()
    body = {"provider": "openrouter", "model": "anthropic/claude-sonnet-4.6", "input_tokens": 300_000,
            "output_tokens": 2_000, "cache_read_tokens": 20_000, "cache_write_tokens": 1_000, "at": at,
            "service_tier": "standard", "region": None, "upstream_provider": None}
    response = httpx.post(f"{service.url}/v1/cost", json=body, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json() == cli_json(
        capsys, monkeypatch, published.database_url, "cost", "--provider", "openrouter", "--model",
        "anthropic/claude-sonnet-4.6", "--input-tokens", "300000", "--output-tokens", "2000",
        "--cache-read-tokens", "20000", "--cache-write-tokens", "1000", "--at", at, "--service-tier", "standard")
    assert {line["component"] for line in response.json()["lines"]} >= {"input", "cache_read", "output"}


def test_errors_are_json_with_the_right_status_and_the_server_goes_on(service, published, payloads):
    ok = {"provider": "openrouter", "model": "anthropic/claude-sonnet-4.6", "input_tokens": 10}
    variable = next(r for r in get_adapter("openrouter").records(payloads.get("openrouter")) if r.variable_pricing)
    cases = [
        ({**ok, "model": "no/such-model"}, 404, "UnknownModel"),
        ({**ok, "provider": "nope"}, 404, "UnknownModel"),
        ({**ok, "input_tokens": -1}, 400, "BadRequest"),
        ({**ok, "input_tokens": 1.5}, 400, "BadRequest"),
        ({**ok, "input_tokens": "10"}, 400, "BadRequest"),
        ({**ok, "input_tokens": True}, 400, "BadRequest"),
        ({**ok, "seconds": "-2"}, 400, "BadRequest"),
        ({**ok, "cache_read_tokens": 11}, 400, "InvalidUsage"),  # more than the input holding it
        ({**ok, "at": "yesterday"}, 400, "BadRequest"),
        ({**ok, "input_token": 10}, 400, "BadRequest"),  # a misspelt key is never ignored
        ({"model": "x"}, 400, "BadRequest"),
        ([1, 2], 400, "BadRequest"),
        ({**ok, "at": "2001-01-01T00:00:00Z"}, 422, "NotListedAt"),
        ({**ok, "service_tier": "batch"}, 422, "ServiceTierUnavailable"),
        ({**ok, "model": variable.model_id}, 422, "VariablePricing"),
        ({**ok, "upstream_provider": "NoSuchCloud"}, 422, "UnknownUpstream"),
    ]
    with httpx.Client(base_url=service.url, timeout=60) as client:
        for body, status, kind in cases:
            response = client.post("/v1/cost", json=body)
            assert (response.status_code, response.json()["error"]) == (status, kind), (body, response.text)
            assert response.json()["message"]
        for content in (b"{not json", b"", b"\xff\xfe", b"[" * 50_000):
            response = client.post("/v1/cost", content=content)
            assert response.status_code == 400 and response.json()["error"] == "BadRequest", content[:10]
        assert client.post("/v1/cost", content=b" " * 70_000).status_code == 413
        assert client.get("/v1/prices", params={"at": "soon"}).status_code == 400
        assert client.get("/v1/prices", params={"provider": "nope"}).status_code == 404
        assert client.get("/v1/feeds/secrets.json").status_code == 404
        assert client.get("/v1/cost").status_code == 405 and client.get("/v1/cost").json()["error"] == "BadRequest"
        assert client.get("/v2/nothing").json()["error"] == "NotFound"
        assert client.post("/v1/cost", json=ok).status_code == 200  # still serving


def test_the_feeds_have_a_strong_etag_gzip_and_304(service, published):
    with httpx.Client(base_url=service.url, timeout=60) as client:
        for name in ("litellm_model_cost_map.json", "prices.json"):
            on_disk = (published.feeds_dir / name).read_bytes()
            plain = client.get(f"/v1/feeds/{name}", headers={"Accept-Encoding": "identity"})
            assert plain.status_code == 200 and plain.content == on_disk and "content-encoding" not in plain.headers
            assert plain.headers["etag"] == f'"{hashlib.sha256(on_disk).hexdigest()}"'
            assert plain.headers["cache-control"] == "public, max-age=60"
            raw = client.build_request("GET", f"/v1/feeds/{name}", headers={"Accept-Encoding": "gzip"})
            zipped = client.send(raw, stream=True)
            body = b"".join(zipped.iter_raw())
            zipped.close()
            assert zipped.headers["content-encoding"] == "gzip" and gzip.decompress(body) == on_disk
            assert len(body) < len(on_disk) / 3
            assert zipped.headers["etag"] != plain.headers["etag"]  # another representation, another tag
            assert zipped.headers["vary"] == "Accept-Encoding"
            for tag in (plain.headers["etag"], zipped.headers["etag"], f'"x", {plain.headers["etag"]}', "*"):
                again = client.get(f"/v1/feeds/{name}", headers={"If-None-Match": tag})
                assert again.status_code == 304 and again.content == b"", tag
                assert again.headers["etag"] and again.headers["cache-control"]
            assert client.get(f"/v1/feeds/{name}", headers={"If-None-Match": '"stale"'}).status_code == 200


def test_healthz_says_the_last_publish_and_its_age(service, published):
    health = httpx.get(f"{service.url}/healthz", timeout=60).json()
    assert health["status"] == "ok"
    assert health["generation"] == health["book"]["generation"] and health["generation"][0] >= 1
    assert 0 <= health["age_seconds"] < 24 * 3600 and health["last_publish_at"]
    assert health["book"]["models"] > 1000
    assert set(health["feeds"]) == {"litellm_model_cost_map.json", "prices.json"}


def test_a_publish_changes_the_etag_and_the_answer(tmp_path, payloads):
    published = publish_all(tmp_path, payloads, providers=["openrouter"])
    book = PriceBook.load(published.database_url, check_every=timedelta(0))
    with RunningService(create_app(published.database_url, published.feeds_dir, book)) as running, \
            httpx.Client(base_url=running.url, timeout=60) as client:
        before = client.get(MAP)
        model = {"provider": "openrouter", "model": "openai/gpt-5.4-mini", "input_tokens": 1_000_000}
        assert client.post("/v1/cost", json=model).json()["total_usd"] != "0.5"
        payload = payloads.get("openrouter")
        next(m for m in payload["data"] if m["id"] == "openai/gpt-5.4-mini")["pricing"]["prompt"] = "0.0000005"
        published.store.publish("openrouter", get_adapter("openrouter").records(payload))
        write_feeds(published.store, FeedsOutput(directory=str(published.feeds_dir)))
        after = client.get(MAP, headers={"If-None-Match": before.headers["etag"]})
        assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
        assert after.json()["openrouter/openai/gpt-5.4-mini"]["input_cost_per_token"] == pytest.approx(5e-7)
        assert client.get(MAP, headers={"If-None-Match": after.headers["etag"]}).status_code == 304
        assert book.refresh() is True  # what the book's own check does within check_every
        assert client.post("/v1/cost", json=model).json()["total_usd"] == "0.5"
        assert client.get("/healthz").json()["book"]["generation"][0] == 2
    published.store.dispose()


def test_readers_during_rewrites_never_see_half_a_map(tmp_path, payloads):
    """The feeds asset's own atomic writer replaces the map over and over while readers fetch
    it: every answer is one whole version, and its ETag is that version's."""
    published = publish_all(tmp_path, payloads, providers=["openrouter", "together"])
    first = (published.feeds_dir / "litellm_model_cost_map.json").read_bytes()
    second = json.dumps({**json.loads(first), "test/extra": {"input_cost_per_token": 1e-6}}, indent=1).encode()
    versions = {hashlib.sha256(data).hexdigest(): data for data in (first, second)}
    feeds, done, seen, problems = FeedsOutput(directory=str(published.feeds_dir)), threading.Event(), set(), []

    def writer():
        try:
            for i in range(150):
                feeds.write_atomically("litellm_model_cost_map.json", second if i % 2 == 0 else first)
        finally:
            done.set()

    def reader(compressed: bool):
        with httpx.Client(base_url=running.url, timeout=60) as client:
            while not done.is_set() or len(seen) < 2:
                response = client.get(MAP, headers={"Accept-Encoding": "gzip" if compressed else "identity"})
                body = response.content  # httpx decodes the gzip
                digest = hashlib.sha256(body).hexdigest()
                if response.status_code != 200 or digest not in versions or digest not in response.headers["etag"]:
                    problems.append((response.status_code, len(body), response.headers.get("etag")))
                    return
                seen.add(digest)
                if done.is_set() and len(seen) < 2:
                    feeds.write_atomically("litellm_model_cost_map.json", second)

    with RunningService(create_app(published.database_url, published.feeds_dir)) as running:
        threads = [threading.Thread(target=reader, args=(i % 2 == 0,)) for i in range(4)]
        threads.append(threading.Thread(target=writer))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    assert not problems and seen == set(versions), (problems, len(seen))
    published.store.dispose()


def test_healthz_is_503_without_the_database_while_costs_still_answer(tmp_path, payloads):
    published = publish_all(tmp_path, payloads, providers=["openrouter"])
    with RunningService(create_app(published.database_url, published.feeds_dir)) as running, \
            httpx.Client(base_url=running.url, timeout=60) as client:
        assert client.get("/healthz").status_code == 200
        with published.store.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE sync_log RENAME TO sync_log_gone")  # the publish query fails
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["status"] == "database unreachable"
        assert "sync_log" in health.json()["error"] and health.json()["book"]["models"] > 100
        usage = {"provider": "openrouter", "model": "openai/gpt-5.4-mini", "input_tokens": 1_000}
        assert client.post("/v1/cost", json=usage).status_code == 200  # from memory
    published.store.dispose()
