"""The service needs only read access: over PostgreSQL as a role with SELECT alone (the SQL of
docs/serving.md), every endpoint answers and follows a publish, and a write as that role is
refused."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from pricing_pipeline.gateway.pricebook import PriceBook
from pricing_pipeline.gateway.serve import create_app
from pricing_pipeline.providers.registry import get_adapter
from pricing_pipeline.store import PricingStore
from pricing_pipeline_tests.gateway.conftest import RunningService

# docs/serving.md, "A read-only database user" (database and role names substituted)
READ_ONLY_SQL = """
CREATE ROLE {role} LOGIN PASSWORD '{password}';
GRANT CONNECT ON DATABASE {database} TO {role};
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role};
"""


@pytest.fixture
def reader_url(postgres_admin, postgres_url):
    """A role that may only read the test database (created after the migrations, as in
    production: the pipeline's own user owns the tables)."""
    store = PricingStore(postgres_url)
    store.migrate()
    store.dispose()
    url = sa.engine.make_url(postgres_url)
    role, password = f"pricing_reader_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    owner = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        for statement in READ_ONLY_SQL.format(role=role, password=password, database=url.database).split(";"):
            if statement.strip():
                conn.execute(sa.text(statement))
    yield url.set(username=role, password=password).render_as_string(hide_password=False)
    with owner.connect() as conn:
        conn.execute(sa.text(f"DROP OWNED BY {role}"))
    owner.dispose()
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f"DROP ROLE {role}"))


def test_the_service_works_with_a_select_only_user(reader_url, postgres_url, payloads, tmp_path):
    writer = PricingStore(postgres_url)
    adapter = get_adapter("openrouter")
    payload = payloads.get("openrouter")
    writer.publish("openrouter", adapter.records(payload))
    book = PriceBook.load(reader_url, check_every=timedelta(0))
    usage = {"provider": "openrouter", "model": "openai/gpt-5.4-mini", "input_tokens": 1_000_000}
    with RunningService(create_app(reader_url, tmp_path, book)) as running, \
            httpx.Client(base_url=running.url, timeout=60) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        assert client.get("/v1/prices", params={"provider": "openrouter"}).json()
        assert client.post("/v1/cost", json=usage).status_code == 200
        old_instant = {**usage, "at": "2001-01-01T00:00:00Z"}  # older than the book: read from the database
        assert client.post("/v1/cost", json=old_instant).json()["error"] == "NotListedAt"
        assert client.get("/v1/feeds/prices.json").json()["error"] == "FeedNotWritten"
        next(m for m in payload["data"] if m["id"] == "openai/gpt-5.4-mini")["pricing"]["prompt"] = "0.0000005"
        writer.publish("openrouter", adapter.records(payload))
        assert book.refresh() is True  # the reader sees the pipeline's publish
        assert client.post("/v1/cost", json=usage).json()["total_usd"] == "0.5"
    reader = sa.create_engine(reader_url)
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), reader.begin() as conn:
        conn.execute(sa.text("DELETE FROM price_history"))
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), reader.begin() as conn:
        conn.execute(sa.text("CREATE TABLE sneaky (id int)"))
    reader.dispose()
    writer.dispose()
