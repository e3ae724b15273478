"""Benchmark what a web process and a management command cost before they do any work.

    .venv/bin/python bench/startup.py --runs 5

Prints, each measured in fresh interpreters (load average shown: on a busy machine the
wall times include waiting for a core, the CPU times do not):
- the resident memory (RSS) of a web process once the WSGI application, every URL's view
  and the admin are loaded (what gunicorn holds before its first request), and which ML
  libraries it holds;
- the wall time of `manage.py check` and `manage.py vidsort_token --help` (median).
The baseline ("with ML preloaded") is measured in the same run by importing what web
processes used to load at start (mlpipeline.encoder: torch; mlpipeline.classifier:
scikit-learn; SciPy), so both figures come from the same machine under the same load.
Targets: a web process under 250 MB, a non-ML command under 2 s.

Measured 2026-12-01, 2 shared cores at load 6.4 (median of 3; now / ML preloaded):
web process 124 MB / 674 MB (it still holds PyAV and OpenCV, ~60 MB, for scans);
`check` 1.14 s / 4.01 s CPU (3.2 s / 11.7 s wall); `vidsort_token --help` 0.71 s /
3.60 s CPU (1.7 s / 7.8 s wall). tests/test_lazy_imports.py keeps torch, scikit-learn,
SciPy and open_clip out of web processes and command imports.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRELOAD_ML = "import mlpipeline.encoder, mlpipeline.classifier, scipy.optimize\n"
HEAVY = ("torch", "sklearn", "scipy", "open_clip", "cv2", "av")

WEB_PROCESS = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vidsort_site.settings")
from vidsort_site.wsgi import application
from django.urls import URLResolver, get_resolver

def walk(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            walk(pattern.url_patterns)
        else:
            pattern.callback

walk(get_resolver().url_patterns)
from django.contrib import admin
admin.site.get_urls()
status = open("/proc/self/status").read()
rss_kb = int(status.split("VmRSS:")[1].split()[0])
print(json.dumps({"rss_mb": rss_kb / 1024, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""

RUN_MANAGE = """
import runpy, sys
sys.argv = ["manage.py", *sys.argv[1:]]
runpy.run_path("manage.py", run_name="__main__")
"""


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )


def web_process(*, preload: bool) -> tuple[float, list[str]]:
    done = _python((PRELOAD_ML if preload else "") + WEB_PROCESS)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return float(result["rss_mb"]), [m for m in HEAVY if m in result["modules"]]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def command_seconds(*, args: list[str], preload: bool, runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time (the CPU time is what a loaded machine
    cannot inflate: the wall time there includes waiting for a core)."""
    walls, cpus = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), _children_cpu()
        _python((PRELOAD_ML if preload else "") + RUN_MANAGE, *args)
        walls.append(time.perf_counter() - started)
        cpus.append(_children_cpu() - cpu_started)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median)")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load:.1f}, "
        f"median of {args.runs} runs"
    )
    print(f"{'':42} {'now':>12} {'ML preloaded':>14}")
    rss_now, heavy_now = web_process(preload=False)
    rss_before, heavy_before = web_process(preload=True)
    print(f"{'web process RSS before requests':42} {rss_now:>9.0f} MB {rss_before:>11.0f} MB")
    print(f"  ML libraries held now: {', '.join(heavy_now) or 'none'}")
    print(f"  with ML preloaded:     {', '.join(heavy_before)}")
    for command in (["check"], ["vidsort_token", "--help"]):
        now, now_cpu = command_seconds(args=command, preload=False, runs=args.runs)
        before, before_cpu = command_seconds(args=command, preload=True, runs=args.runs)
        label = "manage.py " + " ".join(command)
        print(f"{label + ' (wall)':42} {now:>10.2f} s {before:>12.2f} s")
        print(f"{label + ' (CPU)':42} {now_cpu:>10.2f} s {before_cpu:>12.2f} s")


if __name__ == "__main__":
    main()
