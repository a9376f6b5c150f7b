"""The recordings, for tests: a missing one skips the test outside CI and fails it in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pricing_dev.recordings import (
    DUMMY_API_KEYS,
    ENDPOINTS_DIR,
    OWN_FIXTURES_DIR,
    RECORDINGS_DIR,
    REPLAY_DETAILS,
    REPLAY_FILES,
    REPO_ROOT,
)

__all__ = ["DUMMY_API_KEYS", "ENDPOINTS_DIR", "OWN_FIXTURES_DIR", "RECORDINGS_DIR", "REPLAY_AMBIGUOUS_ENDPOINTS",
           "REPLAY_DETAILS", "REPLAY_FILES", "REPLAY_UNMARKED_FREE", "REPO_ROOT", "recording", "require_file"]


def recording(name: str) -> Path:
    """A file from the shared recordings; skips outside CI when the folder is absent."""
    return require_file(RECORDINGS_DIR / name)


def require_file(path: Path) -> Path:
    """The recorded file, or a skip outside CI / a failure in CI when it is missing."""
    if not path.exists():
        if os.environ.get("CI"):
            raise FileNotFoundError(f"recording {path} is missing (CI must have ../shared/fixtures/providers)")
        pytest.skip(f"recordings folder {RECORDINGS_DIR} not present on this machine")
    return path


# What syncing the replayed recordings holds or quarantines on its own, every time: new models
# (and endpoints) priced zero that the upstream does not mark free (the guard's unmarked_free),
# and OpenRouter endpoints listed twice under one tag at different prices (quarantined).
REPLAY_UNMARKED_FREE = {
    "openrouter": {"google/lyria-3-clip-preview", "google/lyria-3-pro-preview", "openrouter/free",
                   "google/lyria-3-clip-preview#google-ai-studio", "google/lyria-3-pro-preview#google-ai-studio"},
    "vercel": {"meituan/longcat-flash-chat"},
    "together": {"ServiceNow-AI/Apriel-1.5-15b-Thinker", "ServiceNow-AI/Apriel-1.6-15b-Thinker",
                 "google/gemma-2b-it-Ishan", "togethercomputer/MoA-1", "togethercomputer/MoA-1-Turbo"},
    "novita": {"meta-llama/llama-3.2-1b-instruct"},
}
REPLAY_AMBIGUOUS_ENDPOINTS = {
    "openrouter": {"google/gemma-4-31b-it#together", "qwen/qwen3-235b-a22b-2507#google-vertex/us-south1"},
}
