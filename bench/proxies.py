"""Benchmark the playable proxy of an HEVC file (mlpipeline/transcode.py).

    .venv/bin/python bench/proxies.py --seconds 6 --runs 2

Makes an H.265 clip with ffmpeg (1920x1080, 30 fps, 10-bit, with sound, like a phone's),
then times, in the same run:
- the baseline: decoding the clip once and throwing the frames away (what any tool that
  reads the file pays);
- the proxy: `proxy_make` (H.264 veryfast, at most 1280 px, AAC), the work a worker does
  the first time the player meets the file.
Prints the proxy's time per second of video, its speed against real time, its ratio to
the baseline and its size against the source's (CPU time of the ffmpeg children too: on
a busy machine the wall times include waiting for a core).

Measured 2026-12-02, 2 shared cores at load 5.8 (median of 2), 6 s of 1080p30 10-bit HEVC:
decoding alone 1.65 s; the proxy 4.57 s wall, 4.24 s CPU (0.76 s per video second, 1.3x
real time, 2.8x the decode); 0.99 MB against the source's 2.68 MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlpipeline.transcode import proxy_make  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(action: Callable[[], object]) -> tuple[float, float]:
    cpu, wall = _children_cpu(), time.perf_counter()
    action()
    return time.perf_counter() - wall, _children_cpu() - cpu


def _make_source(path: Path, seconds: float) -> None:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error",
         "-pix_fmt", "yuv420p10le", "-tag:v", "hvc1", "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip


def _decode(path: Path) -> None:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(path), "-f", "null", "-"],
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vidsort-bench-proxies-") as folder:
        source = Path(folder) / "phone.mov"
        _make_source(source, args.seconds)
        decode: list[float] = []
        proxy: list[float] = []
        proxy_cpu: list[float] = []
        size = 0
        for run in range(args.runs):
            decode.append(_timed(lambda: _decode(source))[0])
            target = Path(folder) / f"proxy-{run}.mp4"
            wall, cpu = _timed(partial(proxy_make, source, target))
            proxy.append(wall)
            proxy_cpu.append(cpu)
            size = target.stat().st_size
        base, made = statistics.median(decode), statistics.median(proxy)
        print(f"load average {os.getloadavg()[0]:.1f}; {args.seconds:g} s of 1080p30 10-bit HEVC")
        print(f"decode only (baseline): {base:.2f} s wall")
        print(
            f"proxy: {made:.2f} s wall ({made / args.seconds:.2f} s per video second, "
            f"{args.seconds / made:.2f}x real time), {statistics.median(proxy_cpu):.2f} s CPU, "
            f"{made / base:.1f}x the baseline"
        )
        print(f"size: proxy {size / 1e6:.2f} MB, source {source.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
