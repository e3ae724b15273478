#!/usr/bin/env bash
# Set up and run VidSort on the embedded default: SQLite, a local Celery worker on a
# filesystem broker, no Docker, no PostgreSQL, no Redis. See README.
#   ./run.sh                        demo library (generated on first run)
#   VIDSORT_LIBRARY=~/Videos/tiktok ./run.sh
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
.venv/bin/pip install -q --disable-pip-version-check --no-deps -r requirements-ocr.txt

export VIDSORT_DATA_DIR="${VIDSORT_DATA_DIR:-$PWD/data}"
mkdir -p "$VIDSORT_DATA_DIR/logs"
PY=.venv/bin/python
if [ -z "${VIDSORT_LIBRARY:-}" ]; then
  export VIDSORT_LIBRARY="$VIDSORT_DATA_DIR/demo-library"
  # The demo works offline: unless a model is named, use the tiny random-weight model.
  export VIDSORT_CLIP_MODEL="${VIDSORT_CLIP_MODEL:-vidsort-tiny}"
  if [ ! -d "$VIDSORT_LIBRARY" ]; then
    $PY manage.py vidsort_demo "$VIDSORT_LIBRARY" --videos "${VIDSORT_DEMO_VIDEOS:-60}"
  fi
fi

$PY manage.py migrate --noinput -v0
$PY manage.py collectstatic --noinput -v0
$PY manage.py vidsort_admin
$PY manage.py vidsort_scan

# The worker (and beat, -B) is started again whenever it exits with an error, e.g. a
# broker outage it could not ride out; jobs it was running fail or are marked lost and
# say why. A clean exit (Ctrl+C) ends it.
supervise_worker() {
  local child status
  trap 'kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' INT TERM
  while true; do
    .venv/bin/celery -A vidsort_site worker -Q default,gpu,text --concurrency 1 -B -E \
      --schedule "$VIDSORT_DATA_DIR/celerybeat-schedule" --without-mingle --without-gossip \
      --loglevel INFO --logfile "$VIDSORT_DATA_DIR/logs/worker.log" &
    child=$!
    status=0
    wait "$child" || status=$?
    [ "$status" -eq 0 ] && break
    echo "$(date '+%F %T') run.sh: worker exited with status $status; starting it again in 5 s" \
      >>"$VIDSORT_DATA_DIR/logs/worker.log"
    sleep 5 &
    wait $! || true
  done
}
supervise_worker &
WORKER_PID=$!
trap 'kill $WORKER_PID 2>/dev/null; wait $WORKER_PID 2>/dev/null' EXIT INT TERM

PORT="${VIDSORT_PORT:-8000}"
echo
echo "VidSort is running at http://127.0.0.1:$PORT/  (admin: http://127.0.0.1:$PORT/admin/)"
echo "Worker log: $VIDSORT_DATA_DIR/logs/worker.log. Stop with Ctrl+C."
.venv/bin/gunicorn vidsort_site.wsgi --bind "127.0.0.1:$PORT" --worker-class gthread \
  --workers 2 --threads 8 --timeout 120 --access-logfile "$VIDSORT_DATA_DIR/logs/access.log"
