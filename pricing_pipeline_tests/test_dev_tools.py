"""`make dev`'s helpers: the no-internet notice, and the replay wrapper that serves the
recordings to `dagster dev` and everything it starts."""

import os
import signal
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


def test_a_provider_url_already_set_is_kept_and_named():
    script = "import os; print(os.environ['PRICING_VERCEL_URL'], os.environ['PRICING_TOGETHER_URL'])"
    result = subprocess.run(
        [sys.executable, "-m", "pricing_dev.replay", "--", sys.executable, "-c", script],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PRICING_VERCEL_URL": "http://127.0.0.1:9/v1/models"},
    )
    assert result.returncode == 0, result.stderr
    vercel, together = result.stdout.split()
    assert vercel == "http://127.0.0.1:9/v1/models"
    assert together.endswith("/together")
    assert "vercel: PRICING_VERCEL_URL is set, so it is not replayed" in result.stderr


def test_a_background_replay_passes_sigterm_on_to_a_command_that_treats_it_as_sigint():
    """As `make dev &` starts it: SIGINT ignored by the shell, and the command (like `dagster
    dev`) handles SIGTERM the way it handles SIGINT."""
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.getsignal(signal.SIGINT))\n"
        "try:\n    print('ready', flush=True)\n    time.sleep(20)\n"
        "except KeyboardInterrupt:\n    print('interrupted', flush=True)"
    )
    replay = subprocess.Popen(
        [sys.executable, "-m", "pricing_dev.replay", "--", sys.executable, "-c", script],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert replay.stdout.readline().strip() == "ready"
        replay.send_signal(signal.SIGTERM)
        assert replay.stdout.readline().strip() == "interrupted"
        replay.wait(timeout=30)
    finally:
        replay.kill()
