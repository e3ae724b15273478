"""Content hashes: a video's identity across moves, renames and duplicates.

VidSort uses a *sampled* SHA-256 by default: the file size plus fixed-size chunks from the
start, the end and evenly spaced points in between. Reading 1 MiB per file instead of
the whole file makes the first scan of a large library I/O-cheap (figures in
docs/scan.md, measured by bench/scan.py). Video containers put distinct metadata at both
ends (moov/ftyp atoms, cues) and every chunk of compressed video is high-entropy, so two
different clips that agree on size and on 1 MiB of sampled bytes do not occur in practice;
a user who wants the strict guarantee sets VIDSORT_HASH=full.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

SAMPLED_PREFIX = "s1:"
FULL_PREFIX = "f1:"
CHUNK = 128 * 1024
SAMPLE_POINTS = 8  # chunks: start, end and 6 evenly spaced in between (8 x 128 KiB = 1 MiB)
READ_BLOCK = 1024 * 1024


def content_hash(path: str | os.PathLike[str], *, mode: str = "sampled") -> str:
    """Return a prefixed hex digest; the prefix records the method so both can coexist."""
    if mode == "full":
        return FULL_PREFIX + full_sha256(path)
    if mode == "sampled":
        return SAMPLED_PREFIX + sampled_sha256(path)
    raise ValueError(f"unknown hash mode {mode!r}; use 'sampled' or 'full'")


def full_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def sampled_sha256(path: str | os.PathLike[str]) -> str:
    size = Path(path).stat().st_size
    digest = hashlib.sha256()
    digest.update(size.to_bytes(8, "little"))
    with open(path, "rb") as handle:
        if size <= CHUNK * SAMPLE_POINTS:
            # Small files are hashed whole: sampling would read them entirely anyway.
            digest.update(handle.read())
            return digest.hexdigest()
        last_start = size - CHUNK
        for index in range(SAMPLE_POINTS):
            handle.seek(last_start * index // (SAMPLE_POINTS - 1))
            digest.update(handle.read(CHUNK))
    return digest.hexdigest()
