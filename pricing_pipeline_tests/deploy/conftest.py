"""The compose topology under podman, one per test session (opt-in: PRICING_TOPOLOGY_TESTS=1)."""

from __future__ import annotations

import hashlib

import pytest

from pricing_pipeline_tests.deploy.podman import build_image, why_podman_unusable
from pricing_pipeline_tests.deploy.topology import start_topology, stop_topology
from pricing_pipeline_tests.recordings import REPLAY_FILES, REPO_ROOT, require_file


@pytest.fixture(scope="session")
def topology(tmp_path_factory):
    assert why_podman_unusable() is None, why_podman_unusable()
    for path in REPLAY_FILES.values():
        require_file(path)
    image = build_image()
    project = f"pricing-topology-{hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:8]}"
    started = start_topology(tmp_path_factory.mktemp("topology"), image, REPLAY_FILES, project)
    try:
        started.seconds_to_healthy = started.wait_healthy()
        yield started
    finally:
        stop_topology(started)
