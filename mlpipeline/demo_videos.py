"""A synthetic demo library that a browser can play (H.264 in MP4, yuv420p, faststart).

Six visually distinct categories (colour, texture and motion differ), varied durations,
sizes and both orientations. Some videos are pre-sorted into their category's folder,
most are loose in the root, as in a real favourites export. Generation is deterministic
for a given seed. The categories are easy for any feature extractor, including the
random-weight test model, which makes the demo useful offline.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

CATEGORIES: dict[str, str] = {
    "sunsets": "orange-to-purple gradient with a slowly sinking disc",
    "ocean": "blue horizontal waves rolling",
    "forest": "green vertical stripes swaying",
    "snow": "white and grey falling speckles",
    "fire": "flickering red and yellow noise",
    "city-night": "dark background with moving coloured lights",
}


@dataclass(frozen=True, slots=True)
class DemoClip:
    category: str
    filename: str
    sorted: bool
    width: int
    height: int
    seconds: float
    fps: int
    seed: int


def plan_demo(*, videos: int, seed: int = 7, sorted_share: float = 0.3) -> list[DemoClip]:
    rng = np.random.default_rng(seed)
    names = list(CATEGORIES)
    clips: list[DemoClip] = []
    for index in range(videos):
        # Round-robin with a skew so class balance matters in the queue; the first two
        # rounds are pre-sorted so every category starts with two labels.
        seeded = index < 2 * len(names)
        category = names[index % len(names)] if seeded or rng.random() < 0.8 else names[0]
        portrait = rng.random() < 0.6
        short_side = int(rng.choice([144, 180, 240]))
        long_side = short_side * 16 // 9 // 2 * 2
        width, height = (short_side, long_side) if portrait else (long_side, short_side)
        clips.append(
            DemoClip(
                category=category,
                filename=f"{category}_{index:05d}.mp4",
                sorted=bool(rng.random() < sorted_share) or seeded,
                width=width,
                height=height,
                seconds=float(rng.uniform(2.0, 6.0)),
                fps=15,
                seed=int(rng.integers(0, 2**31)),
            )
        )
    return clips


def _frame(
    category: str, t: float, width: int, height: int, rng: np.random.Generator
) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    y /= height
    x /= width
    img = np.zeros((height, width, 3), np.float32)
    if category == "sunsets":
        img[..., 0] = 0.9
        img[..., 1] = 0.5 - 0.3 * y
        img[..., 2] = 0.2 + 0.5 * y
        cy = 0.3 + 0.05 * t
        disc = (x - 0.5) ** 2 + ((y - cy) * height / width) ** 2 < 0.02
        img[disc] = (1.0, 0.85, 0.3)
    elif category == "ocean":
        wave = 0.5 + 0.5 * np.sin(25 * y + 3 * t + 4 * np.sin(6 * x))
        img[..., 0] = 0.05
        img[..., 1] = 0.3 + 0.2 * wave
        img[..., 2] = 0.6 + 0.35 * wave
    elif category == "forest":
        sway = 0.5 + 0.5 * np.sin(30 * x + 2 * np.sin(t * 2 + 5 * y))
        img[..., 0] = 0.1 * sway
        img[..., 1] = 0.35 + 0.4 * sway
        img[..., 2] = 0.1
    elif category == "snow":
        img[...] = 0.55 + 0.1 * y[..., None]
        flakes = rng.random((height, width)) < 0.03
        img[flakes] = 1.0
    elif category == "fire":
        noise = rng.random((height // 4 + 1, width // 4 + 1)).repeat(4, 0).repeat(4, 1)
        noise = noise[:height, :width] * (1.2 - y)
        img[..., 0] = 0.7 + 0.3 * noise
        img[..., 1] = 0.6 * noise
        img[..., 2] = 0.05
    else:  # city-night
        img[...] = 0.04
        for k in range(6):
            cx = (k / 6 + 0.1 * t * (1 + k % 3)) % 1.0
            cy = 0.2 + 0.6 * ((k * 0.37) % 1.0)
            spot = (x - cx) ** 2 + ((y - cy) * height / width) ** 2 < 0.004
            img[spot] = ((k * 0.3) % 1.0, 0.6, 1.0 - (k * 0.2) % 1.0)
    return (np.clip(img, 0.0, 1.0) * 255).astype(np.uint8)


def write_clip(clip: DemoClip, path: Path) -> None:
    """Encode one clip with libx264 into a temporary name, then rename into place."""
    rng = np.random.default_rng(clip.seed)
    tmp = path.with_name(f".{path.name}.part")
    with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream("libx264", rate=clip.fps)
        stream.width = clip.width
        stream.height = clip.height
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "28", "g": str(clip.fps * 2)}
        frames = max(1, math.ceil(clip.seconds * clip.fps))
        for index in range(frames):
            image = _frame(clip.category, index / clip.fps, clip.width, clip.height, rng)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    os.replace(tmp, path)


def _write_task(args: tuple[DemoClip, str]) -> None:
    clip, path = args
    write_clip(clip, Path(path))


def create_demo_library(
    *,
    root: str | os.PathLike[str],
    videos: int = 60,
    seed: int = 7,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Write the demo library under ``root``; existing files are kept, never overwritten."""
    root_path = Path(root)
    root_path.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[DemoClip, str]] = []
    written: list[Path] = []
    for clip in plan_demo(videos=videos, seed=seed):
        folder = root_path / clip.category if clip.sorted else root_path
        folder.mkdir(exist_ok=True)
        path = folder / clip.filename
        written.append(path)
        if not path.exists():
            jobs.append((clip, str(path)))
    if not jobs:
        return written
    # spawn, not fork: callers (a Celery worker, a test with broker threads) may hold
    # threads and locks that a forked child would inherit in a locked state.
    context = multiprocessing.get_context("spawn")
    max_workers = min(len(jobs), workers or os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=max_workers, mp_context=context) as pool:
        for done, _ in enumerate(pool.map(_write_task, jobs, chunksize=4), start=1):
            if progress is not None:
                progress(done, len(jobs))
    return written
