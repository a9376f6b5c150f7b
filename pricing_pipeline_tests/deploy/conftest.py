"""The compose topology under podman, one per test session (`make test` runs the container
tests in a pytest of their own, without xdist)."""

from __future__ import annotations

import hashlib

import pytest

from pricing_pipeline_tests.deploy.podman import build_image, podman, require_podman
from pricing_pipeline_tests.deploy.topology import standin_topology, stop_topology
from pricing_pipeline_tests.recordings import REPLAY_FILES, REPO_ROOT, require_file

CHECKOUT = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:8]


@pytest.fixture(scope="session")
def topology(tmp_path_factory):
    require_podman()
    for path in REPLAY_FILES.values():
        require_file(path)
    project = f"pricing-topology-{CHECKOUT}"
    # compose runs our roles from a name of the topology's own, so deploying a change retags it
    # and leaves the image test's build alone
    deployed = f"localhost/{project}:deployed"
    podman("tag", build_image(), deployed)
    started = standin_topology(tmp_path_factory.mktemp("topology"), deployed, REPLAY_FILES, project)
    started.image, started.work = deployed, tmp_path_factory.mktemp("builds")
    stop_topology(started)  # what a crashed session may have left
    try:
        started.compose("up", "-d")
        started.seconds_to_healthy = started.wait_healthy()
        yield started
    finally:
        stop_topology(started)
        # our tags only: the image test's build stays for the next run's layers
        podman("rmi", "--ignore", deployed, f"localhost/{project}:next", check=False)
