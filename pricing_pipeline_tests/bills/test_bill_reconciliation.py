"""The table-fed bill reconciliation: bills a gateway stored in ``billed_requests``, reconciled
by the ``bill_reconciliation`` asset after a replayed OpenRouter sync (with its endpoints), its
``bills_match_prices`` check, and the metrics derived from it.

Expected costs come from the recording's raw pricing strings (USD per token), with Decimal
arithmetic written out here, never from our cost code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from dagster import AssetCheckSeverity, materialize
from prometheus_client import generate_latest

from pricing_pipeline.defs.bills.assets import bill_reconciliation
from pricing_pipeline.defs.metrics.derivation import collect_state
from pricing_pipeline.defs.metrics.exposition import state_registry
from pricing_pipeline.defs.sync.resources import PricingDatabase
from pricing_pipeline.store import bills as stored
from pricing_pipeline_tests.recordings import REPLAY_DETAILS

MODEL = "openai/gpt-4o"


def endpoint_prices(provider_name: str) -> dict[str, Decimal]:
    """The recorded endpoint's prices, USD per token, as OpenRouter wrote them."""
    folder, _ = REPLAY_DETAILS["openrouter"]
    data = json.loads((folder / f"{MODEL}.json").read_text())
    [endpoint] = [e for e in data["data"]["endpoints"] if e["provider_name"] == provider_name]
    return {key: Decimal(value) for key, value in endpoint["pricing"].items() if isinstance(value, str)}


def usage(prompt: int, completion: int, cached: int = 0, cost=None, upstream=None) -> dict:
    out = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
           "prompt_tokens_details": {"cached_tokens": cached}}
    if cost is not None:
        out["cost"] = cost
    if upstream is not None:
        out["cost_details"] = {"upstream_inference_cost": upstream}
    return out


def bill(request_id: str, upstream: str | None, usage_: dict, created: datetime) -> dict:
    return {"request_id": request_id, "model": MODEL, "upstream_provider": upstream, "created_at": created,
            "usage": usage_}


def materialize_bills(db_url, instance):
    result = materialize([bill_reconciliation], instance=instance, partition_key="openrouter",
                         resources={"pricing_db": PricingDatabase(url=db_url)})
    assert result.success
    [materialization] = result.asset_materializations_for_node("bill_reconciliation")
    [check] = result.get_asset_check_evaluations()
    return {k: v.value for k, v in materialization.metadata.items()}, check


