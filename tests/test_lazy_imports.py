"""Web processes and non-ML commands start without the ML stack.

torch, scikit-learn (with SciPy) and open_clip cost about 600 MB and several seconds per
process; only workers (and a search's text encoder, on first use) need them. Each check
runs in a fresh interpreter so that modules this pytest process already holds do not
hide an import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# The ML libraries a web process must not load before a request. PyAV, OpenCV and NumPy
# are small (tens of MB) and are left out: scans and queue orders use them.
HEAVY = ("torch", "sklearn", "scipy", "open_clip")

LOAD_EVERYTHING_A_WEB_PROCESS_LOADS = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vidsort_site.settings")
from vidsort_site.wsgi import application  # django.setup(), admin autodiscovery
from django.urls import get_resolver, URLResolver

def walk(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            walk(pattern.url_patterns)
        else:
            pattern.callback  # imports the view's module

walk(get_resolver().url_patterns)
from django.contrib import admin
admin.site.get_urls()
print(json.dumps({"modules": sorted(m.split(".")[0] for m in sys.modules)}))
"""

IMPORT_ONE_COMMAND = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vidsort_site.settings")
import django
django.setup()
from django.core.management import load_command_class
load_command_class("labeling", sys.argv[1])
print(json.dumps({"modules": sorted(m.split(".")[0] for m in sys.modules)}))
"""


def _loaded(code: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _heavy_in(modules: list[str]) -> list[str]:
    return [name for name in HEAVY if name in set(modules)]


def test_the_web_app_loads_without_the_ml_stack():
    loaded = _loaded(LOAD_EVERYTHING_A_WEB_PROCESS_LOADS)
    assert _heavy_in(loaded["modules"]) == []


COMMANDS = sorted(
    path.stem for path in (REPO / "labeling" / "management" / "commands").glob("vidsort_*.py")
)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_module_loads_without_the_ml_stack(command):
    # Commands that train or extract load the ML stack when they run, not when Django
    # lists or imports them (`manage.py help`, `vidsort_token`, `check`).
    loaded = _loaded(IMPORT_ONE_COMMAND, command)
    assert _heavy_in(loaded["modules"]) == []
