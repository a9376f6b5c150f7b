"""Holds per model in the store, on SQLite and PostgreSQL: held, persisted, cleared on revert,
judged afresh, accepted with the audit, rejected and silenced, released as a group; a
concurrent accept and publish serialized by the provider lock; real day-over-day recordings
replayed day by day."""

import gzip
import json
import threading
import time
from decimal import Decimal

import pytest

from pricing_pipeline.pricing import guard
from pricing_pipeline.pricing.guard import catalog_replaced
from pricing_pipeline.pricing.guard_settings import GuardOverride, GuardThresholds
from pricing_pipeline.pricing.holds import reviewer
from pricing_pipeline.pricing.records import PriceRecord
from pricing_pipeline.providers.registry import PROVIDER_NAMES, get_adapter
from pricing_pipeline.store import holds as stored_holds
from pricing_pipeline.store.engine import lock_provider
from pricing_pipeline.store.review import ReviewError
from pricing_pipeline_tests.recordings import recording

P = "p"


def rec(model_id, input_price="1", output_price="2"):
    return PriceRecord(P, model_id, Decimal(input_price), Decimal(output_price))


def catalog(n=20, **prices):
    """n models m0..m{n-1} at 1/2; keyword m3=("1", "200") sets a model's prices."""
    out = {f"m{i}": rec(f"m{i}") for i in range(n)}
    for model_id, (i, o) in prices.items():
        out[model_id] = rec(model_id, i, o)
    return list(out.values())


def sync(store, records, run_id, provider=P, override=None):
    reference_catalog = provider in PROVIDER_NAMES and get_adapter(provider).reference_catalog
    return store.publish(
        provider, records, run_id=run_id,
        review=reviewer(records, GuardThresholds(), override, reference_catalog, canonical=stored_holds.canonical),
    )


def unmarked_free(records) -> set[str]:
    """The models of a real list the guard holds as new and zero-priced (test_rules.py)."""
    return set(guard.unmarked_free({}, records, GuardThresholds()))


def live(store, provider=P):
    return {m: (r.input_usd_per_mtok, r.output_usd_per_mtok) for m, r in store.published_records(provider).items()}


def held(store, provider=P):
    return {row["model_id"]: row for row in store.held(provider)}


def log(store, kind):
    return [c for c in store.changes(P) if c["kind"] == kind]


def test_one_flagged_model_is_held_and_the_rest_publishes(store):
    sync(store, catalog(), "r1")
    result = sync(store, [*catalog(m3=("1", "200"), m4=("1.1", "2")), rec("new")], "r2")
    assert set(result.verdict.held) == {"m3"}
    assert live(store)["m3"] == (1, 2)  # the published price stays live
    assert live(store)["m4"] == (Decimal("1.1"), 2) and "new" in live(store)
    [row] = held(store).values()
    assert (row["kind"], row["rules"], row["run_id"]) == ("changed", "price_jump", "r2")
    assert row["proposed"]["output_usd_per_mtok"] == "200" and row["published"]["output_usd_per_mtok"] == "2"
    assert store.sync_row("r2")["models_held"] == 1
    [entry] = log(store, "held")
    assert (entry["decided_by"], entry["run_id"], entry["after"]["output_usd_per_mtok"]) == ("price_guard", "r2", "200")
    assert "x100" in entry["decision_reason"]


def test_a_hold_persists_while_upstream_insists_and_clears_when_it_returns(store):
    sync(store, catalog(), "r1")
    sync(store, catalog(m3=("1", "200")), "r2")
    since = held(store)["m3"]["held_since"]
    sync(store, catalog(m3=("1", "200"), m5=("1", "2.2")), "r3")  # same proposal: still held, since r2
    assert held(store)["m3"]["held_since"] == since and held(store)["m3"]["last_seen_at"] > since
    assert live(store)["m5"] == (1, Decimal("2.2")) and live(store)["m3"] == (1, 2)
    assert len(log(store, "held")) == 1

    sync(store, catalog(m5=("1", "2.2")), "r4")  # upstream went back to the published prices
    assert held(store) == {}
    [cleared] = log(store, "hold_cleared")
    assert (cleared["model_id"], cleared["run_id"]) == ("m3", "r4")
    [history] = store.holds_history(P)
    assert (history["status"], history["resolved_run_id"]) == ("cleared", "r4")


