"""Benchmark: the REST API under gunicorn on PostgreSQL with 100,000 videos.

Targets (the REST API issue), on this machine:
- first page of GET /api/videos in queue order: p95 < 100 ms;
- GET /api/search?q=<text> over 100,000 embeddings, top 20: p95 < 200 ms, text encoder warm.

    .venv/bin/python bench/api.py                       # temp DB vidsort_bench, dropped after
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mydb .venv/bin/python bench/api.py --keep
    .venv/bin/python bench/api.py --videos 20000 --seconds 10 --concurrency 2

What it does: creates (or uses) the database, migrates it, bulk-creates N videos with an
active classifier's predictions and N 512-dim embeddings for ViT-B-32, starts gunicorn on a
local port, warms each endpoint once (the first search loads the text encoder and the
embedding matrix: that cold time is printed too), then drives each endpoint for a bounded
time with a small thread pool of http.client connections, printing p50/p95/max and
requests/s. It also times encode_text and the ranking in-process, to split the search cost.

Honesty note: ViT-B-32 runs with RANDOM weights (no download needed), and
VIDSORT_SEARCH_RANDOM_TEXT=1 lets the API answer text queries with them. The rankings
are meaningless; the cost (a ViT-B-32 text-tower pass plus one 100k x 512 product) is
the real one. The load generator shares the CPU with gunicorn and PostgreSQL.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode, urlparse

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MODEL = "ViT-B-32"
WORDS = (
    "cat dog beach sunset soccer goal cooking pasta guitar concert snow ski car race city "
    "night rain forest bird baby dance skate surf mountain river"
).split()
PathsFor = Callable[[int, int], str]  # (thread index, request number) -> request path


def _admin_url(url: str) -> str:
    parsed = urlparse(url)
    return parsed._replace(path="/postgres").geturl()


def _psql(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(sql)


def populate(*, videos: int, dim: int, library_root: Path) -> str:
    """Bulk-create the library; returns an API token."""
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from labeling.models import Classifier, Embedding, Folder, Library, Prediction, Video
    from mlpipeline.embeddings import pack_vector

    model_id = f"{MODEL}/random20240601"
    rng = np.random.default_rng(0)
    library = Library.objects.create(name="bench", root=str(library_root))
    folders = [
        Folder.objects.create(library=library, name=f"folder{i}", key=i + 1) for i in range(8)
    ]
    Classifier.objects.create(
        library=library,
        version=1,
        model_id=model_id,
        is_active=True,
        blob=b"",
        classes=[f.pk for f in folders],
    )
    started = time.monotonic()
    batch = 5000
    for start in range(0, videos, batch):
        n = min(batch, videos - start)
        rows = Video.objects.bulk_create(
            [
                Video(
                    library=library,
                    path=f"clip_{i:06}.mp4",
                    filename=f"clip_{i:06}.mp4",
                    content_hash=f"h{i:06}",
                    size=1000,
                    duration=12.0,
                    width=720,
                    height=1280,
                )
                for i in range(start, start + n)
            ]
        )
        probs = rng.dirichlet(np.ones(len(folders)) * 0.3, size=n)
        preds = []
        for video, p in zip(rows, probs, strict=True):
            order = np.argsort(-p)[:3]
            top = [
                {
                    "folder_id": folders[j].pk,
                    "folder": folders[j].name,
                    "probability": round(float(p[j]), 4),
                }
                for j in order
            ]
            preds.append(
                Prediction(
                    video=video,
                    classifier_version=1,
                    folder=folders[order[0]],
                    confidence=float(p[order[0]]),
                    margin=float(p[order[0]] - p[order[1]]),
                    entropy=float(-(p * np.log(p + 1e-12)).sum()),
                    source="trained",
                    top=top,
                )
            )
        Prediction.objects.bulk_create(preds)
        vectors = rng.normal(size=(n, dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        Embedding.objects.bulk_create(
            [
                Embedding(
                    video=video,
                    model_id=model_id,
                    content_hash=video.content_hash,
                    dim=dim,
                    vector=pack_vector(v),
                    frame_vectors=pack_vector(v[None]),
                    frame_times=[6.0],
                )
                for video, v in zip(rows, vectors, strict=True)
            ]
        )
        print(
            f"  {start + n}/{videos} videos, predictions, embeddings ({time.monotonic() - started:.0f} s)",
            flush=True,
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    return Token.objects.create(user=user).key


def load(
    *, host: str, port: int, token: str, paths: PathsFor, seconds: float, concurrency: int
) -> dict:
    """Drive GET requests for `seconds` from `concurrency` threads; latencies in ms."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        n = 0
        while time.monotonic() < deadline:
            path = paths(index, n)
            n += 1
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
                with lock:
                    errors.append(repr(exc))
                continue
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                if response.status == 200:
                    latencies.append(elapsed)
                else:
                    errors.append(f"{response.status} {body[:200]!r}")
            if response.getheader("connection", "").lower() == "close":
                conn.close()
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    latencies.sort()

    def pct(q: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(q * len(latencies)))]
            if latencies
            else float("nan")
        )

    return {
        "requests": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "rps": len(latencies) / wall,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "max": latencies[-1] if latencies else float("nan"),
        "mean": statistics.fmean(latencies) if latencies else float("nan"),
    }


