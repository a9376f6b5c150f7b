import json
from decimal import Decimal

import pytest

from pricing_pipeline.pricing.diff import diff_snapshot
from pricing_pipeline.providers.errors import InvalidResponse
from pricing_pipeline.providers.modelsdev import ADAPTER
from pricing_pipeline_tests.recordings import REPLAY_FILES, recording

DAY1 = "models_dev_api_2026-06-09.json"
DAY2 = "models_dev_api_2026-06-10.json"

GROQ_COST_DROPPED = {
    "groq/canopylabs/orpheus-arabic-saudi",
    "groq/canopylabs/orpheus-v1-english",
    "groq/groq/compound",
    "groq/groq/compound-mini",
    "groq/whisper-large-v3",
    "groq/whisper-large-v3-turbo",
}
OPENROUTER_PRICE_MOVES = {
    "openrouter/minimax/minimax-m2.5",
    "openrouter/minimax/minimax-m2.7",
    "openrouter/z-ai/glm-4.6v",
}


def _load(name):
    return json.loads(recording(name).read_bytes())


@pytest.fixture(scope="module")
def raw1():
    return _load(DAY1)


@pytest.fixture(scope="module")
def raw2():
    return _load(DAY2)


@pytest.fixture(scope="module")
def day1(raw1):
    return {r.model_id: r for r in ADAPTER.records(raw1)}


@pytest.fixture(scope="module")
def day2(raw2):
    return {r.model_id: r for r in ADAPTER.records(raw2)}


def _costs(raw):
    """model id -> raw ``cost`` object, straight from the JSON."""
    return {f"{p}/{k}": m.get("cost") for p, prov in raw.items() for k, m in prov["models"].items()}


def test_every_catalog_model_is_a_record_including_unpriced_ones(raw2, day2):
    costs = _costs(raw2)
    assert len(day2) == len(costs) == 5141
    unpriced = {mid for mid, cost in costs.items() if cost is None}
    assert len(unpriced) == 353
    for mid in unpriced:
        assert all(value is None for value in day2[mid].prices().values()), mid
    assert REPLAY_FILES["modelsdev"].name == DAY2


def test_model_id_and_upstream_names(day2):
    r = day2["openrouter/minimax/minimax-m2.5"]
    assert r.provider == "modelsdev"
    assert (r.upstream_provider, r.upstream_model_id) == ("openrouter", "minimax/minimax-m2.5")
    assert (r.input_usd_per_mtok, r.output_usd_per_mtok, r.cache_read_usd_per_mtok) == (
        Decimal("0.15"),
        Decimal("0.9"),
        Decimal("0.05"),
    )


def test_costs_are_usd_per_mtok(day2):
    r = day2["anthropic/claude-opus-4-7"]  # cost {input 5, output 25, cache_read 0.5, cache_write 6.25}
    assert (r.input_usd_per_mtok, r.output_usd_per_mtok) == (Decimal(5), Decimal(25))
    assert (r.cache_read_usd_per_mtok, r.cache_write_usd_per_mtok) == (Decimal("0.5"), Decimal("6.25"))
    assert r.tiers == ()
    assert day2["302ai/gpt-5.4"].cache_write_usd_per_mtok == Decimal(0)  # 0 is a price, not None


def test_context_tiers_and_context_over_200k_is_ignored_next_to_them(day2):
    r = day2["302ai/gpt-5.4"]  # tiers at 272000; context_over_200k repeats it under a 200k name
    (tier,) = r.tiers
    assert tier.min_context_tokens == 272000
    assert (tier.input_usd_per_mtok, tier.output_usd_per_mtok) == (Decimal(5), Decimal("22.5"))
    assert tier.cache_read_usd_per_mtok is None
    two = day2["aihubmix/doubao-seed-2-0-code-preview"]
    assert [t.min_context_tokens for t in two.tiers] == [32000, 128000]
    assert [t.cache_read_usd_per_mtok for t in two.tiers] == [Decimal("0.144656"), Decimal("0.28932")]


def test_context_over_200k_alone_becomes_a_200k_tier():
    cost = {"input": 3, "output": 15, "context_over_200k": {"input": 6, "output": 22.5, "cache_read": 0.6}}
    (r,) = ADAPTER.records({"p": {"id": "p", "models": {"m": {"id": "m", "cost": cost}}}})
    (tier,) = r.tiers
    assert tier.min_context_tokens == 200000
    assert (tier.input_usd_per_mtok, tier.output_usd_per_mtok) == (Decimal(6), Decimal("22.5"))
    assert tier.cache_read_usd_per_mtok == Decimal("0.6")


