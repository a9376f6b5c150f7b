"""Podman as CI runs it: Debian's podman with runc, configured by the repo's
deploy/podman/containers.conf (CONTAINERS_CONF; /etc/containers is left alone), and the image
built from deploy/Dockerfile unchanged on the base deploy/podman/base-image.sh picks."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys

import pytest

from pricing_pipeline_tests.recordings import REPO_ROOT

PODMAN_DIR = REPO_ROOT / "deploy" / "podman"
ENV = {**os.environ, "CONTAINERS_CONF": str(PODMAN_DIR / "containers.conf")}
# One tag per checkout: worktrees on one machine share podman's storage. Kept after the test
# so the next build reuses its layers.
IMAGE = f"localhost/pricing-pipeline-ci:{hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:8]}"
# Hang guards only (a cold build downloads dagster and its libraries); nothing asserts speed.
BUILD_HANG_GUARD_SECONDS = 3600
RUN_HANG_GUARD_SECONDS = 900
# The container tests share one image build and one topology: `make test` runs them in a pytest
# of their own after the rest (beside it, on 2 cores, both lanes crawled at load 25 and hang
# guards fired).
CONTAINERS = pytest.mark.containers


def require_podman() -> None:
    """Skip where podman cannot run containers; fail instead where PRICING_CONTAINER_TESTS=1
    (CI, `make image-check`, `make topology-check`) insists on them."""
    why = why_podman_unusable()
    if why is not None:
        if os.environ.get("PRICING_CONTAINER_TESTS") == "1":
            pytest.fail(f"PRICING_CONTAINER_TESTS=1 but podman is unusable: {why}")
        pytest.skip(f"no container engine: {why}")


@functools.cache
def why_podman_unusable() -> str | None:
    """None when podman can run containers here, else why not (the test's skip reason)."""
    if os.environ.get("PRICING_CONTAINER_TESTS") == "0":
        return "PRICING_CONTAINER_TESTS=0"
    if not shutil.which("podman"):
        return "podman is not installed (make tools installs it)"
    info = subprocess.run(["podman", "info"], env=ENV, capture_output=True, text=True, timeout=120)
    if info.returncode != 0:
        return f"podman info failed: {info.stderr.strip()[-300:]}"
    return None


def podman(*args: str, timeout: float = RUN_HANG_GUARD_SECONDS, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["podman", *args], env=ENV, capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"podman {' '.join(args)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def base_image() -> tuple[str, str]:
    """(image, what it is): the Dockerfile's own base, or the cached or new stand-in."""
    result = subprocess.run([str(PODMAN_DIR / "base-image.sh")], env=ENV, capture_output=True, text=True,
                            timeout=BUILD_HANG_GUARD_SECONDS)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip(), result.stderr.strip().splitlines()[-1]


def build_image() -> str:
    """deploy/Dockerfile, unchanged, built as IMAGE; says on stderr which base it used."""
    base, which = base_image()
    print(f"\n{which}", file=sys.stderr)
    previous = image_id(IMAGE)
    # --network=host: the RUN steps reach PyPI without a CNI bridge (none is configured here).
    podman("build", "--network=host", "--build-arg", f"PYTHON_IMAGE={base}", "-f", "deploy/Dockerfile",
           "-t", IMAGE, str(REPO_ROOT), timeout=BUILD_HANG_GUARD_SECONDS)
    if previous and previous != image_id(IMAGE):
        podman("rmi", previous, check=False)  # our previous build, now untagged; never others' images
    return IMAGE


def image_id(image: str) -> str | None:
    result = podman("image", "inspect", "--format", "{{.Id}}", image, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def standin_image(containerfile: str, base: str) -> str:
    """A stand-in built from deploy/podman/standins/<containerfile> on ``base``, tagged by a hash
    of its files and base so later runs reuse it."""
    standins = PODMAN_DIR / "standins"
    digest = hashlib.sha256(base.encode())
    for path in sorted(standins.iterdir()):
        digest.update(path.read_bytes())
    tag = f"localhost/pricing-standin-{containerfile.split('.')[0]}:{digest.hexdigest()[:12]}"
    if podman("image", "exists", tag, check=False).returncode != 0:
        podman("build", "--network=host", "--build-arg", f"BASE={base}", "-f", str(standins / containerfile),
               "-t", tag, str(standins), timeout=BUILD_HANG_GUARD_SECONDS)
    return tag
