#!/usr/bin/env bash
# Install everything VidSort's tests need and run the whole suite (see README).
#   ./test.sh                 all tests
#   ./test.sh tests/labeling  a subset (arguments go to pytest)
set -euo pipefail
cd "$(dirname "$0")"

./scripts/system-deps.sh
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
# The OCR wheel asks for the GUI OpenCV build; its real dependencies are in requirements.txt.
.venv/bin/pip install -q --disable-pip-version-check --no-deps -r requirements-ocr.txt
./scripts/services.sh

# Integration tests run on real PostgreSQL and Redis. Without them (and without CI=true)
# the suite falls back to SQLite and those tests skip, saying what to start.
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/vidsort}"
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-redis://127.0.0.1:6379/15}"
export VIDSORT_DATA_DIR="${VIDSORT_DATA_DIR:-$PWD/data/test}"
export VIDSORT_CLIP_MODEL="${VIDSORT_CLIP_MODEL:-vidsort-tiny}"
if [ "${CI:-}" != "true" ]; then
  if ! .venv/bin/python -c "import psycopg,sys,os; psycopg.connect(os.environ['DATABASE_URL'].replace('postgres://','postgresql://',1), connect_timeout=3).close()" 2>/dev/null; then
    echo "PostgreSQL not reachable at $DATABASE_URL: using SQLite; integration tests will skip."
    unset DATABASE_URL
  fi
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/pytest "$@"
