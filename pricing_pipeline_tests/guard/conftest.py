"""Fixtures of the price guard tests: real recordings, loaded once per session."""

from __future__ import annotations

import copy
import json

import pytest

from pricing_pipeline.providers.registry import get_adapter
from pricing_pipeline_tests.recordings import REPLAY_FILES, REPLAY_UNMARKED_FREE, recording, require_file

MODELSDEV_DAY1 = "models_dev_api_2026-06-09.json"
MODELSDEV_DAY2 = "models_dev_api_2026-06-10.json"
# The OpenRouter list the cross-source numbers were measured on (the replayed one is the
# endpoint recordings' day, 2026-07-21).
OPENROUTER_0801 = "openrouter_api_v1_models_2026-08-01.json"


def cross_source_key(provider: str) -> str | None:
    return OPENROUTER_0801 if provider == "openrouter" else None


@pytest.fixture
def openrouter_models_only(replay, payloads):
    """The replayed OpenRouter list alone, for the incidents a test makes to be the only ones: no
    endpoints (their requests get 404s: no endpoint records) and without the new zero-priced
    models a first sync holds (REPLAY_UNMARKED_FREE)."""
    replay.trees.clear()
    replay.serve("/openrouter", json.dumps(payloads.models_only("openrouter")))
    return replay


class Payloads:
    """Parsed recordings (never mutated: ``get`` hands out deep copies to mutate)."""

    def __init__(self) -> None:
        self._cache: dict[str, object] = {}

    def _load(self, key: str):
        if key not in self._cache:
            path = require_file(REPLAY_FILES[key]) if key in REPLAY_FILES else recording(key)
            self._cache[key] = json.loads(path.read_bytes())
        return self._cache[key]

    def get(self, key: str):
        """A private copy of a provider's replayed payload (or a named recording)."""
        return copy.deepcopy(self._load(key))

    def models_only(self, key: str = "openrouter"):
        """A private copy of OpenRouter's replayed list without the models priced zero that it
        does not mark free (held as new by unmarked_free)."""
        payload = self.get(key)
        payload["data"] = [m for m in payload["data"] if m["id"] not in REPLAY_UNMARKED_FREE["openrouter"]]
        return payload

    def records(self, provider: str, key: str | None = None):
        return get_adapter(provider).records(self._load(key or provider))

