"""Benchmark the library scan: first scan of N videos, then a re-scan with nothing changed.

    .venv/bin/python bench/scan.py --videos 1000

Targets (2-core machine): first scan of 1,000 videos < 60 s, unchanged re-scan < 5 s.
Also compares the sampled content hash with a full SHA-256 over the same files, which is
the measurement behind VidSort's choice of the sampled hash.
The library is generated once into bench/out/scan-library-N and reused; each run uses a
fresh SQLite database (or DATABASE_URL when set) in a temporary data folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--library", type=Path, default=None)
    args = parser.parse_args()

    library = args.library or REPO / "bench" / "out" / f"scan-library-{args.videos}"
    data_dir = Path(tempfile.mkdtemp(prefix="vidsort-bench-scan-"))
    os.environ["VIDSORT_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vidsort_site.settings")

    from mlpipeline.demo_videos import create_demo_library

    started = time.perf_counter()
    files = create_demo_library(root=library, videos=args.videos)
    print(
        f"library: {library} ({len(files)} videos, prepared in "
        f"{time.perf_counter() - started:.1f} s)"
    )
    total_bytes = sum(f.stat().st_size for f in files)
    print(f"total size: {total_bytes / 1e6:.1f} MB, mean {total_bytes / len(files) / 1e3:.0f} kB")

    import django

    django.setup()
    from django.core.management import call_command

    from labeling.services.scan import library_get_or_create, library_scan

    call_command("migrate", verbosity=0)
    lib = library_get_or_create(root=library)
    from django.db import connection

    print(f"database: {connection.vendor}; probe threads: {os.cpu_count()}")

    first = library_scan(library=lib)
    print(f"first scan:     {first.seconds:6.2f} s  ({first.summary()})  target < 60 s")
    again = library_scan(library=lib)
    print(f"unchanged scan: {again.seconds:6.2f} s  ({again.summary()})  target < 5 s")
    print(f"ratio first/unchanged: {first.seconds / max(again.seconds, 1e-9):.0f}x")

    from mlpipeline.hashing import full_sha256, sampled_sha256

    for name, fn in (("sampled hash", sampled_sha256), ("full SHA-256", full_sha256)):
        t = time.perf_counter()
        for f in files:
            fn(f)
        print(f"{name:13s} of {len(files)} files: {time.perf_counter() - t:6.2f} s")
    big = data_dir / "big.bin"
    with open(big, "wb") as handle:
        handle.write(os.urandom(200 * 1024 * 1024))
    os.sync()
    for name, fn in (("sampled hash", sampled_sha256), ("full SHA-256", full_sha256)):
        t = time.perf_counter()
        fn(big)
        print(f"{name:13s} of one 200 MB file (page cache warm): {time.perf_counter() - t:6.3f} s")


if __name__ == "__main__":
    main()