def test_a_new_proposal_is_judged_afresh_against_what_is_published(store):
    sync(store, catalog(), "r1")
    sync(store, catalog(m3=("1", "200")), "r2")
    first = held(store)["m3"]
    sync(store, catalog(m3=("1", "300")), "r3")  # another flagged proposal: a new hold
    second = held(store)["m3"]
    assert second["proposed"]["output_usd_per_mtok"] == "300" and second["held_since"] > first["held_since"]
    sync(store, catalog(m3=("1", "2.5")), "r4")  # a plausible move from the published 2: published
    assert held(store) == {} and live(store)["m3"] == (1, Decimal("2.5"))
    assert [h["status"] for h in store.holds_history(P)] == ["superseded", "superseded"]


def test_accept_publishes_the_stored_proposal_with_the_audit(store):
    sync(store, catalog(), "r1")
    sync(store, catalog(m3=("1", "200")), "r2")
    result = store.decide_holds(P, "accept", ["m3"], "jane.doe", "pricing page says 200", run_id="review-1")
    assert result.models == ["m3"] and [c.kind for c in result.changes] == ["changed"]
    assert live(store)["m3"] == (1, 200)
    [change] = [c for c in store.changes(P) if c["run_id"] == "review-1"]
    assert (change["kind"], change["accepted_by"], change["accept_reason"]) == ("changed", "jane.doe", "pricing page says 200")
    assert store.sync_row("review-1")["status"] == "accepted"
    assert held(store) == {}
    # upstream keeps sending the accepted price: nothing to hold, nothing to change
    again = sync(store, catalog(m3=("1", "200")), "r3")
    assert not again.verdict.held and not again.diff


def test_reject_keeps_the_published_price_until_upstream_changes_again(store):
    sync(store, catalog(), "r1")
    sync(store, catalog(m3=("1", "200")), "r2")
    store.decide_holds(P, "reject", ["m3"], "jane.doe", "a unit mistake upstream", run_id="review-1")
    [rejected] = log(store, "rejected")
    assert (rejected["decided_by"], rejected["decision_reason"], rejected["run_id"]) == (
        "jane.doe", "a unit mistake upstream", "review-1")
    quiet = sync(store, catalog(m3=("1", "200")), "r3")  # the same proposal: silenced, not held again
    assert set(quiet.verdict.silenced) == {"m3"} and held(store) == {} and live(store)["m3"] == (1, 2)
    assert len(log(store, "held")) == 1
    sync(store, catalog(m3=("1", "3000")), "r4")  # upstream changed again: judged afresh
    assert held(store)["m3"]["proposed"]["output_usd_per_mtok"] == "3000"


def test_decisions_that_cannot_be_taken_are_refused_and_change_nothing(store):
    sync(store, catalog(), "r1")
    with pytest.raises(ReviewError, match="nothing is held for 'm3'"):
        store.decide_holds(P, "accept", ["m3"], "jane", "why")
    sync(store, catalog(m3=("1", "200")), "r2")
    proposal = held(store)["m3"]["proposal"]
    sync(store, catalog(m3=("1", "300")), "r3")
    with pytest.raises(ReviewError, match="upstream replaced the proposal"):
        store.decide_holds(P, "accept", ["m3"], "jane", "saw 200", expected={"m3": proposal})
    sync(store, catalog(m3=("1", "2.5")), "r4")
    with pytest.raises(ReviewError, match="refused: upstream replaced the proposal"):
        store.decide_holds(P, "accept", ["m3"], "jane", "why")
    with pytest.raises(ReviewError, match="who decides"):
        store.decide_holds(P, "accept", None, "", "why")
    assert live(store)["m3"] == (1, Decimal("2.5"))
    assert store.sync_row("r4")["status"] == "success" and len(store.sync_rows(P)) == 4  # no review row left


