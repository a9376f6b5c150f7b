"""Which values are secrets, and that every place they could be written redacts them."""

from __future__ import annotations

import pytest

from pricing_pipeline.providers.errors import UpstreamError
from pricing_pipeline.redaction import REDACTED, redact, redact_bytes, secret_values


@pytest.fixture
def secrets(monkeypatch):
    monkeypatch.setenv("TOGETHER_API_KEY", "tgp-secret-key-123")
    monkeypatch.setenv("PRICING_DATABASE_URL", "postgresql+psycopg2://pricing:db%40pass-word@db:5432/pricing")
    monkeypatch.setenv("PRICING_PUSHGATEWAY_URL", "https://metrics:push-secret@pushgateway:9091")
    monkeypatch.setenv("PRICING_EXTRA_SECRET_VARS", "SLACK_WEBHOOK_URL")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.example/T000/B000/XXXX")
    monkeypatch.setenv("CHUTES_API_KEY", "abc")  # too short to be told from ordinary text


def test_every_configured_secret_is_redacted(secrets):
    values = secret_values()
    assert {"tgp-secret-key-123", "db@pass-word", "db%40pass-word", "push-secret",
            "https://hooks.slack.example/T000/B000/XXXX"} <= set(values)
    assert "abc" not in values
    text = "key tgp-secret-key-123, db db%40pass-word / db@pass-word, push-secret, https://hooks.slack.example/T000/B000/XXXX"
    assert redact(text) == f"key {REDACTED}, db {REDACTED} / {REDACTED}, {REDACTED}, {REDACTED}"
    assert redact_bytes(b'{"echo": "Bearer tgp-secret-key-123"}') == b'{"echo": "Bearer [redacted]"}'


def test_upstream_errors_and_the_sync_log_never_carry_a_secret(secrets, sqlite_url):
    from pricing_pipeline.store import PricingStore

    error = UpstreamError("together", "http_4xx", "401: key tgp-secret-key-123 is invalid")
    assert "tgp-secret-key-123" not in str(error) and REDACTED in str(error)
    store = PricingStore(sqlite_url)
    store.migrate()
    store.fail_sync("together", "run-1", "http_4xx", "echo: tgp-secret-key-123")
    assert store.sync_row("run-1")["error"] == f"echo: {REDACTED}"
    store.dispose()


def test_every_adapter_key_variable_is_recognised_as_a_secret():
    from pricing_pipeline.providers.registry import ADAPTERS
    from pricing_pipeline.redaction import API_KEY_SUFFIX

    assert all(a.api_key_env.endswith(API_KEY_SUFFIX) for a in ADAPTERS.values() if a.api_key_env)
