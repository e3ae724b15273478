"""Export the demo library's embeddings as an .npz (X, y, folder names) for the simulations.

    .venv/bin/python bench/demo_embeddings.py --videos 600 --out bench/out/demo-embeddings.npz
    .venv/bin/python bench/active_learning.py --embeddings bench/out/demo-embeddings.npz

Every demo clip's category is known from its filename, so all videos are labelled here,
loose or not. Uses the configured model (default here: vidsort-tiny, random weights).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=600)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--model", default="vidsort-tiny")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "demo-embeddings.npz")
    args = parser.parse_args()

    from mlpipeline.demo_videos import create_demo_library
    from mlpipeline.embeddings import extract_embeddings
    from mlpipeline.encoder import EncoderConfig, get_encoder

    library = REPO / "bench" / "out" / f"demo-library-{args.videos}-{args.seed}"
    files = create_demo_library(root=library, videos=args.videos, seed=args.seed)
    encoder = get_encoder(
        EncoderConfig(
            model_name=args.model,
            pretrained="" if args.model == "vidsort-tiny" else None,
            cache_dir=tempfile.gettempdir(),
        )
    )
    names = sorted({f.name.rsplit("_", 1)[0] for f in files})
    vectors: list[np.ndarray] = []
    labels: list[int] = []
    for result in extract_embeddings(
        [(f.name, f) for f in files], encoder=encoder, workers=os.cpu_count()
    ):
        if result.ok:
            assert result.vector is not None
            vectors.append(result.vector)
            labels.append(names.index(str(result.key).rsplit("_", 1)[0]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, X=np.stack(vectors), y=np.array(labels), names=np.array(names))
    print(
        f"wrote {len(vectors)} embeddings ({encoder.model_id}) in {len(names)} folders to {args.out}"
    )


if __name__ == "__main__":
    main()
