"""Shared test fixtures: a real local HTTP server for provider APIs, real databases (SQLite
file and PostgreSQL on 127.0.0.1:5432), and Dagster definitions bound to them."""

from __future__ import annotations

import os
import tempfile
import uuid

# Retries are exercised with short delays; set before pricing_pipeline is imported.
os.environ.setdefault("PRICING_RETRY_MAX", "1")
os.environ.setdefault("PRICING_RETRY_DELAY_SECONDS", "0.05")
# The change watcher polls upstream on its own: off in the deployments the tests start (their
# run counts are the tests' own), on where a test watches (pricing_pipeline_tests/watch).
os.environ.setdefault("PRICING_WATCH_ENABLED", "false")
# Importing the code location resolves the default database under DAGSTER_HOME: keep the
# tests' default out of the working tree.
os.environ["DAGSTER_HOME"] = tempfile.mkdtemp(prefix="pricing-tests-home-")

import pytest
import sqlalchemy as sa

from pricing_dev.upstream_server import UpstreamServer
from pricing_pipeline.settings import settings
from pricing_pipeline_tests import process_leaks
from pricing_pipeline_tests.recordings import DUMMY_API_KEYS, REPLAY_DETAILS, REPLAY_FILES, require_file

# Before any test starts a process, so that every process it starts carries the mark.
SESSION_TOKEN = process_leaks.mark_session()

POSTGRES_ADMIN_URL = os.environ.get("PRICING_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session", autouse=True)
def no_process_outlives_the_session():
    """Fails the session (pytest-xdist: each worker's) if a process its tests started is still
    running at its end; such processes are killed, and named in the failure."""
    yield
    leaked = process_leaks.leaked_processes(SESSION_TOKEN)
    assert not leaked, "processes started by the tests outlived them:\n" + "\n".join(
        f"  {pid}: {cmd}" for pid, cmd in sorted(leaked.items())
    )


@pytest.fixture(autouse=True)
def fresh_settings():
    """Settings are read once per process; a test that sets a variable gets them re-read."""
    settings.cache_clear()
    yield
    settings.cache_clear()


@pytest.fixture(scope="session")
def payloads():
    """Parsed recordings, handed out as private copies to mutate (guard/conftest.py)."""
    from pricing_pipeline_tests.guard.conftest import Payloads

    return Payloads()


@pytest.fixture
def upstream():
    """A fresh local HTTP server standing in for provider APIs."""
    server = UpstreamServer().start()
    yield server
    server.stop()


@pytest.fixture
def replay(upstream, monkeypatch):
    """Every provider's URL pointed at the local server, replaying its recording."""
    for provider, path in REPLAY_FILES.items():
        require_file(path)
        monkeypatch.setenv(f"PRICING_{provider.upper()}_URL", upstream.serve_file(f"/{provider}", path))
    for provider, (folder, suffix) in REPLAY_DETAILS.items():
        upstream.serve_tree(f"/{provider}", require_file(folder), suffix)
    for name, value in DUMMY_API_KEYS.items():
        monkeypatch.setenv(name, value)
    return upstream


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'pricing.db'}"


@pytest.fixture(scope="session")
def postgres_admin():
    engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_admin):
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"pricing_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    """Both backends the pricing database runs on."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture
def store(db_url):
    from pricing_pipeline.store import PricingStore

    store = PricingStore(db_url)
    store.migrate()
    yield store
    store.dispose()


@pytest.fixture
def sync_defs(db_url):
    """The code location's definitions, bound to the test database."""
    from pricing_pipeline.definitions import build_definitions
    from pricing_pipeline.defs.sync.resources import PricingDatabase, UpstreamApi

    return build_definitions(
        {"pricing_db": PricingDatabase(url=db_url), "upstream": UpstreamApi(timeout_seconds=2, connect_timeout_seconds=2)}
    )


@pytest.fixture
def dagster_instance():
    from dagster import DagsterInstance

    with DagsterInstance.ephemeral() as instance:
        yield instance


@pytest.fixture
def run_sync(sync_defs, dagster_instance):
    """Run the sync job for one provider, as the schedule and the CLI do."""
    from pricing_pipeline.defs.sync.jobs import SYNC_JOB_NAME

    job = sync_defs.resolve_job_def(SYNC_JOB_NAME)

    def run(provider: str, **kwargs):
        return job.execute_in_process(
            partition_key=provider, instance=dagster_instance, raise_on_error=False, **kwargs
        )

    return run
