#!/usr/bin/env python3
"""File every unsorted video that VidSort predicts with at least 0.95 confidence.

    export VIDSORT_URL=http://127.0.0.1:8000 VIDSORT_TOKEN=$(.venv/bin/python manage.py vidsort_token admin)
    python docs/examples/autofile.py --dry-run          # list what would move
    python docs/examples/autofile.py --threshold 0.97   # move them

Standard library only. The token goes in the Authorization header, never in the URL.
Moves go through POST /api/sort/bulk, so each one is journalled, never overwrites a
file, and can be undone from the player or with POST /api/undo.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

BATCH = 200


def api(
    base: str, token: str, method: str, path: str, body: dict | None = None
) -> tuple[int, dict]:
    request = urllib.request.Request(
        base.rstrip("/") + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:  # 4xx/5xx: the body is {"error", "detail"}
        return error.code, json.load(error)


def confident_videos(base: str, token: str, threshold: float) -> list[dict]:
    """Every unsorted video whose top prediction reaches the threshold."""
    chosen, path = (
        [],
        "/api/videos?"
        + urllib.parse.urlencode({"folder": "unsorted", "order": "uncertainty", "limit": 500}),
    )
    while path:
        status, page = api(base, token, "GET", path)
        if status != 200:
            raise SystemExit(f"GET {path}: {status} {page.get('detail', page)}")
        chosen += [
            v
            for v in page["videos"]
            if v["confidence"] is not None
            and v["confidence"] >= threshold
            and v["predicted_folder_id"]
        ]
        path = page["next"]
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("VIDSORT_URL", "http://127.0.0.1:8000"))
    parser.add_argument(
        "--token",
        default=os.environ.get("VIDSORT_TOKEN"),
        help="API token (default: $VIDSORT_TOKEN)",
    )
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--dry-run", action="store_true", help="list the moves, change nothing")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("give --token or set VIDSORT_TOKEN (manage.py vidsort_token USER)")

    videos = confident_videos(args.url, args.token, args.threshold)
    for v in videos:
        print(
            f"{'would file' if args.dry_run else 'filing'} {v['filename']} -> "
            f"{v['predicted_folder']} ({v['confidence']:.3f})"
        )
    if args.dry_run or not videos:
        print(
            f"{len(videos)} videos at >= {args.threshold}{' (dry run: nothing moved)' if args.dry_run else ''}"
        )
        return 0

    moved = failed = 0
    for start in range(0, len(videos), BATCH):
        items = [
            {"video": v["id"], "folder": v["predicted_folder_id"]}
            for v in videos[start : start + BATCH]
        ]
        status, body = api(args.url, args.token, "POST", "/api/sort/bulk", {"items": items})
        if status not in (200, 207):
            raise SystemExit(f"POST /api/sort/bulk: {status} {body.get('detail', body)}")
        moved += body["moved"]
        failed += body["failed"]
        for result in body["results"]:
            if not result.get("ok", True):
                print(
                    f"  failed: video {result.get('video')}: {result.get('detail')}",
                    file=sys.stderr,
                )
    print(f"moved {moved}, failed {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