def _get(host: str, port: int, token: str, path: str) -> tuple[int, float, dict]:
    conn = http.client.HTTPConnection(host, port, timeout=300)
    t0 = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Token {token}"})
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - t0) * 1000
    conn.close()
    try:
        data = json.loads(body)
    except ValueError:
        data = {"raw": body[:300]}
    return response.status, elapsed, data


def in_process_split(dim: int, videos: int) -> dict:
    """Query encoding (warm) and the ranking alone, in this process."""
    import numpy as np
    import torch

    torch.set_num_threads(1)  # as in each gunicorn worker (OMP_NUM_THREADS=1)

    from labeling.selectors.search import EmbeddingMatrix, rank
    from labeling.services.extraction import encoder_get

    encoder = encoder_get()
    encoder.encode_text(["warm up"])
    encoder.encode_query("warm up")
    times, full_times, diff = [], [], 0.0
    for i in range(20):
        text = f"a video of {WORDS[i % len(WORDS)]} number {i}"
        t0 = time.perf_counter()
        short = encoder.encode_query(text)
        times.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        full = encoder.encode_text([text])[0]
        full_times.append((time.perf_counter() - t0) * 1000)
        diff = max(diff, float(np.abs(short - full).max()))
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(videos, dim)).astype(np.float32)
    matrix = EmbeddingMatrix(
        library_id=0,
        model_id="x",
        stamp=(0, 0),
        loaded_at=0.0,
        video_ids=np.arange(videos, dtype=np.int64),
        row_of={},
        vectors=vectors,
    )
    query = vectors[0]
    rank_times = []
    for _ in range(20):
        t0 = time.perf_counter()
        rank(matrix, query, top=21)
        rank_times.append((time.perf_counter() - t0) * 1000)
    return {
        "encode_query_ms_p50": statistics.median(times),
        "encode_query_ms_max": max(times),
        "encode_text_ms_p50": statistics.median(full_times),
        "max_abs_diff": diff,
        "rank_ms_p50": statistics.median(rank_times),
        "rank_ms_max": max(rank_times),
    }


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=15.0, help="load time per endpoint")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


def _database() -> tuple[str, str | None]:
    """The database to fill: DATABASE_URL when it is PostgreSQL, else a fresh vidsort_bench
    (returned a second time: the one to drop afterwards)."""
    given = os.environ.get("DATABASE_URL")
    if given and urlparse(given).scheme.startswith("postgres"):
        return given, None
    database_url = "postgres://postgres@127.0.0.1:5432/vidsort_bench"
    _psql(database_url, "DROP DATABASE IF EXISTS vidsort_bench")
    _psql(database_url, "CREATE DATABASE vidsort_bench")
    return database_url, database_url


def _server_env(*, database_url: str, data_dir: Path, library_root: Path) -> dict[str, str]:
    return dict(os.environ) | {
        "DATABASE_URL": database_url,
        "VIDSORT_DATA_DIR": str(data_dir),
        "VIDSORT_LIBRARY": str(library_root),
        "VIDSORT_CLIP_MODEL": MODEL,
        "VIDSORT_CLIP_PRETRAINED": "none",
        "VIDSORT_SEARCH_RANDOM_TEXT": "1",
        "VIDSORT_DEVICE": "cpu",
        "DJANGO_SETTINGS_MODULE": "vidsort_site.settings",
        "DEBUG": "0",
        "VIDSORT_LOG_LEVEL": "WARNING",
        "OMP_NUM_THREADS": "1",
        "CELERY_BROKER_URL": "memory://",
    }


def _migrate_and_populate(
    *, args: argparse.Namespace, database_url: str, library_root: Path
) -> str:
    """Migrate and fill the database in this process; returns the API token."""
    import django

    django.setup()
    from django.core.management import call_command

    print(f"database {urlparse(database_url).path[1:]}: migrating", flush=True)
    call_command("migrate", verbosity=0)
    print(
        f"populating {args.videos} videos (+ predictions, {args.dim}-dim embeddings)",
        flush=True,
    )
    t0 = time.monotonic()
    token = populate(videos=args.videos, dim=args.dim, library_root=library_root)
    print(f"populated in {time.monotonic() - t0:.0f} s", flush=True)
    from django.db import connections

    connections.close_all()
    return token


def _start_gunicorn(*, workers: int, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "vidsort_site.wsgi",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "300",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        start_new_session=True,
    )


