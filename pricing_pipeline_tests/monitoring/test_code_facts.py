"""The provider lists and the freshness threshold in monitoring/ are generated from the code
(monitoring/code_facts.py): committed files are up to date, a provider added to the registry
appears everywhere the lists are, with its adapter's minimum model count, and a changed
freshness threshold reaches every rule, without editing a rule by hand."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from datetime import timedelta

from pricing_pipeline.providers.base import ProviderAdapter
from pricing_pipeline_tests.recordings import REPO_ROOT

GENERATOR = REPO_ROOT / "monitoring" / "code_facts.py"


def load_generator():
    spec = importlib.util.spec_from_file_location("monitoring_code_facts", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_lists_match_the_registry():
    result = subprocess.run([sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_new_provider_lands_in_every_list(monkeypatch):
    generator = load_generator()

    class Acme(ProviderAdapter):
        name = "acme"
        default_url = "https://acme.example/v1/models"
        min_expected_models = 7

    monkeypatch.setitem(generator.ADAPTERS, "acme", Acme())
    alerts, slos, metrics = (generator.generated(path) for path in generator.FILES)
    assert 'absent(pricing_last_sync_timestamp{provider="acme"})' in alerts
    assert 'absent(pricing_last_sync_timestamp{provider="acme"})' in slos
    assert 'pricing_last_sync_models{provider="acme"} < 7' in alerts
    assert '|litellm|acme"} < 50' in alerts
    assert "modelsdev, litellm, acme`" in metrics


def test_the_freshness_threshold_reaches_every_rule(monkeypatch):
    generator = load_generator()
    monkeypatch.setattr(generator, "FRESHNESS_FAIL_AFTER", timedelta(hours=10))
    monkeypatch.setattr(generator, "FRESHNESS_WARN_AFTER", timedelta(hours=7))
    alerts, slos, _ = (generator.generated(path) for path in generator.FILES)
    assert "pricing_last_sync_timestamp) > 10 * 3600" in alerts
    assert "pricing_last_sync_timestamp) > 7 * 3600\n        for: 30m" in alerts  # PricingSyncStaleData
    assert "pricing_last_sync_attempt_timestamp) > 10 * 3600" in alerts
    assert "pricing_last_sync_timestamp) <= bool 10 * 3600" in slos
    assert "8 * 3600" not in alerts + slos and "6 * 3600" not in alerts + slos
