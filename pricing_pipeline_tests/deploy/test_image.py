"""Opt-in (PRICING_CONTAINER_TESTS=1, with podman or docker and access to the base image's
registry): build deploy/Dockerfile and run one `pricing-pipeline sync` in the image, as its
non-root user, against the replayed provider APIs on this host. Skipped otherwise: no container
engine can pull Docker Hub's base image on this project's build machines (docs/production.md)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid

import pytest

from pricing_pipeline_tests.recordings import DUMMY_API_KEYS, REPLAY_FILES, REPO_ROOT, require_file

ENGINE = next((shutil.which(e) for e in ("podman", "docker") if shutil.which(e)), None)
pytestmark = pytest.mark.skipif(os.environ.get("PRICING_CONTAINER_TESTS") != "1",
                                reason="opt-in: PRICING_CONTAINER_TESTS=1 (podman or docker)")


def test_the_image_runs_a_sync(tmp_path, upstream):
    assert ENGINE, "PRICING_CONTAINER_TESTS=1 but neither podman nor docker is installed"
    tag = f"pricing-pipeline-test:{uuid.uuid4().hex[:8]}"
    subprocess.run([ENGINE, "build", "-f", "deploy/Dockerfile", "-t", tag, "."], cwd=REPO_ROOT, check=True)
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)  # the image's user (uid 10001) writes the pricing database here
    env = {**DUMMY_API_KEYS, "PRICING_DATABASE_URL": "sqlite:////data/pricing.db"}
    for provider, path in REPLAY_FILES.items():
        require_file(path)
        env[f"PRICING_{provider.upper()}_URL"] = upstream.serve_file(f"/{provider}", path)
    try:
        run = subprocess.run(
            [ENGINE, "run", "--rm", "--network=host", "-v", f"{data}:/data",
             *[arg for name, value in env.items() for arg in ("-e", f"{name}={value}")],
             tag, "pricing-pipeline", "sync"],
            capture_output=True, text=True, timeout=600,
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        uid = subprocess.run([ENGINE, "run", "--rm", tag, "id", "-u"], capture_output=True, text=True, check=True)
        assert uid.stdout.strip() == "10001"
    finally:
        subprocess.run([ENGINE, "rmi", "-f", tag], capture_output=True)
    with sqlite3.connect(data / "pricing.db") as db:
        (published,) = db.execute("SELECT count(*) FROM sync_log WHERE status = 'success'").fetchone()
    assert published == len(REPLAY_FILES)
