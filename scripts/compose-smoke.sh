#!/usr/bin/env bash
# The Docker stack, for real: build VidSort's image, start every service of
# docker-compose.yml (postgres, redis, web, nginx, worker, beat, flower) with a generated
# env file and a small generated library, and use VidSort through nginx the way a person
# and a script do. Then take it all down again. .ci/run runs it after the unit suite.
#
#   scripts/compose-smoke.sh           run it (root, on a Debian-like host)
#   scripts/compose-smoke.sh --clean   also remove the base images and the build cache
#
# What it needs it installs with apt-get when missing: docker.io, docker-compose,
# debootstrap. Without a running Docker daemon it starts its own (no iptables, no default
# bridge: compose's network still joins the containers) and stops it at the end. When
# Docker Hub cannot be reached, the base images are built from Debian packages
# (docker/base/build.sh), which is also the route for hosts behind a firewall.
#
# Kept between runs on the same machine, and only what stays correct on a fresh one:
# Docker's layer cache (keyed by each step's inputs; trimmed to 20 GB when the daemon is
# the script's own) and the Debian base images (rebuilt through that cache, so a changed
# recipe rebuilds them). Everything else goes.
#
# Settings (environment):
#   SMOKE_TORCH_VARIANT  cuda (default; what PyPI serves) or cpu (needs TORCH_INDEX_URL to
#                        reach CPU wheels)
#   SMOKE_RETRAIN_TIMEOUT, SMOKE_UP_TIMEOUT   seconds (default 600 each)
#   PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_NO_INDEX, TORCH_INDEX_URL   passed to the build
#   SMOKE_CA_BUNDLE      CA bundle pip trusts in the build (default: the host's, when present)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

CLEAN=0
for arg in "$@"; do
  case "$arg" in
    --clean) CLEAN=1 ;;
    -h | --help)
      awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"
      exit 0
      ;;
    *)
      echo "unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done

PROJECT=vidsort-smoke
IMAGE=vidsort-smoke:latest
TORCH_VARIANT=${SMOKE_TORCH_VARIANT:-cuda}
RETRAIN_TIMEOUT=${SMOKE_RETRAIN_TIMEOUT:-600}
UP_TIMEOUT=${SMOKE_UP_TIMEOUT:-600}
T_START=$(date +%s)
declare -a TIMINGS=()

log() { printf '[smoke %4ss] %s\n' "$(($(date +%s) - T_START))" "$*"; }
fail() {
  log "FAILED: $*"
  exit 1
}
timed() { # timed NAME SECONDS
  TIMINGS+=("$(printf '%-26s %5ss' "$1" "$2")")
}

# --- Tools ------------------------------------------------------------------------------
need=()
# docker.io: a client, and a daemon unless one already answers.
if ! command -v docker > /dev/null \
  || { ! docker info > /dev/null 2>&1 && ! command -v dockerd > /dev/null; }; then
  need+=(docker.io)
fi
{ command -v docker > /dev/null && docker compose version > /dev/null 2>&1; } \
  || command -v docker-compose > /dev/null || need+=(docker-compose)
command -v debootstrap > /dev/null || need+=(debootstrap)
command -v python3 > /dev/null || need+=(python3)
if [ "${#need[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "missing ${need[*]}; run as root or install them"
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } \
    > /var/tmp/vidsort-smoke-apt.log 2>&1 || {
    tail -20 /var/tmp/vidsort-smoke-apt.log
    fail "apt-get install ${need[*]}"
  }
  rm -f /var/tmp/vidsort-smoke-apt.log
fi

timed "tools (apt-get)" $(($(date +%s) - T_START))

# A docker client that builds with BuildKit (built in before Docker 23, buildx after);
# Debian's docker.io client goes with its daemon. The classic builder works too, slower.
DOCKER=""
for candidate in "$(command -v docker || true)" /usr/bin/docker; do
  [ -x "$candidate" ] || continue
  if "$candidate" buildx version > /dev/null 2>&1 \
    || [ "$("$candidate" version --format '{{.Client.Version}}' 2> /dev/null | cut -d. -f1)" -lt 23 ] 2> /dev/null; then
    DOCKER=$candidate
    export DOCKER_BUILDKIT=1
    break
  fi
