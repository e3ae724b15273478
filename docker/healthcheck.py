#!/usr/bin/env python3
"""Container healthchecks for the VidSort image. Standard library (and kombu) only, so a
check starts in well under a second instead of importing Django and torch.

    healthcheck.py web             GET /healthz on gunicorn (database reachable)
    healthcheck.py flower          GET /healthcheck on Flower (no auth needed there)
    healthcheck.py celery PREFIX   the worker PREFIX@<this hostname> answers a ping
    healthcheck.py broker          the broker (CELERY_BROKER_URL) accepts a connection
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.request


def _host_header() -> str:
    # Django answers 400 to a Host not in ALLOWED_HOSTS, so ask with one it accepts.
    for host in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def http_ok(url: str, *, host: str | None = None) -> bool:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    with urllib.request.urlopen(request, timeout=8) as response:
        return response.status == 200


def celery_ok(prefix: str) -> bool:
    from celery import Celery

    node = f"{prefix}@{socket.gethostname()}"
    app = Celery(broker=os.environ["CELERY_BROKER_URL"])
    return bool(app.control.ping(destination=[node], timeout=5))


def broker_ok() -> bool:
    from kombu import Connection

    with Connection(os.environ["CELERY_BROKER_URL"], connect_timeout=5) as connection:
        connection.ensure_connection(max_retries=1)
    return True


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else "web"
    try:
        if mode == "web":
            ok = http_ok("http://127.0.0.1:8000/healthz", host=_host_header())
        elif mode == "flower":
            ok = http_ok("http://127.0.0.1:5555/healthcheck")
        elif mode == "celery":
            ok = celery_ok(argv[2])
        elif mode == "broker":
            ok = broker_ok()
        else:
            print(f"unknown healthcheck mode {mode!r}", file=sys.stderr)
            return 2
    except Exception as exc:  # any failure is "unhealthy", with the reason in docker inspect
        print(f"{mode}: {exc}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
