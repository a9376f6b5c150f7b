"""Unit detection on the gateway's real diagnostic sample.

Ground truth. The file's 100 sample rows are the top 100 of a 1,000-row diagnostic ordered by
``pricing_prompt`` (0.27 to 65). Judged row by row:

* 99 rows are USD per 1M: 77 are in our catalogs (models.dev, LiteLLM, OpenRouter) at a
  per-1M price within 10x of the row (and 1000x away from the per-1K or per-token reading);
  the other 22 are Together / aimo list prices per 1M (Together's Llama 3.3 70B Turbo at
  $0.88, Qwen2.5 72B Turbo at $1.20, ...), where a per-1K reading would mean $270 to $65,000
  per 1M tokens. Cartesia Sonic 3 ($65) and Kokoro ($4) are text-to-speech prices per 1M
  characters: the per-1M scale, with characters for tokens.
* 1 row has no token unit at all: Together's Whisper large-v3 is billed per audio minute;
  the row carries Llama 4 Maverick's $0.27 / $0.85 (the next row), a copy error. Expected
  answer: ``unknown``.

Because these rows are all one unit, the same 99 rows are also rescaled to per-token
(/1e6) and per-1K (/1e3) copies, whose ground truth holds by construction: 298 cases in all,
the mixed units the diagnostic describes. The diagnostic's own magnitude thresholds (below
1e-6 "per token", below 0.001 "per 1K", else "per 1M") are scored on the same cases.
"""

import json
from collections import Counter
from decimal import Decimal

import pytest

from pricing_pipeline.pricing.records import PriceRecord
from pricing_pipeline.pricing.unit_detection import CatalogIndex, Unit, detect_unit, name_key
from pricing_pipeline_tests.guard.conftest import MODELSDEV_DAY2
from pricing_pipeline_tests.recordings import recording

DIAGNOSTIC = "gatewayz_pricing_diagnostic_report_db_sample.json"
NO_TOKEN_UNIT = {"Whisper large-v3"}


@pytest.fixture(scope="module")
def catalog(payloads):
    modelsdev, openrouter = payloads.get(MODELSDEV_DAY2), payloads.get("openrouter")
    names = {
        ("modelsdev", f"{provider}/{key}"): model["name"]
        for provider, data in modelsdev.items()
        for key, model in data["models"].items()
        if model.get("name")
    }
    names.update({("openrouter", m["id"]): m["name"] for m in openrouter["data"]})
    records = (
        payloads.records("modelsdev", MODELSDEV_DAY2) + payloads.records("litellm") + payloads.records("openrouter")
    )
    return CatalogIndex.from_records(records, names)


@pytest.fixture(scope="module")
def samples():
    return json.loads(recording(DIAGNOSTIC).read_bytes())["samples"]


def cases(samples):
    """(model, prompt, completion, true unit): the stored rows, then their rescaled copies."""
    out = []
    for s in samples:
        truth = Unit.UNKNOWN if s["model_name"] in NO_TOKEN_UNIT else Unit.PER_1M
        out.append((s["model_name"], Decimal(repr(s["pricing_prompt"])), Decimal(repr(s["pricing_completion"])), truth))
    for unit, divisor in ((Unit.PER_TOKEN, Decimal(10) ** 6), (Unit.PER_1K, Decimal(1000))):
        out += [(m, p / divisor, c / divisor, unit) for m, p, c, truth in out[: len(samples)] if truth == Unit.PER_1M]
    return out


def diagnostic_rule(prompt: Decimal) -> Unit:
    """The diagnostic script's own classification (gatewayz-backend diagnose_pricing_format.py)."""
    if prompt < Decimal("0.000001"):
        return Unit.PER_TOKEN
    if prompt < Decimal("0.001"):
        return Unit.PER_1K
    return Unit.PER_1M


def test_accuracy_on_the_real_diagnostic_sample(catalog, samples):
    assert len(samples) == 100
    all_cases = cases(samples)
    assert len(all_cases) == 298
    guesses = [(truth, detect_unit(m, p, c, catalog)) for m, p, c, truth in all_cases]

    stored = guesses[:100]
    assert sum(g.unit == truth for truth, g in stored) == 100
    assert Counter(g.basis for _, g in stored) == {"catalog": 77, "plausibility": 22, "non-token": 1}

    rescaled = guesses[100:]
    wrong = [(truth.value, g.unit.value, g.basis) for truth, g in rescaled if g.unit != truth]
    # Only Cartesia Sonic 3 (not in any catalog): $0.065 is plausible per 1M and per 1K alike.
    assert wrong == [("per_token", "per_1k", "ambiguous"), ("per_1k", "per_1m", "ambiguous")]
    assert sum(g.unit == truth for truth, g in guesses) == 296  # 99.3%

    # The diagnostic's thresholds on the same cases: right on the stored rows, mostly wrong on
    # the rescaled ones at or above $1 per 1M (a per-token $2.50/1M price, 2.5e-6, is what it
    # calls "per 1K").
    rule = [diagnostic_rule(p) == truth for _, p, _, truth in all_cases]
    assert (sum(rule[:100]), sum(rule[100:199]), sum(rule[199:])) == (99, 56, 56)  # 211 of 298


def test_catalog_lookup_uses_loose_names(catalog):
    assert name_key("Anthropic: Claude Opus 4.1") == name_key("claude-opus-4.1") == "claudeopus41"
    assert name_key("Meta Llama/Meta Llama 3.1 405B Instruct") == name_key("meta-llama/Meta-Llama-3.1-405B-Instruct")
    ref = catalog.lookup("GPT 5 Pro")
    assert (ref.input, ref.output) == (Decimal(15), Decimal(120))


def test_each_unit_is_recognised_from_the_catalog(catalog):
    assert detect_unit("GPT 5 Pro", "0.000015", "0.00012", catalog).unit == Unit.PER_TOKEN
    assert detect_unit("GPT 5 Pro", "0.015", "0.12", catalog).unit == Unit.PER_1K
    guess = detect_unit("GPT 5 Pro", 15.0, 120.0, catalog)
    assert (guess.unit, guess.basis, guess.per_mtok, guess.reference) == (Unit.PER_1M, "catalog", Decimal(15), Decimal(15))


def test_unknown_when_there_is_nothing_to_go_by():
    assert detect_unit("Free model", 0, 0).unit == Unit.UNKNOWN
    assert detect_unit("Unlisted", 5000.0).unit == Unit.UNKNOWN  # no reading is a plausible token price
    assert detect_unit("Unlisted", "0.0000025").unit == Unit.PER_TOKEN  # $2.5 per 1M read per token
    index = CatalogIndex.from_records(
        [PriceRecord("litellm", "groq/whisper-large-v3", raw={"mode": "audio_transcription"})]
    )
    guess = detect_unit("Whisper large-v3", 0.27, 0.85, index)
    assert (guess.unit, guess.basis) == (Unit.UNKNOWN, "non-token")
