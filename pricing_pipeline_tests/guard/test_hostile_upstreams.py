"""Junk catalogs against the real sync job (OpenRouter's recording, SQLite and PostgreSQL):
5,000 random ids added to the 336 real models (the additions are held as a group, the real
models publish), or replacing them (the whole snapshot is blocked as a replaced catalog). The
live prices stay untouched, and the real snapshot after it publishes without an override, also
after an operator accepted the junk (the count baselines are the models live before the latest
publish, not what the junk left behind)."""

from __future__ import annotations

import copy
import json
import random
import string

import pytest

from pricing_pipeline_tests.guard.test_guard_sync import evaluations, override
from pricing_pipeline_tests.published_state import db_state

JUNK = 5000


def junk_models(template: dict, count: int = JUNK) -> list[dict]:
    rng = random.Random(20261202)
    models = []
    for _ in range(count):
        model = copy.deepcopy(template)
        model["id"] = "junk/" + "".join(rng.choices(string.ascii_lowercase + string.digits, k=16))
        models.append(model)
    return models


@pytest.fixture
def real(payloads, openrouter_models_only):
    return payloads.models_only("openrouter")


def serve(upstream, payload) -> None:
    upstream.serve("/openrouter", json.dumps(payload))


def test_junk_additions_are_held_as_a_group_and_the_real_models_publish(replay, upstream, real, run_sync, store):
    assert run_sync("openrouter").success
    before = db_state(store, "openrouter")
    junk = copy.deepcopy(real)
    junk["data"] = real["data"] + junk_models(real["data"][0])
    serve(upstream, junk)

    result = run_sync("openrouter")
    assert result.success
    mass = evaluations(result)["price_guard_mass_change"]
    assert not mass.passed and mass.severity.value == "WARN"
    assert mass.metadata["held_models"].value == JUNK
    sample = mass.metadata["held"].value  # a capped sample of the models, with the counts
    assert "junk/" in sample and "one of 5000 models added" in sample and "more (" in sample
    after = db_state(store, "openrouter")
    assert (after[0], after[1], after[3]) == (before[0], before[1], before[3])  # nothing of the junk is live
    new_entries = after[2][len(before[2]):]  # the change log gained the holds, and no price change
    assert {c["kind"] for c in new_entries} == {"held"} and len(new_entries) == JUNK
    assert {h["hold_group"] for h in store.held("openrouter")} == {"mass_change:added"}

    serve(upstream, real)
    assert run_sync("openrouter").success  # no override needed
    assert store.prices("openrouter") == before[0]  # the live prices, as they were
    assert store.held("openrouter") == []  # the junk is gone upstream: its holds are history


def test_a_replaced_catalog_is_blocked_and_the_real_one_after_it_publishes(replay, upstream, real, run_sync, store):
    assert run_sync("openrouter").success
    before = db_state(store, "openrouter")
    junk = copy.deepcopy(real)
    junk["data"] = junk_models(real["data"][0])
    serve(upstream, junk)

    blocked = run_sync("openrouter")
    assert not blocked.success
    replaced = evaluations(blocked)["normalized_prices_catalog_replaced"]
    assert not replaced.passed and replaced.severity.value == "ERROR"
    assert "336 of the 336 established models gone and 5000 unknown models added" in replaced.description
    assert db_state(store, "openrouter") == before

    serve(upstream, real)
    assert run_sync("openrouter").success
    assert store.prices("openrouter") == before[0]


@pytest.mark.parametrize("kind", ["added", "replaced"])
def test_an_accepted_junk_catalog_does_not_hold_back_the_real_one(kind, replay, upstream, real, run_sync, store):
    assert run_sync("openrouter").success
    junk = copy.deepcopy(real)
    junk["data"] = (real["data"] if kind == "added" else []) + junk_models(real["data"][0])
    serve(upstream, junk)
    accepted = run_sync("openrouter", run_config=override(accept_all=True, reason="test: accepted by mistake",
                                                          accepted_by="ops"))
    assert accepted.success
    assert len(store.published_records("openrouter")) == (JUNK + len(real["data"]) if kind == "added" else JUNK)

    serve(upstream, real)
    result = run_sync("openrouter")
    assert result.success, {n: e.description for n, e in evaluations(result).items() if not e.passed}
    assert set(store.published_records("openrouter")) == {m["id"] for m in real["data"]}


def test_a_first_sync_and_small_catalogs_are_not_mass_changes(replay, upstream, payloads, run_sync, store):
    assert run_sync("chutes").success  # a first sync adds everything
    payload = payloads.get("chutes")
    extra = junk_models(payload["data"][0], count=5)  # 5 new models on 13: over 20%, under 10 models
    payload["data"] += extra
    upstream.serve("/chutes", json.dumps(payload))
    assert run_sync("chutes").success