def test_day_over_day_diff_is_the_real_change_set(raw1, raw2, day1, day2):
    diff = diff_snapshot(day1, day2.values())
    costs1, costs2 = _costs(raw1), _costs(raw2)
    # Independent of the adapter: the sets straight from the raw JSON.
    assert {c.model_id for c in diff.added} == set(costs2) - set(costs1)
    assert {c.model_id for c in diff.removed} == set(costs1) - set(costs2)
    raw_changed = {mid for mid in set(costs1) & set(costs2) if costs1[mid] != costs2[mid]}
    assert {c.model_id for c in diff.changed} == raw_changed
    # The known facts about this pair.
    assert (len(diff.added), len(diff.removed), len(diff.changed)) == (16, 28, 10)
    assert {c.model_id for c in diff.changed} == OPENROUTER_PRICE_MOVES | GROQ_COST_DROPPED | {"alibaba/qwen3.7-plus"}
    assert "anthropic/claude-fable-5" in {c.model_id for c in diff.added}
    assert "groq/llama3-70b-8192" in {c.model_id for c in diff.removed}


def test_groq_models_whose_cost_disappeared_change_to_unknown(day1, day2):
    for mid in GROQ_COST_DROPPED:
        assert day1[mid].components(), mid
        assert all(c.usd is None for c in day2[mid].components()), mid
    # whisper (audio in, text out: transcription) listed at 0 per token: not free, its unit unknown
    whisper = day1["groq/whisper-large-v3"]
    assert (whisper.model_type, whisper.input_usd_per_mtok) == ("transcription", None)
    assert [(c.component, c.unit, c.usd) for c in whisper.components()] == [("input", "unit_ambiguous", None)]
    # a text-to-speech model with an input price alone: USD per 1M characters, not tokens
    orpheus = day1["groq/canopylabs/orpheus-arabic-saudi"]
    assert [(c.component, c.unit, c.usd) for c in orpheus.components()] == [("input", "usd_per_mchar", Decimal(40))]


def test_tier_boundary_change_and_openrouter_price_moves(day1, day2):
    assert [t.min_context_tokens for t in day1["alibaba/qwen3.7-plus"].tiers] == [128000]
    assert [t.min_context_tokens for t in day2["alibaba/qwen3.7-plus"].tiers] == [256000]
    assert day1["alibaba/qwen3.7-plus"].tiers[0].input_usd_per_mtok == Decimal(2)
    assert day2["alibaba/qwen3.7-plus"].prices() == day1["alibaba/qwen3.7-plus"].prices()
    m27_before, m27_after = day1["openrouter/minimax/minimax-m2.7"], day2["openrouter/minimax/minimax-m2.7"]
    assert (m27_before.input_usd_per_mtok, m27_before.output_usd_per_mtok) == (Decimal("0.279"), Decimal("1.2"))
    assert (m27_after.input_usd_per_mtok, m27_after.output_usd_per_mtok) == (Decimal("0.27"), Decimal("1.08"))
    assert m27_before.cache_read_usd_per_mtok is None and m27_after.cache_read_usd_per_mtok == Decimal("0.054")
    assert day1["openrouter/z-ai/glm-4.6v"].cache_read_usd_per_mtok == Decimal("0.05")
    assert day2["openrouter/z-ai/glm-4.6v"].cache_read_usd_per_mtok == Decimal("0.055")


def test_a_string_where_a_number_belongs_is_rejected():
    payload = {"p": {"id": "p", "models": {"m": {"cost": {"input": "3", "output": 15}}}}}
    with pytest.raises(InvalidResponse, match="modelsdev: model 'p/m': cost.input is str"):
        ADAPTER.records(payload)


def test_an_unknown_tier_type_is_rejected():
    cost = {"input": 1, "output": 2, "tiers": [{"input": 2, "output": 4, "tier": {"size": 10, "type": "time"}}]}
    with pytest.raises(InvalidResponse, match="modelsdev: model 'p/m': cost.tiers type 'time' is not supported"):
        ADAPTER.records({"p": {"models": {"m": {"cost": cost}}}})


def test_a_provider_without_models_is_rejected():
    with pytest.raises(InvalidResponse, match="modelsdev: provider 'p' has no 'models' object"):
        ADAPTER.records({"p": {"id": "p", "name": "P"}})
    with pytest.raises(InvalidResponse, match="modelsdev: expected a JSON object of providers, got list"):
        ADAPTER.records([])


def test_duplicate_ids_are_rejected():
    payload = {"a": {"models": {"b/c": {}}}, "a/b": {"models": {"c": {}}}}
    with pytest.raises(InvalidResponse, match="modelsdev: 1 duplicate model ids: a/b/c"):
        ADAPTER.records(payload)


def test_fetch_through_a_real_http_server(upstream, monkeypatch):
    url = upstream.serve_file("/api.json", recording(DAY2))
    monkeypatch.setenv(ADAPTER.url_env, url)
    records = {r.model_id: r for r in ADAPTER.records(ADAPTER.fetch().json())}
    assert len(records) == 5141
    assert records["alibaba/qwen3.7-plus"].tiers[0].min_context_tokens == 256000
    assert upstream.requests[-1].path == "/api.json"
