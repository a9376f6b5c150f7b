"""One settings object: every field is documented in docs/configuration.md, a bad value is a clear error
naming its variable, and the process reads the environment once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from pricing_pipeline.settings import Settings, settings
from pricing_pipeline_tests.recordings import REPO_ROOT


def test_every_setting_is_in_the_readme_table():
    table = REPO_ROOT.joinpath("docs", "configuration.md").read_text()
    documented = {name for name in Settings.model_fields if name != "guard_thresholds"}
    missing = sorted(name for name in documented if f"`PRICING_{name.upper()}`" not in table)
    assert missing == []
    assert "`PRICING_GUARD_<THRESHOLD>`" in table


def test_a_bad_value_names_its_variable(monkeypatch):
    monkeypatch.setenv("PRICING_RETRY_MAX", "-1")
    with pytest.raises(ValidationError, match="retry_max"):
        Settings()
    monkeypatch.setenv("PRICING_RETRY_MAX", "3")
    monkeypatch.setenv("PRICING_CROSS_SOURCE_TOLERANCE", "NaN")
    with pytest.raises(ValidationError, match="cross_source_tolerance"):
        Settings()
    monkeypatch.delenv("PRICING_CROSS_SOURCE_TOLERANCE")
    monkeypatch.setenv("PRICING_GUARD_MAX_JUMP_RATIO", "0")
    with pytest.raises(ValueError, match="PRICING_GUARD_MAX_JUMP_RATIO"):
        Settings()


def test_read_once_per_process(monkeypatch):
    monkeypatch.setenv("PRICING_GUARD_MAX_JUMP_RATIO", "20")
    first = settings()
    assert first.guard_thresholds.max_jump_ratio == Decimal(20)
    monkeypatch.setenv("PRICING_GUARD_MAX_JUMP_RATIO", "30")
    assert settings() is first and settings().guard_thresholds.max_jump_ratio == Decimal(20)
    settings.cache_clear()
    assert settings().guard_thresholds.max_jump_ratio == Decimal(30)
