"""The image as CI builds it (pricing_pipeline_tests/deploy/podman.py): deploy/Dockerfile
built unchanged with podman, on the real base or the debootstrap stand-in, then one
`pricing-pipeline sync` in it, as its non-root user, on the embedded SQLite default, against two
replayed provider APIs on this host (the compose topology syncs all eight in the same image). Runs wherever podman is usable (`make tools` installs it);
PRICING_CONTAINER_TESTS=0 skips it, PRICING_CONTAINER_TESTS=1 (CI, `make image-check`) insists."""

from __future__ import annotations

import sqlite3

from pricing_pipeline_tests.deploy.podman import CONTAINERS, build_image, podman, require_podman
from pricing_pipeline_tests.recordings import DUMMY_API_KEYS, REPLAY_FILES, require_file

pytestmark = CONTAINERS
PROVIDERS = ("together", "chutes")  # one needs its API key, one does not


def test_the_image_builds_unchanged_and_runs_a_sync_as_its_own_user(tmp_path, upstream):
    require_podman()
    image = build_image()
    assert podman("run", "--rm", image, "id", "-u").stdout.strip() == "10001"
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)  # the image's user (uid 10001) writes the pricing database here
    env = {**DUMMY_API_KEYS, "PRICING_DATABASE_URL": "sqlite:////data/pricing.db"}
    for provider in PROVIDERS:
        env[f"PRICING_{provider.upper()}_URL"] = upstream.serve_file(f"/{provider}", require_file(REPLAY_FILES[provider]))
    run = podman("run", "--rm", "--network=host", "-v", f"{data}:/data",
                 *[arg for name, value in env.items() for arg in ("-e", f"{name}={value}")],
                 image, "pricing-pipeline", "sync", *[a for p in PROVIDERS for a in ("--provider", p)], check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    with sqlite3.connect(data / "pricing.db") as db:
        synced = dict(db.execute("SELECT provider, status FROM sync_log"))
        (prices,) = db.execute("SELECT count(*) FROM price_history").fetchone()
    assert synced == {provider: "success" for provider in PROVIDERS}
    assert prices > 0
    # every file the sync wrote belongs to the image's user, not root
    assert {p.stat().st_uid for p in data.iterdir()} == {10001}
