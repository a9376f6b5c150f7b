"""The provider lists in monitoring/ are generated from the registry (monitoring/providers.py):
committed files are up to date, and a provider added to the registry appears everywhere the
lists are, with its adapter's minimum model count, without editing a rule by hand."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from pricing_pipeline.providers.base import ProviderAdapter
from pricing_pipeline_tests.recordings import REPO_ROOT

GENERATOR = REPO_ROOT / "monitoring" / "providers.py"


def load_generator():
    spec = importlib.util.spec_from_file_location("monitoring_providers", GENERATOR)
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