done
if [ -z "$DOCKER" ]; then
  DOCKER=$(command -v docker)
  export DOCKER_BUILDKIT=0
fi
# docker-compose (1.x) may call `docker`: the same client.
export PATH="$(dirname "$DOCKER"):$PATH"
if "$DOCKER" compose version > /dev/null 2>&1; then
  COMPOSE_BIN=("$DOCKER" compose)
else
  COMPOSE_BIN=(docker-compose)
fi

# --- Work folder, cleanup ----------------------------------------------------------------
WORK=$(mktemp -d /var/tmp/vidsort-smoke.XXXXXX)
OWN_DOCKERD=""
CA_COPIED=""
STACK_UP=0
cleanup() {
  local status=$?
  set +e
  if [ "$STACK_UP" = 1 ]; then
    if [ "$status" != 0 ]; then
      log "state of the stack:"
      compose ps
      compose logs --no-color --tail 60
    fi
    log "compose down -v"
    compose down -v --remove-orphans > "$WORK/down.log" 2>&1 || tail -5 "$WORK/down.log"
  fi
  "$DOCKER" image rm -f "$IMAGE" > /dev/null 2>&1
  # Base images replaced by a rebuild (untagged now), and on a daemon of our own the build
  # cache beyond 20 GB, least recently used first: a changed requirements.txt would
  # otherwise leave a 7 GB layer behind on every CI machine.
  "$DOCKER" image prune -f --filter label=org.vidsort.base-image=1 > /dev/null 2>&1
  [ -n "$OWN_DOCKERD" ] && "$DOCKER" builder prune -f --keep-storage 20GB > /dev/null 2>&1
  if [ "$CLEAN" = 1 ]; then
    log "removing the base images and the build cache"
    "$DOCKER" image rm -f vidsort-local/python:3.11-bookworm vidsort-local/postgres:15-bookworm \
      vidsort-local/redis:7-bookworm vidsort-local/nginx:1.22-bookworm \
      vidsort-local/debian:bookworm > /dev/null 2>&1
    "$DOCKER" builder prune -af > /dev/null 2>&1
    "$DOCKER" image prune -f > /dev/null 2>&1
  fi
  [ -n "$CA_COPIED" ] && rm -f "$CA_COPIED"
  rm -rf "$WORK"
  if [ -n "$OWN_DOCKERD" ]; then
    log "stopping dockerd (pid $OWN_DOCKERD)"
    kill "$OWN_DOCKERD" 2> /dev/null
    for _ in $(seq 60); do kill -0 "$OWN_DOCKERD" 2> /dev/null || break; sleep 0.5; done
  fi
  log "timings:"
  printf '  %s\n' "${TIMINGS[@]}" "$(printf '%-26s %5ss' total $(($(date +%s) - T_START)))"
  [ "$status" = 0 ] && log "PASSED"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

compose() {
  "${COMPOSE_BIN[@]}" -p "$PROJECT" -f "$REPO/docker-compose.yml" -f "$WORK/compose.smoke.yml" \
    --env-file "$WORK/env" "$@"
}

# --- Docker daemon ------------------------------------------------------------------------
if ! "$DOCKER" info > /dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || fail "no Docker daemon answers, and only root can start one"
  log "starting dockerd"
  dockerd --iptables=false --bridge=none --storage-driver=overlay2 \
    --pidfile "$WORK/dockerd.pid" > "$WORK/dockerd.log" 2>&1 &
  OWN_DOCKERD=$!
  for _ in $(seq 120); do
    "$DOCKER" info > /dev/null 2>&1 && break
    kill -0 "$OWN_DOCKERD" 2> /dev/null || {
      tail -20 "$WORK/dockerd.log"
      OWN_DOCKERD=""
      fail "dockerd exited"
    }
    sleep 0.5
  done
  "$DOCKER" info > /dev/null 2>&1 || fail "dockerd did not answer within 60 s"
fi
log "docker: $("$DOCKER" version --format 'client {{.Client.Version}}, server {{.Server.Version}}'), compose: ${COMPOSE_BIN[*]}, BuildKit=$DOCKER_BUILDKIT"

# Leftovers of an interrupted run.
printf 'services: {}\n' > "$WORK/compose.smoke.yml"
: > "$WORK/env"
"$DOCKER" ps -aq --filter "label=com.docker.compose.project=$PROJECT" | xargs -r "$DOCKER" rm -f > /dev/null
"$DOCKER" volume ls -q --filter "label=com.docker.compose.project=$PROJECT" | xargs -r "$DOCKER" volume rm > /dev/null
"$DOCKER" network ls -q --filter "label=com.docker.compose.project=$PROJECT" | xargs -r "$DOCKER" network rm > /dev/null

# --- Base images: upstream when they can be pulled, else from Debian packages ------------
t=$(date +%s)
UPSTREAM=(python:3.11-slim-bookworm postgres:17-alpine redis:7-alpine nginx:1.27-alpine)
upstream_ok=1
for image in "${UPSTREAM[@]}"; do
  "$DOCKER" image inspect "$image" > /dev/null 2>&1 && continue
  timeout 300 "$DOCKER" pull -q "$image" > /dev/null 2>&1 || {
    upstream_ok=0
    break
  }
done
if [ "$upstream_ok" = 1 ]; then
  log "base images: upstream (${UPSTREAM[*]})"
  BASE_ENV="PYTHON_IMAGE=${UPSTREAM[0]}
POSTGRES_IMAGE=${UPSTREAM[1]}
REDIS_IMAGE=${UPSTREAM[2]}
NGINX_IMAGE=${UPSTREAM[3]}"
else
  log "base images: Docker Hub unreachable, building them from Debian packages"
  BASE_ENV=$(DOCKER="$DOCKER" docker/base/build.sh)
fi
timed "base images" $(($(date +%s) - t))
PYTHON_IMAGE=$(sed -n 's/^PYTHON_IMAGE=//p' <<< "$BASE_ENV")

# --- VidSort's image -----------------------------------------------------------------------
ca=${SMOKE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
if [ -s "$ca" ] && [ ! -e docker/offline/ca.crt ]; then
  cp "$ca" docker/offline/ca.crt
  CA_COPIED=$REPO/docker/offline/ca.crt
fi
log "building $IMAGE (TORCH_VARIANT=$TORCH_VARIANT, from $PYTHON_IMAGE)"
t=$(date +%s)
build_args=(--build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" --build-arg "TORCH_VARIANT=$TORCH_VARIANT")
for name in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_NO_INDEX TORCH_INDEX_URL; do
  [ -n "${!name:-}" ] && build_args+=(--build-arg "$name=${!name}")
done
[ "$DOCKER_BUILDKIT" = 1 ] && build_args+=(--progress=plain)
# Host networking: a daemon without its default bridge can still fetch packages.
if ! "$DOCKER" build --network host "${build_args[@]}" -t "$IMAGE" . > "$WORK/build.log" 2>&1; then
  tail -40 "$WORK/build.log"
  fail "image build"
fi
[ -n "$CA_COPIED" ] && rm -f "$CA_COPIED" && CA_COPIED=""
BUILD_SECONDS=$(($(date +%s) - t))
timed "image build" "$BUILD_SECONDS"
log "image: $("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.1f GB", $1/1e9}')"

# --- Library, env file, compose override -------------------------------------------------------
LIBRARY=$WORK/library
mkdir -p "$LIBRARY"
chown 1000:1000 "$LIBRARY"
"$DOCKER" run --rm --network none --user 1000:1000 -v "$LIBRARY:/library" "$IMAGE" \
  python -c "from mlpipeline.demo_videos import create_demo_library as c; c(root='/library', videos=10, workers=2)" \
  > /dev/null || fail "generating the library"
# Two videos back to the top level: unsorted ones to sort (the rest are labels to train on).
find "$LIBRARY" -mindepth 2 -type f | sort | head -n 2 | xargs -I{} mv {} "$LIBRARY/"
chmod -R a+rX "$LIBRARY" # nginx reads the files as its own user
log "library: $(find "$LIBRARY" -type f | wc -l) videos in $(find "$LIBRARY" -mindepth 1 -type d | wc -l) folders"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
secret() { python3 -c 'import secrets; print(secrets.token_hex(24))'; }
HTTP_PORT=$(free_port)
FLOWER_PORT=$(free_port)
ADMIN_PASSWORD=$(secret)
FLOWER_PASSWORD=$(secret)
# .env.example with the values of this run: the file users copy is the one tested.
python3 - "$REPO/.env.example" "$WORK/env" << PY
import sys
overrides = dict(line.split("=", 1) for line in """$BASE_ENV
LIBRARY_PATH=$LIBRARY
SECRET_KEY=$(secret)$(secret)
POSTGRES_PASSWORD=$(secret)
REDIS_PASSWORD=$(secret)
FLOWER_USER=flower
FLOWER_PASSWORD=$FLOWER_PASSWORD
VIDSORT_ADMIN_USER=admin
VIDSORT_ADMIN_PASSWORD=$ADMIN_PASSWORD
HTTP_PORT=$HTTP_PORT
FLOWER_PORT=$FLOWER_PORT
VIDSORT_IMAGE=$IMAGE
TORCH_VARIANT=$TORCH_VARIANT
VIDSORT_CLIP_MODEL=vidsort-tiny
VIDSORT_CLIP_PRETRAINED=
VIDSORT_DEVICE=cpu
WORKER_CONCURRENCY=1
GUNICORN_WORKERS=2
VIDSORT_SCAN_INTERVAL_SECONDS=0""".splitlines())
lines = []
for line in open(sys.argv[1]).read().splitlines():
    name = line.split("=", 1)[0]
    if not line.startswith("#") and "=" in line and name in overrides:
        line = f"{name}={overrides.pop(name)}"
    lines.append(line)
assert not overrides, f"not in .env.example: {sorted(overrides)}"
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
PY
# Faster health checks than a server needs, so that "healthy" is seen within seconds.
cat > "$WORK/compose.smoke.yml" << 'YAML'
services:
  web:
    healthcheck: {interval: 3s, start_period: 300s}
  nginx:
    healthcheck: {interval: 3s}
  worker:
    healthcheck: {interval: 5s, start_period: 300s}
  beat:
    healthcheck: {interval: 5s}
  flower:
    healthcheck: {interval: 3s}
YAML

# --- Up ------------------------------------------------------------------------------------------
SERVICES=(postgres redis web nginx worker beat flower)
log "compose up"
t=$(date +%s)
STACK_UP=1
timeout "$UP_TIMEOUT" "${COMPOSE_BIN[@]}" -p "$PROJECT" -f docker-compose.yml -f "$WORK/compose.smoke.yml" \
  --env-file "$WORK/env" up -d --no-build > "$WORK/up.log" 2>&1 || {
  cat "$WORK/up.log"
  fail "compose up"
}
wait_healthy() { # wait_healthy SECONDS SERVICE...
  local deadline=$(($(date +%s) + $1)) service id state pending
  shift
  while :; do
    pending=()
    for service in "$@"; do
      id=$(compose ps -q "$service")
      state=$([ -n "$id" ] && "$DOCKER" inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id")
      [ "$state" = healthy ] || pending+=("$service:${state:-missing}")
    done
    [ "${#pending[@]}" = 0 ] && return 0
    [ "$(date +%s)" -lt "$deadline" ] || fail "not healthy: ${pending[*]}"
    sleep 2
  done
}
wait_healthy "$UP_TIMEOUT" "${SERVICES[@]}"
timed "up to healthy" $(($(date +%s) - t))
log "all ${#SERVICES[@]} services healthy"

# --- Checks through nginx ---------------------------------------------------------------------
TOKEN=$(compose exec -T web python manage.py vidsort_token admin 2> /dev/null | tail -n 1 | tr -d '\r\n')
[ "${#TOKEN}" -ge 20 ] || fail "vidsort_token printed no token"
log "token from vidsort_token in the web container"

export SMOKE_BASE="http://127.0.0.1:$HTTP_PORT" SMOKE_FLOWER="http://127.0.0.1:$FLOWER_PORT"
export SMOKE_ADMIN_PASSWORD="$ADMIN_PASSWORD" SMOKE_FLOWER_AUTH="flower:$FLOWER_PASSWORD"
export SMOKE_TOKEN="$TOKEN" SMOKE_LIBRARY="$LIBRARY" SMOKE_STATE="$WORK/state.json"
export SMOKE_RETRAIN_TIMEOUT="$RETRAIN_TIMEOUT"
checks() { python3 "$WORK/checks.py" "$1" || fail "checks ($1)"; }
cat > "$WORK/checks.py" << 'PY'
"""Use the running stack through nginx; phase "first" or "after-restart"."""

import base64
import http.cookiejar
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

BASE, FLOWER = os.environ["SMOKE_BASE"], os.environ["SMOKE_FLOWER"]
LIBRARY = Path(os.environ["SMOKE_LIBRARY"])
STATE = Path(os.environ["SMOKE_STATE"])
TOKEN = {"Authorization": "Token " + os.environ["SMOKE_TOKEN"]}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def client(cookies=None):
    handlers = [NoRedirect()]
    if cookies is not None:
        handlers.append(urllib.request.HTTPCookieProcessor(cookies))
    return urllib.request.build_opener(*handlers)


ANONYMOUS = client()


def call(method, url, *, opener=ANONYMOUS, headers=None, data=None, form=None):
    body = None
    headers = dict(headers or {})
    if data is not None:
        body = json.dumps(data).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        body = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def api(method, path, data=None, expect=200):
    status, _, body = call(method, BASE + path, headers=TOKEN, data=data)
    assert status == expect, f"{method} {path}: {status} {body[:300]!r}"
    return json.loads(body) if body else None


def ok(message):
    print(f"  ok  {message}", flush=True)


def sign_in():
    jar = http.cookiejar.CookieJar()
    browser = client(jar)
    status, _, page = call("GET", BASE + "/login/", opener=browser)
    assert status == 200 and b"csrfmiddlewaretoken" in page, f"login page: {status}"
    csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    status, headers, _ = call(
        "POST",
        BASE + "/login/",
        opener=browser,
        form={
            "csrfmiddlewaretoken": csrf,
            "username": "admin",
            "password": os.environ["SMOKE_ADMIN_PASSWORD"],
        },
        headers={"Referer": BASE + "/login/"},
    )
    assert status == 302 and "/login" not in headers["Location"], f"sign-in: {status}"
    status, _, _ = call("GET", BASE + "/", opener=browser)
    assert status == 200, f"player page after sign-in: {status}"
    return browser


def wait_job(job_id):
    deadline = time.monotonic() + float(os.environ["SMOKE_RETRAIN_TIMEOUT"])
    while time.monotonic() < deadline:
        job = api("GET", f"/api/jobs/{job_id}")
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(1)
    raise AssertionError(f"retrain {job_id} still {job['state']} ({job['stage']})")


def events_count():
    return api("GET", "/api/export/events")["count"]


def on_disk(video):
    return sorted(str(p.relative_to(LIBRARY)) for p in LIBRARY.rglob(video["filename"]))


def first():
    browser = sign_in()
    ok("login page, sign-in, player page (session)")

    started = time.monotonic()
    job_id = api("POST", "/api/retrain", expect=201)["job"]
    job = wait_job(job_id)
    seconds = time.monotonic() - started
    assert job["state"] == "succeeded", f"retrain {job_id}: {job['state']} {job['error']}"
    status = api("GET", "/api/retrain/status")
    assert status["last_result"] == "success" and status["classifier"], status
    ok(f"POST /api/retrain: job {job_id} succeeded through the worker in {seconds:.0f} s")

    videos = api("GET", "/api/videos?folder=unsorted&limit=100")["videos"]
    folders = api("GET", "/api/folders")
    folders = folders["folders"] if isinstance(folders, dict) else folders
    assert videos and folders, (videos, folders)
    video, folder = videos[0], folders[0]
    before = on_disk(video)
    assert before == [video["filename"]], before
    api("POST", "/api/sort", {"video": video["id"], "folder": folder["name"]})
    after = on_disk(video)
    assert after == [f"{folder['name']}/{video['filename']}"], after
    ok(f"sort moved {video['filename']} into {folder['name']}/ in the mounted library")
    api("POST", "/api/undo", {})
    assert on_disk(video) == before, on_disk(video)
    ok("undo moved it back")

    path = LIBRARY / video["filename"]
    url = f"{BASE}/media/videos/{video['id']}"
    status, headers, body = call("GET", url, opener=browser, headers={"Range": "bytes=0-99"})
    size = path.stat().st_size
    assert status == 206, f"range: {status}"
    assert headers["Content-Range"] == f"bytes 0-99/{size}", headers["Content-Range"]
    assert body == path.read_bytes()[:100], "range bytes differ from the file"
    # Headers only the nginx location adds: the bytes came through X-Accel-Redirect.
    assert headers.get("X-Content-Type-Options") == "nosniff" and "X-Accel-Redirect" not in headers
    assert headers.get("ETag", "").startswith('"'), headers
    ok(f"Range bytes=0-99: 206, Content-Range bytes 0-99/{size}, the file's bytes (nginx)")
    status, headers, body = call("GET", url, headers={"Range": "bytes=0-99"})
    assert status in (302, 401) and body[:100] != path.read_bytes()[:100], status
    if status == 302:
        assert headers["Location"].startswith("/login/"), headers["Location"]
    ok(f"anonymous stream: {status}, no bytes")

    status, _, _ = call("GET", FLOWER + "/")
    assert status == 401, f"flower without auth: {status}"
    auth = {"Authorization": "Basic " + base64.b64encode(os.environ["SMOKE_FLOWER_AUTH"].encode()).decode()}
    names = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, _, body = call("GET", FLOWER + "/api/tasks?limit=200", headers=auth)
        assert status == 200, f"flower api: {status} {body[:200]!r}"
        names = {task.get("name") for task in json.loads(body).values()}
        if any(name and name.startswith("labeling.tasks.retrain") for name in names):
            break
        time.sleep(2)
    assert any(name and name.startswith("labeling.tasks.retrain") for name in names), names
    ok(f"Flower: 401 without auth; with it, tasks {sorted(n for n in names if n)}")

    STATE.write_text(
        json.dumps(
            {
                "videos": api("GET", "/api/videos?folder=all&limit=1")["total"],
                "events": events_count(),
                "job": job_id,
                "retrain_seconds": round(seconds),
            }
        )
    )


def after_restart():
    saved = json.loads(STATE.read_text())
    sign_in()
    assert api("GET", "/api/videos?folder=all&limit=1")["total"] == saved["videos"]
    assert events_count() == saved["events"]
    assert api("GET", f"/api/jobs/{saved['job']}")["state"] == "succeeded"
    assert api("GET", "/api/retrain/status")["classifier"]
    ok(
        f"after restart: the same token, {saved['videos']} videos, {saved['events']} label "
        f"events, retrain {saved['job']} and the classifier are still there"
    )


{"first": first, "after-restart": after_restart}[sys.argv[1]]()
PY

t=$(date +%s)
checks first
timed "checks (incl. retrain)" $(($(date +%s) - t))
timed "  of which retrain" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["retrain_seconds"])' "$WORK/state.json")"

log "compose restart web"
t=$(date +%s)
compose restart web > /dev/null 2>&1 || fail "compose restart web"
wait_healthy 300 web nginx
checks after-restart
timed "restart web + checks" $(($(date +%s) - t))
