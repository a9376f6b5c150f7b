"""Where the recorded provider responses live, and which one each provider replays.

Real recordings come from ``../shared/fixtures/providers`` (``PRICING_RECORDINGS_DIR``; never
copied into the repo). For providers with no public recording we keep a small fixture in the
real API's shape under ``pricing_dev/fixtures``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RECORDINGS_DIR = Path(os.environ.get("PRICING_RECORDINGS_DIR", REPO_ROOT.parent / "shared" / "fixtures" / "providers"))
OWN_FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"

# Providers whose real API needs a key get a placeholder one when replaying.
DUMMY_API_KEYS = {"TOGETHER_API_KEY": "test-together-key", "NOVITA_API_KEY": "test-novita-key"}

# provider -> file replayed as its model list (the newest recording where there are two)
REPLAY_FILES: dict[str, Path] = {
    # the day whose per-model endpoint lists were recorded with it (REPLAY_DETAILS)
    "openrouter": RECORDINGS_DIR / "openrouter_endpoints" / "2026-07-21" / "models.json",
    "vercel": OWN_FIXTURES_DIR / "vercel_models.json",
    "deepinfra": RECORDINGS_DIR / "deepinfra_v1_openai_models_2026-04-17.json",
    "together": RECORDINGS_DIR / "together_v1_models_2026-01-23.json",
    "chutes": RECORDINGS_DIR / "chutes_v1_models_2026-08-04.json",
    "novita": OWN_FIXTURES_DIR / "novita_models.json",
    "modelsdev": RECORDINGS_DIR / "models_dev_api_2026-06-10.json",
    "litellm": RECORDINGS_DIR / "litellm_model_prices_and_context_window_2026-08-01.json",
}


# provider -> (folder of per-model detail bodies, path suffix): OpenRouter's endpoint lists,
# served at `<models URL>/<model id>/endpoints` from `<folder>/<model id>.json`.
ENDPOINTS_DIR = RECORDINGS_DIR / "openrouter_endpoints"
REPLAY_DETAILS: dict[str, tuple[Path, str]] = {
    "openrouter": (ENDPOINTS_DIR / "2026-07-21" / "endpoints", "/endpoints"),
}
