# The two commands a new user runs (README.md): `make sync` and `make test`.
# Each sets up what it needs: a virtualenv in .venv, and for tests the Prometheus tools.

VENV ?= .venv
PYTHON ?= python3
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# `make sync REPLAY=../shared/fixtures/providers`: no internet here, so replay recordings
# from a local HTTP server instead of calling the real provider APIs.
REPLAY ?=
# The tests' real parts from Debian: the Prometheus tools, Chromium for the browser test, and
# podman (with runc, netavark and aardvark-dns, iptables, which netavark runs to set up the
# bridge network but does not depend on, and debootstrap for the stand-in base image) for the
# image test.
TEST_TOOLS = promtool prometheus amtool prometheus-alertmanager prometheus-pushgateway prometheus-blackbox-exporter chromium \
	podman runc /usr/lib/podman/netavark /usr/lib/podman/aardvark-dns /usr/sbin/iptables debootstrap
TEST_PACKAGES = prometheus prometheus-alertmanager prometheus-pushgateway prometheus-blackbox-exporter chromium \
	podman runc netavark aardvark-dns iptables debootstrap
# Podman's settings for this machine kind (runc, cgroupfs, no default ulimits), /etc untouched.
export CONTAINERS_CONF ?= $(CURDIR)/deploy/podman/containers.conf

.PHONY: sync test install tools dagster-home dev image-check topology-check

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

dagster-home:
	mkdir -p $(DAGSTER_HOME)
	test -e $(DAGSTER_HOME)/dagster.yaml || ln -s $(CURDIR)/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

tools:
	@missing=""; for t in $(TEST_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing test tools (missing:$$missing)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends $(TEST_PACKAGES) >/dev/null \
	  || { $$SUDO apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends $(TEST_PACKAGES) >/dev/null; }; \
	fi

sync: install dagster-home
ifeq ($(REPLAY),)
	$(VENV)/bin/pricing-pipeline sync
else
	PRICING_RECORDINGS_DIR=$(abspath $(REPLAY)) $(VENV)/bin/python -m pricing_dev.replay -- $(VENV)/bin/pricing-pipeline sync
endif

# `make dev REPLAY=../shared/fixtures/providers`: the webserver, the daemon (the schedule) and
# every run they start inherit the replay server's provider URLs. Without REPLAY, say at start
# when there is no internet (every sync would fail). DEV_ARGS: more `dagster dev` options (-p PORT).
# Started from DAGSTER_HOME: `dagster dev` warns that a dagster.yaml in its working directory
# "will not be used" when DAGSTER_HOME is elsewhere, though DAGSTER_HOME links to that very file.
DEV_ARGS ?=
DEV = cd $(DAGSTER_HOME) && PYTHONPATH=$(CURDIR)
DAGSTER_DEV = $(CURDIR)/$(VENV)/bin/dagster dev -w $(CURDIR)/workspace.yaml $(DEV_ARGS)
dev: install dagster-home
ifeq ($(REPLAY),)
	@$(VENV)/bin/python -m pricing_dev.online
	$(DEV) $(DAGSTER_DEV)
else
	$(DEV) PRICING_RECORDINGS_DIR=$(abspath $(REPLAY)) $(CURDIR)/$(VENV)/bin/python -m pricing_dev.replay -- $(DAGSTER_DEV)
endif

# The suite, then the container tests (image, compose topology, fault drill: one image build and
# one topology for all of them) in a pytest of their own; both always run, and either failing
# fails the target. A PYTEST_ARGS selection that leaves one of them nothing to run (exit 5) is fine.
test: install tools
	@status=0; \
	$(VENV)/bin/pytest -q -n auto -m "not containers" $(PYTEST_ARGS) || [ $$? = 5 ] || status=1; \
	$(VENV)/bin/pytest -q -rs -m containers $(PYTEST_ARGS) || [ $$? = 5 ] || status=1; \
	exit $$status

# Build deploy/Dockerfile unchanged with podman (on the real base image where it can be pulled,
# else a debootstrap stand-in: deploy/podman/base-image.sh says which) and run one
# `pricing-pipeline sync` in it against the replayed recordings. `make test` runs the same test
# whenever podman works (CI insists: .ci/run); here it must (pricing_pipeline_tests/deploy/test_image.py).
image-check: install tools
	PRICING_CONTAINER_TESTS=1 $(VENV)/bin/pytest -q -s -rs pricing_pipeline_tests/deploy/test_image.py

# The one-host topology of deploy/compose.yaml under podman-compose, with Debian-built stand-ins
# for the images Docker Hub would give, then the fault drill, on their own (`make test` runs them
# too): pricing_pipeline_tests/deploy/test_topology.py, test_topology_drill.py.
topology-check: install tools
	PRICING_CONTAINER_TESTS=1 $(VENV)/bin/pytest -q -s -rs pricing_pipeline_tests/deploy/test_topology.py \
	  pricing_pipeline_tests/deploy/test_topology_drill.py
