"""`make dev`'s helpers: the no-internet notice, and the replay wrapper that serves the
recordings to `dagster dev` and everything it starts."""

import subprocess
import sys

from pricing_dev import online
from pricing_pipeline_tests.metrics.conftest import free_port
from pricing_pipeline_tests.recordings import REPO_ROOT


def test_an_unreachable_probe_prints_the_replay_hint(monkeypatch, capsys):
    monkeypatch.setattr(online, "PROBE", ("127.0.0.1", free_port()))  # nothing listens there
    assert online.main() == 0  # informs, never stops `make dev`
    err = capsys.readouterr().err
    assert err.startswith("pricing-pipeline: no internet (127.0.0.1: ")
    assert "make dev REPLAY=../shared/fixtures/providers" in err


def test_the_replay_wrapper_hands_every_provider_url_and_the_dummy_keys_to_the_command():
    script = "import os; print(os.environ['PRICING_TOGETHER_URL'], os.environ['TOGETHER_API_KEY'])"
    result = subprocess.run(
        [sys.executable, "-m", "pricing_dev.replay", "--", sys.executable, "-c", script],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    url, key = result.stdout.split()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/together")
    assert key == "test-together-key"
