#!/bin/sh
# PostgreSQL's first start (the postgres image runs /docker-entrypoint-initdb.d/*.sh with its
# env): the pricing database, and prices-api's role that may only read it (docs/serving.md).
set -eu
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres -c 'CREATE DATABASE pricing'
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d pricing -v password="$PRICING_READER_PASSWORD" <<'SQL'
CREATE ROLE pricing_reader LOGIN PASSWORD :'password';
GRANT CONNECT ON DATABASE pricing TO pricing_reader;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO pricing_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO pricing_reader;
SQL
