"""The change watcher's plain rules: the hourly budget and which endpoints are volatile."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pricing_pipeline.pricing.watch import RUN_LIST_MARGIN, RequestBudget, volatile_models


def test_the_budget_is_a_sliding_hour():
    budget = RequestBudget(per_hour=3)
    assert budget.spend(0.0) and budget.spend(10.0, 2)
    assert not budget.spend(20.0)  # nothing spent when it does not fit
    assert budget.remaining(20.0) == 0 and budget.next_free_at(20.0) == 3600.0
    assert budget.remaining(3600.0) == 1  # the first request left the window
    assert budget.spend(3610.0, 3)


def test_per_model_requests_leave_the_list_polls_their_share():
    budget = RequestBudget(per_hour=100, interval_seconds=300)
    assert budget.list_share == 12 + RUN_LIST_MARGIN
    assert budget.per_model_allowance(0.0) == 100 - budget.list_share
    budget.spend(0.0, 1, lists=1)  # a poll: out of the list share, the allowance is the same
    assert budget.per_model_allowance(0.0) == 100 - budget.list_share
    budget.spend(0.0, 50)
    assert budget.per_model_allowance(0.0) == 100 - 51 - (budget.list_share - 1)
    # an interval that asks for more list polls than half the budget gets half: the rest per model
    short = RequestBudget(per_hour=100, interval_seconds=10)
    assert short.list_share == 50 and short.per_model_allowance(0.0) == 50


def test_volatile_models_are_those_whose_endpoints_changed_lately_newest_first():
    now = datetime(2026, 8, 1, 12, tzinfo=timezone.utc)
    rows = [
        {"model_id": "a/one#azure", "changed_at": now - timedelta(hours=2)},
        {"model_id": "b/two#novita", "changed_at": now - timedelta(hours=1)},
        {"model_id": "a/one#bedrock", "changed_at": now - timedelta(minutes=5)},
        {"model_id": "c/list-price", "changed_at": now},  # the list's own price: not an endpoint
        {"model_id": "d/old#x", "changed_at": now - timedelta(hours=30)},
    ]
    assert volatile_models(rows, now - timedelta(hours=24)) == ["a/one", "b/two"]