def _wait_ready(*, host: str, port: int, token: str) -> None:
    for _ in range(300):
        try:
            if _get(host, port, token, "/healthz")[0] in (200, 503):
                break
        except OSError:
            time.sleep(0.2)


def _cold_requests(*, host: str, args: argparse.Namespace, token: str) -> None:
    # Cold requests: every worker loads the encoder and the matrix on its first search.
    cold = []
    for i in range(args.workers * 2):
        status, ms, body = _get(
            host, args.port, token, "/api/search?" + urlencode({"q": f"warm {i}", "limit": 20})
        )
        assert status == 200, body
        cold.append(ms)
        assert body["searched"] == args.videos, body.get("searched")
    status, ms, body = _get(host, args.port, token, "/api/videos")
    assert status == 200 and body["total"] == args.videos, body
    print(
        f"cold search requests (encoder + matrix load per worker): {', '.join(f'{c:.0f}' for c in cold)} ms"
    )


def _targets(*, videos: int) -> dict[str, tuple[PathsFor, int]]:
    """Endpoint name -> (request paths, p95 target in ms)."""
    return {
        "videos, first page, default queue order (uncertainty+diversity)": (
            lambda i, n: "/api/videos",
            100,
        ),
        "videos, first page, order=uncertainty": (
            lambda i, n: "/api/videos?order=uncertainty",
            100,
        ),
        "search ?q= (a new text every request) top 20": (
            lambda i, n: (
                "/api/search?"
                + urlencode(
                    {
                        "q": f"a video of {random.choice(WORDS)} {random.choice(WORDS)} {i}-{n}",
                        "limit": 20,
                    }
                )
            ),
            200,
        ),
        "search ?like= top 20": (
            lambda i, n: f"/api/search?like={random.randint(1, videos)}&limit=20",
            200,
        ),
    }


def _load_targets(*, host: str, args: argparse.Namespace, token: str) -> dict[str, dict]:
    print(
        f"\n{args.videos} videos, gunicorn -w {args.workers}, {args.concurrency} client threads, "
        f"{args.seconds:.0f} s per endpoint"
    )
    print(f"{'endpoint':66} {'req':>6} {'req/s':>7} {'p50':>7} {'p95':>7} {'max':>7}  target")
    results = {}
    for name, (paths, target) in _targets(videos=args.videos).items():
        r = load(
            host=host,
            port=args.port,
            token=token,
            paths=paths,
            seconds=args.seconds,
            concurrency=args.concurrency,
        )
        results[name] = r
        verdict = "PASS" if r["p95"] < target else "FAIL"
        print(
            f"{name:66} {r['requests']:6d} {r['rps']:7.1f} {r['p50']:6.1f}ms {r['p95']:6.1f}ms "
            f"{r['max']:6.0f}ms  p95<{target}ms {verdict}"
            + (f"  errors={r['errors']} ({r['first_error']})" if r["errors"] else ""),
            flush=True,
        )
    return results


def _print_split(*, dim: int, videos: int) -> None:
    split = in_process_split(dim, videos)
    print(
        f"\nin-process split (1 thread): query encoding (ViT-B-32 text tower, warm) p50 "
        f"{split['encode_query_ms_p50']:.1f} ms (max {split['encode_query_ms_max']:.1f}; the padded "
        f"77-token encode_text: p50 {split['encode_text_ms_p50']:.1f} ms; max |difference| "
        f"{split['max_abs_diff']:.1e}); ranking "
        f"{videos}x{dim} p50 {split['rank_ms_p50']:.1f} ms (max {split['rank_ms_max']:.1f})"
    )


def main() -> None:
    args = _parse_args()
    database_url, created_db = _database()
    data_dir = Path(tempfile.mkdtemp(prefix="vidsort-bench-"))
    library_root = data_dir / "library"
    library_root.mkdir()
    env = _server_env(database_url=database_url, data_dir=data_dir, library_root=library_root)
    os.environ.update(env)
    gunicorn = None
    try:
        token = _migrate_and_populate(
            args=args, database_url=database_url, library_root=library_root
        )
        gunicorn = _start_gunicorn(workers=args.workers, port=args.port, env=env)
        host = "127.0.0.1"
        _wait_ready(host=host, port=args.port, token=token)
        _cold_requests(host=host, args=args, token=token)
        _load_targets(host=host, args=args, token=token)
        _print_split(dim=args.dim, videos=args.videos)
    finally:
        if gunicorn is not None:
            os.killpg(gunicorn.pid, signal.SIGTERM)
            gunicorn.wait(timeout=30)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 - best effort before dropping the database
            pass
        if created_db and not args.keep:
            _psql(created_db, "DROP DATABASE IF EXISTS vidsort_bench WITH (FORCE)")
            print("dropped database vidsort_bench")


if __name__ == "__main__":
    main()
