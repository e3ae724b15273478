#!/bin/sh
# Entrypoint of the VidSort image (web and workers share it).
#   web            migrate, collectstatic, make sure the admin user exists, run gunicorn
#   anything else  run as given (celery worker / beat / flower, python manage.py …)
set -eu
cd /app

if [ "${1:-web}" = "web" ]; then
  [ "$#" -gt 0 ] && shift
  # Only this service migrates: workers wait for it to be healthy (depends_on), so two
  # processes never race on the same migration.
  python manage.py migrate --noinput
  # Into STATIC_ROOT, a volume nginx serves /static/ from.
  python manage.py collectstatic --noinput -v0
  python manage.py vidsort_admin
  # gthread: video requests are short (nginx sends the bytes) but the API may wait on
  # the database; threads keep memory low compared with more processes.
  exec gunicorn vidsort_site.wsgi \
    --bind 0.0.0.0:8000 \
    --worker-class gthread \
    --workers "${GUNICORN_WORKERS:-2}" \
    --threads "${GUNICORN_THREADS:-8}" \
    --timeout 120 \
    --forwarded-allow-ips "*" \
    --access-logfile - \
    "$@"
fi

exec "$@"
