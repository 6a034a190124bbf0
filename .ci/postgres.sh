#!/usr/bin/env bash
# Starts Debian's PostgreSQL 15 cluster on loopback and creates the test role.
# Prints the admin URL the tests use (PG_TEST_URL). Idempotent.
set -euo pipefail
ver=15
if ! pg_lsclusters -h | grep -q "^$ver main"; then
  pg_createcluster "$ver" main >/dev/null
fi
conf=/etc/postgresql/$ver/main/postgresql.conf
grep -q "^listen_addresses = '127.0.0.1'" "$conf" || echo "listen_addresses = '127.0.0.1'" >>"$conf"
# The suite creates a database per test file; give it room for the parallel runs.
grep -q '^max_connections = 300' "$conf" || echo 'max_connections = 300' >>"$conf"
pg_ctlcluster "$ver" main restart >/dev/null 2>&1 || pg_ctlcluster "$ver" main start
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
pg_isready -h 127.0.0.1 -p 5432 >/dev/null
su postgres -c "psql -q -v ON_ERROR_STOP=1" <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'palisade_test') THEN
    CREATE ROLE palisade_test LOGIN CREATEDB PASSWORD 'palisade-test-only';
  END IF;
END $$;
SQL
echo "postgres://palisade_test:palisade-test-only@127.0.0.1:5432/postgres"