def test_bills_are_reconciled_checked_and_counted(replay, run_sync, db_url, store, dagster_instance):
    assert run_sync("openrouter").success
    azure, openai = endpoint_prices("Azure"), endpoint_prices("OpenAI")
    created = datetime.now(UTC)  # after the publish: priced with the prices it published
    # Azure, 1200 prompt + 300 completion tokens at Azure's own price
    azure_cost = 1200 * azure["prompt"] + 300 * azure["completion"]
    # OpenAI, 1500 of 2000 prompt tokens read from the cache; the web plugin's fee beside it
    openai_cost = 500 * openai["prompt"] + 1500 * openai["input_cache_read"] + 100 * openai["completion"]
    fee = Decimal("0.02")
    bills = [
        bill("exact-azure", "Azure", usage(1200, 300, cost=azure_cost), created),
        bill("exact-openai-fee", "OpenAI", usage(2000, 100, cached=1500, cost=openai_cost + fee, upstream=openai_cost),
             created),
        bill("off-azure", "Azure", usage(1200, 300, cost=azure_cost * 2), created),
        bill("within-azure", "Azure", usage(1200, 300, cost=azure_cost * Decimal("1.004")), created),
        bill("unknown-upstream", "Nowhere", usage(10, 10, cost=Decimal("0.0001")), created),
        bill("no-cost", "Azure", usage(10, 10), created),
    ]
    assert stored.append(store, "openrouter", bills) == 6
    assert stored.append(store, "openrouter", bills[:2]) == 0  # a gateway logging a bill twice

    metadata, check = materialize_bills(db_url, dagster_instance)

    assert stored.oldest_unreconciled(store, "openrouter") == (0, None)  # every bill reconciled, once
    outcomes = _outcomes_by_request(store)
    assert outcomes == {"exact-azure": "exact", "exact-openai-fee": "exact", "off-azure": "off",
                        "within-azure": "within_1pct", "unknown-upstream": "error", "no-cost": "error"}
    exact_azure = _row(store, "exact-azure")
    assert exact_azure["our_usd"] == azure_cost == exact_azure["billed_usd"]
    assert exact_azure["priced_model_id"] == f"{MODEL}#azure"
    live_from = {p.record.model_id: p.valid_from for p in store.prices("openrouter", MODEL, endpoints=True)}
    assert exact_azure["price_valid_from"] == live_from[f"{MODEL}#azure"]
    with_fee = _row(store, "exact-openai-fee")
    assert (with_fee["our_usd"], with_fee["fees_usd"]) == (openai_cost, fee)
    assert "Nowhere" in _row(store, "unknown-upstream")["error"]

    assert metadata["reconciled"] == 6
    assert (metadata["exact"], metadata["within_1pct"], metadata["off"], metadata["error"]) == (2, 1, 1, 2)
    assert Decimal(metadata["fees_usd"]) == fee
    assert (metadata["total_exact"], metadata["total_off"], metadata["total_error"]) == (2, 1, 2)
    assert metadata["exact_ratio_24h"] == pytest.approx(2 / 6)
    assert "off-azure" in metadata["worst_mismatches"] and "within-azure" in metadata["worst_mismatches"]
    # the check: the Azure route disagrees with the price live now (both bills listed)
    assert not check.passed and check.severity == AssetCheckSeverity.WARN
    check_metadata = {k: v.value for k, v in check.metadata.items()}
    assert (check_metadata["disagreeing_routes"], check_metadata["disagreeing_bills"]) == (1, 2)
    assert "openai/gpt-4o" in check_metadata["disagreements"] and "Azure" in check_metadata["disagreements"]

    # the metrics: counted from the materialization's database totals, exported per outcome
    state = collect_state(dagster_instance, write_back=False)
    assert state.bills["openrouter"].totals == {"exact": 2, "within_1pct": 1, "off": 1, "error": 2}
    assert state.bills["openrouter"].exact_ratio == pytest.approx(2 / 6)
    text = generate_latest(state_registry(state)).decode()
    assert 'pricing_bills_reconciled_total{outcome="off",provider="openrouter"} 1.0' in text
    assert 'pricing_bills_reconciled_total{outcome="exact",provider="chutes"} 0.0' in text
    assert 'pricing_bill_exact_ratio{provider="openrouter"} 0.333333' in text

    # nothing new: nothing reconciled, the totals stay, the price did not change: still warns
    metadata, check = materialize_bills(db_url, dagster_instance)
    assert metadata["reconciled"] == 0 and metadata["total_off"] == 1
    assert not check.passed

    # the provider's price changed and a sync published it: the old bills no longer count
    records = store.published_records("openrouter")
    endpoint = records[f"{MODEL}#azure"]
    records[endpoint.model_id] = endpoint.replace(output_usd_per_mtok=endpoint.output_usd_per_mtok * 2)
    store.publish("openrouter", list(records.values()), run_id="repriced")
    metadata, check = materialize_bills(db_url, dagster_instance)
    assert check.passed
    assert collect_state(dagster_instance, write_back=False).bills["openrouter"].totals["off"] == 1


def test_a_bill_after_a_price_change_is_priced_with_the_new_price(replay, run_sync, db_url, store, dagster_instance):
    """Bills of one run straddling a publish: each priced with the price live when it ran."""
    assert run_sync("openrouter").success
    azure = endpoint_prices("Azure")
    before = datetime.now(UTC)
    records = store.published_records("openrouter")
    endpoint = records[f"{MODEL}#azure"]
    doubled = endpoint.output_usd_per_mtok * 2
    records[endpoint.model_id] = endpoint.replace(output_usd_per_mtok=doubled)
    store.publish("openrouter", list(records.values()), run_id="repriced")
    after = datetime.now(UTC) + timedelta(seconds=1)
    old = 100 * azure["prompt"] + 100 * azure["completion"]
    new = 100 * azure["prompt"] + 100 * azure["completion"] * 2
    stored.append(store, "openrouter", [bill("old", "Azure", usage(100, 100, cost=old), before),
                                        bill("new", "Azure", usage(100, 100, cost=new), after)])
    metadata, check = materialize_bills(db_url, dagster_instance)
    assert _outcomes_by_request(store) == {"old": "exact", "new": "exact"}
    assert check.passed and metadata["exact_share"] == 1.0


def _outcomes_by_request(store) -> dict[str, str]:
    return {request: row["outcome"] for request, row in _rows_by_request(store).items()}


def _row(store, request_id: str) -> dict:
    return _rows_by_request(store)[request_id]


def _rows_by_request(store) -> dict[str, dict]:
    from sqlalchemy import select

    from pricing_pipeline.store.schema import billed_requests

    with store.engine.connect() as conn:
        query = select(billed_requests.c.id, billed_requests.c.request_id)
        ids = {row.id: row.request_id for row in conn.execute(query)}
    return {ids[r["billed_request_id"]]: r for r in stored.reconciliations(store)}
