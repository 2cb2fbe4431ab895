#!/usr/bin/env bash
# The whole suite: gates, then SQLite (with the RQ backend tests when Redis answers), then
# PostgreSQL when it answers.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

echo "== lint"
$BIN/ruff check .
$BIN/ruff format --check .

echo "== django checks"
DATABASE_URL=sqlite:///:memory: $BIN/python manage.py check
DATABASE_URL=sqlite:///:memory: $BIN/python manage.py makemigrations --check --dry-run

if $BIN/python -c "import redis; redis.Redis(socket_connect_timeout=2).ping()" 2>/dev/null; then
  echo "== Redis answers on 127.0.0.1:6379: the RQ backend tests run (tests/test_rq_backend.py)"
else
  echo "== Redis does not answer on 127.0.0.1:6379: skipping the RQ backend tests"
fi

echo "== tests on SQLite"
$BIN/pytest -p no:cacheprovider "$@"

PG_URL=${SANGATHAN_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
if $BIN/python - "$PG_URL" <<'PY' 2>/dev/null
import sys, psycopg
import dj_database_url
cfg = dj_database_url.parse(sys.argv[1])
psycopg.connect(host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"],
                dbname=cfg["NAME"], connect_timeout=3).close()
PY
then
  echo "== tests on PostgreSQL ($PG_URL)"
  DATABASE_URL="$PG_URL" $BIN/pytest -p no:cacheprovider -m "not browser and not bench" "$@"
else
  echo "== PostgreSQL at $PG_URL does not answer: skipping the PostgreSQL leg"
fi
