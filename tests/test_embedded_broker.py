"""The embedded broker (kombu's filesystem transport) keeps every file in the data folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PING = """
import django
django.setup()
from vidsort_site.celery import app
app.control.ping(timeout=0.2)  # binds a reply queue: the transport writes its exchange table
"""


def test_the_filesystem_broker_writes_nothing_into_the_current_folder(tmp_path: Path) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    data = tmp_path / "data"
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "vidsort_site.settings",
        "PYTHONPATH": str(REPO),
        "VIDSORT_DATA_DIR": str(data),
        "CELERY_BROKER_URL": "filesystem://",
    }
    done = subprocess.run(
        [sys.executable, "-c", PING], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert list(cwd.iterdir()) == []
    assert list((data / "broker" / "control").glob("*.exchange"))
