"""Broken or hostile model entries in a real catalog (OpenRouter's recording, SQLite and
PostgreSQL): overlong ids, a NUL, prices outside the one price grammar. Each such model is
quarantined with its id shown safely and the field named, the rest publishes, and nothing
is ever a database error. An id carrying Markdown is published and rendered inert."""

from __future__ import annotations

import copy
import json

import markdown_it

from pricing_pipeline.pricing.endpoints import is_endpoint_id
from pricing_pipeline.pricing.model_ids import display_id

MARKDOWN_ID = "evil/`x`[phish](http://evil.example/)|<b>bold</b>"


def entry(template: dict, model_id: str, **pricing) -> dict:
    model = copy.deepcopy(template)
    model["id"] = model_id
    model["pricing"].update(pricing)
    return model


def test_bad_ids_and_prices_are_quarantined_by_name_and_never_reach_the_database(
    replay, upstream, payloads, run_sync, store
):
    assert run_sync("openrouter").success
    payload = payloads.get("openrouter")
    template = next(m for m in payload["data"] if m["id"] == "openai/gpt-5.4-mini")
    bad = {
        "x" * 10240: "model id of 10240 characters",
        "y" * 401: "model id of 401 characters",
        "evil/nul\x00model": "control characters",
        "bad/exponent": "pricing.prompt: out of range for a price: '1e400'",
        "bad/negative-zero": "pricing.completion: negative zero is not a price: '-0'",
        "bad/padded": "pricing.prompt: not a price string: ' 0.000001 '",
    }
    payload["data"] += [
        entry(template, "x" * 10240),
        entry(template, "y" * 401),
        entry(template, "evil/nul\x00model"),
        entry(template, "bad/exponent", prompt="1e400"),
        entry(template, "bad/negative-zero", completion="-0"),
        entry(template, "bad/padded", prompt=" 0.000001 "),
        entry(template, MARKDOWN_ID),
        entry(template, "  padded/id  "),  # surrounding whitespace: stripped, published
    ]
    upstream.serve("/openrouter", json.dumps(payload))
    result = run_sync("openrouter")
    assert result.success  # 6 of 344 quarantined: a warning, the rest publishes (2 added)

    row = store.sync_row(result.run_id)
    assert row["status"] == "success" and row["error_type"] is None
    # (the list's entries; endpoints the recording itself has unreadable are quarantined too)
    quarantined = {m: why for m, why in row["quarantined"].items() if not is_endpoint_id(m)}
    assert len(quarantined) == len(bad)
    for model_id, why in bad.items():
        shown = display_id(model_id)
        assert len(shown) < 200
        assert why in quarantined[shown], (shown, quarantined.get(shown))
    published = store.published_records("openrouter")
    assert MARKDOWN_ID in published and "padded/id" in published
    assert not any(key in published for key in ("bad/exponent", "bad/negative-zero", "bad/padded"))

    # the change table names the Markdown id inertly: no link, no HTML, one table row each
    [materialization] = result.asset_materializations_for_node("published_prices")
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(materialization.metadata["changes"].value)
    assert "<a " not in html and "<b>" not in html
    assert "[phish](http://evil.example/)" in html  # shown as the characters it is


def test_quarantine_tables_are_inert_markdown(replay, upstream, payloads, run_sync):
    payload = payloads.get("openrouter")
    template = next(m for m in payload["data"] if m["id"] == "openai/gpt-5.4-mini")
    payload["data"].append(entry(template, "evil/[phish](http://evil.example/)", prompt="[phish](http://evil.example/)"))
    upstream.serve("/openrouter", json.dumps(payload))
    result = run_sync("openrouter")
    [materialization] = result.asset_materializations_for_node("normalized_prices")
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(materialization.metadata["quarantined"].value)
    assert "<a " not in html and "phish" in html