def test_mass_additions_are_held_as_a_group_and_one_accept_releases_it(store):
    sync(store, catalog(), "r1")
    junk = [rec(f"junk-{i}") for i in range(15)]  # 75% of the 20 established models
    result = sync(store, [*catalog(m4=("1.1", "2")), *junk], "r2")
    assert set(result.verdict.held) == {r.model_id for r in junk}
    assert live(store)["m4"] == (Decimal("1.1"), 2) and "junk-0" not in live(store)
    assert {row["hold_group"] for row in held(store).values()} == {"mass_change:added"}
    decided = store.decide_holds(P, "accept", ["junk-3"], "ops", "a real launch of 15 models")
    assert len(decided.models) == 15 and {c.kind for c in decided.changes} == {"added"}
    assert all(r.model_id in live(store) for r in junk) and held(store) == {}


def test_mass_removals_are_held_and_those_models_stay_live(store):
    sync(store, catalog(40), "r1")
    sync(store, catalog(40), "r2")  # the baseline is what was live before the latest publish
    kept = catalog(40)[:25]  # 15 of 40 gone (37%): held, still live
    result = sync(store, [*kept[:-1], rec("m24", "1.2", "2")], "r3")
    assert len(result.verdict.held) == 15 and {h.kind for h in result.verdict.held.values()} == {"removed"}
    assert len(live(store)) == 40 and live(store)["m24"] == (Decimal("1.2"), 2)
    store.decide_holds(P, "accept", ["m30"], "ops", "the provider retired them")
    assert len(live(store)) == 25 and set(store.removed_models(P)) == {f"m{i}" for i in range(25, 40)}


def test_a_replaced_catalog_is_recognised():
    published = {r.model_id: r for r in catalog(40)}
    other = [rec(f"x{i}") for i in range(38)]
    assert "catalog replaced: 40 of the 40 established models gone and 38 unknown" in catalog_replaced(
        published, [r.model_id for r in other], GuardThresholds())
    assert catalog_replaced(published, [*published, *(r.model_id for r in other)], GuardThresholds()) is None
    assert catalog_replaced(published, list(published)[:15], GuardThresholds()) is None  # the count floor's


