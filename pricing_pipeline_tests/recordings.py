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

__all__ = ["DUMMY_API_KEYS", "ENDPOINTS_DIR", "OWN_FIXTURES_DIR", "RECORDINGS_DIR", "REPLAY_DETAILS", "REPLAY_FILES",
           "REPO_ROOT", "recording", "require_file"]


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
