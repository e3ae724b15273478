"""Benchmark: 1,000 sequential sorts through the sort service (journal, link, DB, event).

Target (the "Safe sorting" issue): 1,000 sorts in < 10 s on the 2-core box.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vidsort .venv/bin/python bench/sort.py
    .venv/bin/python bench/sort.py --sorts 2000 --folders 10 --cross-device

It creates a throw-away database (``<name>_bench_sort``, dropped at the end) and a
temporary library of small files (the service never probes the videos), so it touches
neither your data nor the test databases. ``--cross-device`` forces the copy-verify path
(EXDEV) to show its cost. Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import errno
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vidsort_site.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sorts", type=int, default=1000)
    parser.add_argument("--folders", type=int, default=5)
    parser.add_argument("--size", type=int, default=64 * 1024, help="bytes per dummy video")
    parser.add_argument("--cross-device", action="store_true", help="force the EXDEV copy path")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    db = settings.DATABASES["default"]
    db.setdefault("TEST", {})["NAME"] = (
        f"{db['NAME']}_bench_sort" if connection.vendor == "postgresql" else None
    )
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args, test_db)
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


def run(args: argparse.Namespace, test_db: str) -> None:
    from unittest import mock

    from django.db import connection

    from labeling.models import Folder, Video
    from labeling.services import moves_disk, sorting
    from labeling.services.scan import library_get_or_create

    with tempfile.TemporaryDirectory(prefix="vidsort-bench-sort-") as tmp:
        root = Path(tmp)
        library = library_get_or_create(root=root)
        folders = [
            Folder.objects.create(library=library, name=f"folder {i}") for i in range(args.folders)
        ]
        payload = os.urandom(args.size)
        rows = []
        for i in range(args.sorts):
            name = f"clip_{i:05d}.mp4"
            (root / name).write_bytes(payload[:-8] + i.to_bytes(8, "little"))
            st = (root / name).stat()
            rows.append(
                Video(
                    library=library,
                    path=name,
                    filename=name,
                    size=st.st_size,
                    mtime_ns=st.st_mtime_ns,
                    content_hash=f"s1:{i}",
                )
            )
        Video.objects.bulk_create(rows)
        videos = list(Video.objects.select_related("library", "folder").order_by("pk"))

        real_link = os.link

        def exdev(src: str, dst: str, **kwargs: Any) -> None:
            if moves_disk.TEMP_PREFIX not in os.path.basename(src):
                raise OSError(errno.EXDEV, "Invalid cross-device link")
            return real_link(src, dst, **kwargs)

        patch = (
            mock.patch("labeling.services.moves_disk.os.link", side_effect=exdev)
            if args.cross_device
            else mock.MagicMock()
        )
        latencies = []
        with patch:
            started = time.perf_counter()
            for i, video in enumerate(videos):
                t0 = time.perf_counter()
                result = sorting.video_sort(
                    video=video, folder=folders[i % len(folders)], route="api"
                )
                latencies.append(time.perf_counter() - t0)
                assert result.moved
            total = time.perf_counter() - started
        latencies.sort()
        p50 = statistics.median(latencies) * 1000
        p95 = latencies[int(len(latencies) * 0.95) - 1] * 1000
        fs = os.statvfs(root)
        print(
            f"database: {connection.vendor} ({test_db}); library on {root} (block size {fs.f_bsize})"
        )
        print(
            f"path: {'cross-device copy + verify' if args.cross_device else 'same-device link'}; "
            f"file size {args.size} B; {args.folders} folders"
        )
        print(
            f"{args.sorts} sorts in {total:.2f} s: {args.sorts / total:.0f} sorts/s "
            f"(p50 {p50:.1f} ms, p95 {p95:.1f} ms per sort)"
        )
        print(
            f"target: 1,000 sorts < 10 s -> {'OK' if total * 1000 / args.sorts < 10 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