def test_an_accept_and_a_publish_of_one_provider_are_serialized_by_its_lock(store):
    sync(store, catalog(), "r1")
    sync(store, catalog(m3=("1", "200")), "r2")
    done = []
    with store.engine.begin() as conn:  # a publish of this provider in progress
        lock_provider(conn, P)
        accept = threading.Thread(
            target=lambda: done.append(store.decide_holds(P, "accept", ["m3"], "jane", "checked", run_id="review-1")))
        accept.start()
        time.sleep(1.0)
        assert not done  # waits for the publish
    accept.join(30)
    assert done and live(store)["m3"] == (1, 200)

    # Side by side, many times: whatever the order, nothing is lost.
    racing = catalog(m3=("1", "200"), m6=("1", "2.1"))
    threads = [
        threading.Thread(target=lambda: sync(store, racing, "r3")),
        threading.Thread(target=lambda: sync(store, catalog(m3=("1", "200"), m7=("1", "2.3")), "r4")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert live(store)["m3"] == (1, 200) and held(store) == {}
    assert {row["status"] for row in store.sync_rows(P)} == {"success", "accepted"}


def openrouter_days():
    folder = recording("openrouter_daily")
    adapter = get_adapter("openrouter")
    for path in sorted(folder.glob("*.json.gz")):
        data = json.loads(gzip.decompress(path.read_bytes()))
        yield path.name[len("openrouter_models_data_"):-len(".json.gz")], adapter.parse_body(json.dumps({"data": data}).encode())


def replace_price(record, **prices):
    return record.replace(**{name: Decimal(value) for name, value in prices.items()})


def test_real_openrouter_days_replayed_one_by_one_hold_only_the_fabricated_jump(store):
    """22 real consecutive days; from the 10th on, one model's cache read is 14.7x upstream
    (the real incident's size) until upstream moves it back on the 16th."""
    days = list(openrouter_days())
    target = None
    for number, (day, snapshot) in enumerate(days, 1):
        records = snapshot.records
        if target is None:
            target = next(r.model_id for r in records if r.cache_read_usd_per_mtok)
        if 10 <= number < 16:
            records = [
                replace_price(r, cache_read_usd_per_mtok=r.cache_read_usd_per_mtok * Decimal("14.7"))
                if r.model_id == target else r for r in records
            ]
        result = sync(store, records, f"day-{day}", provider="openrouter")
        published = store.published_records("openrouter")
        expected_held = {target} if 10 <= number < 16 else set()
        held_now = set(result.verdict.held) | {h["model_id"] for h in store.held("openrouter")}
        free = unmarked_free(records) & held_now  # zero-priced and never published: held from the first day
        assert held_now - free == expected_held, day
        for record in records:  # every other price of the day is live
            if record.model_id not in expected_held | free:
                assert published[record.model_id].price_key() == record.price_key(), (day, record.model_id)
        assert set(published) | free == {r.model_id for r in records} | set(snapshot.quarantined), day
    [hold] = [h for h in store.holds_history("openrouter") if h["model_id"] == target]
    assert (hold["status"], hold["run_id"], hold["resolved_run_id"]) == ("cleared", f"day-{days[9][0]}", f"day-{days[15][0]}")


def test_an_eighteen_day_gap_publishes_its_changes(store):
    days = list(openrouter_days())
    first, later = days[2], days[20]  # 07-19 -> 08-07: +75 models, the largest gap of the recordings
    sync(store, first[1].records, "first", provider="openrouter")
    result = sync(store, later[1].records, "after-gap", provider="openrouter")
    free = unmarked_free(later[1].records)
    assert set(result.verdict.held) <= free
    assert len(result.diff.added) > 70 and result.diff.changed
    published = store.published_records("openrouter")
    held_free = {h["model_id"] for h in store.held("openrouter")}
    assert {m: r.price_key() for m, r in published.items()} == {
        r.model_id: r.price_key() for r in later[1].records if r.model_id not in held_free}


@pytest.mark.parametrize("provider, day1, day2", [
    ("chutes", "chutes_v1_models_2026-08-03.json", "chutes_v1_models_2026-08-04.json"),
    ("modelsdev", "models_dev_api_2026-06-09.json", "models_dev_api_2026-06-10.json"),
])
def test_the_real_day_over_day_pairs_publish_without_holds(store, provider, day1, day2):
    adapter = get_adapter(provider)
    sync(store, adapter.parse_body(recording(day1).read_bytes()).records, "d1", provider=provider)
    second = adapter.parse_body(recording(day2).read_bytes()).records
    result = sync(store, second, "d2", provider=provider)
    assert not result.verdict.held and result.diff.changed
    assert {m: r.price_key() for m, r in store.published_records(provider).items()} == {
        r.model_id: r.price_key() for r in second}


def test_an_override_accepts_a_held_model_in_the_next_sync(store):
    sync(store, catalog(), "r1")
    sync(store, catalog(m3=("1", "200")), "r2")
    sync(store, catalog(m3=("1", "200")), "r3",
         override=GuardOverride(frozenset({"m3"}), reason="checked", accepted_by="jane"))
    assert live(store)["m3"] == (1, 200) and held(store) == {}
    [history] = store.holds_history(P)
    assert (history["status"], history["resolved_by"], history["resolved_run_id"]) == ("accepted", "jane", "r3")
