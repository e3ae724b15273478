"""Feature-extraction benchmark: videos/s of mlpipeline against a naive per-frame baseline.

    .venv/bin/python bench/extract.py --videos 6 --models ViT-B-32 vidsort-tiny
    .venv/bin/python bench/extract.py --videos 40 --workers 16 --device cuda --batch-size 256   # GPU box
    .venv/bin/python bench/extract.py --runtime torch,onnx,onnx-int8 --videos 8 --keyframe-seconds 2 --modes fast

With --runtime, each runtime (VIDSORT_ENCODER_RUNTIME's values) runs the same clips in a fresh
process, interleaved over --rounds (A/B/C/A/B/C), so that every figure has a torch fp32 run of
the same round to be divided by: videos/s, its ratio to torch's, the cosine of every frame
vector to torch fp32's on the same decoded frames, and the peak RSS of the encoding process
(what a Celery worker holds) and of its decode workers. ONNX exports are built before timing.
"auto" is the default setting: with no check stored in --model-cache it first runs the
encoder auto-check a worker runs before a retrain (on up to 8 of the clips; timed and printed
apart, outside the timed rounds), then every round runs what the check chose.

Generates (or reuses, in --clip-dir) portrait 720x1280 H.264 clips of 15-30 s with keyframes every
2 s and every 8 s, then for each model x keyframe interval x sampling mode runs
mlpipeline.embeddings.extract_embeddings and prints videos/s, frames/s, where the time went and
peak memory. The naive baseline (OpenCV seek by frame index + PIL preprocessing, as open_clip's own
transform does, + one forward pass per frame at batch size 1) runs on the first few clips.
Random weights (pretrained=None) are used: speed does not depend on the weights, and the machine
may be offline.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from mlpipeline.embeddings import ExtractionStats, extract_embeddings, pack_vector  # noqa: E402
from mlpipeline.encoder import Encoder, EncoderConfig, create_encoder  # noqa: E402
from mlpipeline.frames import SamplingMode  # noqa: E402
from tests.mlpipeline.videos import make_realistic_clip  # noqa: E402


@dataclass
class RunFigures:
    model: str
    keyframe_seconds: float
    mode: str
    videos: int
    failed: int
    wall_seconds: float
    videos_per_second: float
    frames_per_second: float
    decode_seconds: float  # summed over decode workers
    resize_seconds: float  # part of decode_seconds
    encode_seconds: float  # parent, wall
    pack_seconds: float
    wait_seconds: float  # parent idle waiting for frames: decode-bound when large
    encode_share: float  # encode_seconds / wall: accelerator busy share (GPU utilisation proxy)
    peak_rss_mb: float  # this process (encoder)
    peak_worker_rss_mb: (
        float  # largest child process (decode workers; also ffmpeg if clips were made in this run)
    )


def peak_rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux reports KiB


def own_peak_rss_mb() -> float:
    """This process's peak RSS since it started (VmHWM). getrusage's maxrss is not reset by
    exec, so a child started from a big parent would report the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return peak_rss_mb(resource.RUSAGE_SELF)


def ensure_clips(
    *, clip_dir: Path, count: int, keyframe_seconds: float, min_seconds: float, max_seconds: float
) -> list[Path]:
    clip_dir.mkdir(parents=True, exist_ok=True)
    clips = []
    for index in range(count):
        # Durations spread evenly over the range, deterministic so cached clips are reused.
        seconds = min_seconds + (max_seconds - min_seconds) * (index / max(count - 1, 1))
        path = clip_dir / f"clip_g{keyframe_seconds:g}_{index:03d}_{seconds:.0f}s.mp4"
        if not path.exists():
            staging = path.with_suffix(".partial.mp4")
            make_realistic_clip(
                staging, seconds=round(seconds, 1), keyframe_seconds=keyframe_seconds
            )
            staging.rename(path)
        clips.append(path)
    return clips


def run_pipeline(
    *,
    encoder: Encoder,
    clips: list[Path],
    mode: SamplingMode,
    num_frames: int,
    workers: int,
    keyframe_seconds: float,
    model: str,
) -> RunFigures:
    stats = ExtractionStats()
    pack_seconds = 0.0
    started = time.perf_counter()
    for result in extract_embeddings(
        [(str(path), path) for path in clips],
        encoder=encoder,
        num_frames=num_frames,
        mode=mode,
        workers=workers,
        stats=stats,
    ):
        if result.ok:
            assert result.vector is not None and result.frame_vectors is not None
            packed_at = time.perf_counter()
            pack_vector(result.vector)
            pack_vector(result.frame_vectors)
            pack_seconds += time.perf_counter() - packed_at
        else:
            print(f"  ! {result.key}: {result.error}", file=sys.stderr)
    wall = time.perf_counter() - started
    return RunFigures(
        model=model,
        keyframe_seconds=keyframe_seconds,
        mode=mode,
        videos=stats.videos,
        failed=stats.failed,
        wall_seconds=round(wall, 2),
        videos_per_second=round(stats.videos / wall, 3),
        frames_per_second=round(stats.frames / wall, 1),
        decode_seconds=round(stats.decode_seconds, 2),
        resize_seconds=round(stats.resize_seconds, 2),
        encode_seconds=round(stats.encode_seconds, 2),
        pack_seconds=round(pack_seconds, 4),
        wait_seconds=round(stats.wait_seconds, 2),
        encode_share=round(stats.encode_seconds / wall, 2),
        peak_rss_mb=round(peak_rss_mb(resource.RUSAGE_SELF), 0),
        peak_worker_rss_mb=round(peak_rss_mb(resource.RUSAGE_CHILDREN), 0),
    )


def run_naive_baseline(*, encoder: Encoder, clips: list[Path], num_frames: int) -> dict[str, float]:
    """What a first attempt looks like: OpenCV seek by frame index per frame, PIL preprocessing,
    one forward pass per frame. Trusts the container's frame count, so it also shows that cost."""
    import cv2
    import torch
    from PIL import Image

    transform = encoder.eval_transform
    decode = preprocess = encode = 0.0
    started = time.perf_counter()
    with torch.inference_mode():
        for path in clips:
            capture = cv2.VideoCapture(str(path))
            frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            vectors = []
            for index in range(num_frames):
                at = time.perf_counter()
                capture.set(cv2.CAP_PROP_POS_FRAMES, int((index + 0.5) * frame_count / num_frames))
                ok, bgr = capture.read()
                decode += time.perf_counter() - at
                if not ok:
                    continue
                at = time.perf_counter()
                tensor = transform(Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))).unsqueeze(
                    0
                )
                tensor = tensor.to(encoder.device, dtype=next(encoder.model.parameters()).dtype)
                preprocess += time.perf_counter() - at
                at = time.perf_counter()
                vectors.append(encoder.model.encode_image(tensor).float().cpu())
                encode += time.perf_counter() - at
            capture.release()
    wall = time.perf_counter() - started
    return {
        "videos": len(clips),
        "wall_seconds": round(wall, 2),
        "videos_per_second": round(len(clips) / wall, 3),
        "decode_seconds": round(decode, 2),
        "preprocess_seconds": round(preprocess, 2),
        "encode_seconds": round(encode, 2),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--videos", type=int, default=6, help="clips per keyframe interval")
    parser.add_argument("--min-seconds", type=float, default=15.0)
    parser.add_argument("--max-seconds", type=float, default=30.0)
    parser.add_argument("--keyframe-seconds", type=float, nargs="+", default=[2.0, 8.0])
    parser.add_argument("--models", nargs="+", default=["ViT-B-32", "vidsort-tiny"])
    parser.add_argument("--model", dest="models", nargs="+", help="alias of --models")
    parser.add_argument("--modes", nargs="+", default=["fast", "exact"], choices=["fast", "exact"])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument(
        "--workers", type=int, default=None, help="decode processes (default: one per core)"
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--batch-size", type=int, default=64, help="frames per forward pass")
    parser.add_argument(
        "--naive-videos", type=int, default=2, help="clips for the naive baseline (0 = skip)"
    )
    parser.add_argument("--clip-dir", type=Path, default=REPO_ROOT / "bench" / "out" / "clips")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--runtime",
        default=None,
        help="compare encoder runtimes, comma-separated (torch,onnx,onnx-int8); torch is the base",
    )
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of --runtime")
    parser.add_argument("--model-cache", type=Path, default=REPO_ROOT / "bench" / "out" / "models")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # one runtime, one run
    parser.add_argument("--child-out", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def runtime_child(args: argparse.Namespace, clips_by_interval: dict[float, list[Path]]) -> int:
    """One runtime in this fresh process: encoder, warm-up, one timed pass per GOP x mode;
    writes figures and frame vectors for the parent to compare."""
    import numpy as np

    from mlpipeline.embeddings import default_workers

    workers = default_workers() if args.workers is None else args.workers
    config = EncoderConfig(
        model_name=args.models[0], pretrained="", device=args.device, precision=args.precision,
        batch_size=args.batch_size, cache_dir=str(args.model_cache), runtime=args.child,
    )  # fmt: skip
    if args.child == "auto":
        auto_check(config, next(iter(clips_by_interval.values())), args.frames)
    encoder = create_encoder(config)
    if args.child_out is None:  # --child without output: only build the export
        print(f"  {args.child} runs as {encoder.runtime} ({encoder.model_id})", file=sys.stderr)
        return 0
    encoder.encode_images(np.zeros((4, encoder.image_size, encoder.image_size, 3), "uint8"))
    first_clip = next(iter(clips_by_interval.values()))[0]
    list(
        extract_embeddings(
            [("warm-up", first_clip)], encoder=encoder, num_frames=1, workers=workers
        )
    )
    runs = []
    vectors: dict[str, np.ndarray] = {}
    cpu_before = _cpu_seconds(resource.RUSAGE_SELF)
    for keyframe_seconds, clips in clips_by_interval.items():
        for mode in args.modes:
            stats = ExtractionStats()
            frame_vectors = []
            started = time.perf_counter()
            for result in extract_embeddings(
                [(str(path), path) for path in clips], encoder=encoder, num_frames=args.frames,
                mode=mode, workers=workers, stats=stats,
            ):  # fmt: skip
                if result.ok and result.frame_vectors is not None:
                    frame_vectors.append(result.frame_vectors)
            wall = time.perf_counter() - started
            key = f"{keyframe_seconds:g}s {mode}"
            vectors[key] = np.concatenate(frame_vectors)
            runs.append(
                {
                    "key": key, "videos": stats.videos, "failed": stats.failed,
                    "videos_per_second": stats.videos / wall, "encode_seconds": stats.encode_seconds,
                    "wall_seconds": wall,
                }
            )  # fmt: skip
    cpu_self = _cpu_seconds(resource.RUSAGE_SELF) - cpu_before
    args.child_out.write_text(
        json.dumps(
            {
                "runtime": args.child, "model_id": encoder.model_id, "runs": runs,
                "cpu_seconds": cpu_self,  # the encoding process (decoders: see decode_seconds)
                "videos": sum(run["videos"] for run in runs),
                "peak_rss_mb": own_peak_rss_mb(),
                "peak_worker_rss_mb": peak_rss_mb(resource.RUSAGE_CHILDREN),
            }
        )
    )  # fmt: skip
    np.savez(args.child_out.with_suffix(".npz"), **vectors)  # type: ignore[arg-type]
    return 0


def auto_check(config: EncoderConfig, clips: list[Path], frames: int) -> None:
    """What a worker does before a retrain's first chunk when auto has no stored check: each
    runtime against torch fp32 on a few videos, stored once (mlpipeline.encoder_check)."""
    from dataclasses import replace

    import numpy as np

    from mlpipeline.encoder_check import autocheck_once, check_entry_build, runtimes_measure
    from mlpipeline.frames import sample_frames

    def measure() -> dict[str, object]:
        reference = create_encoder(replace(config, runtime="torch", device="cpu", precision="fp32"))
        decoded: list[np.ndarray] = [
            sample_frames(str(path), num_frames=frames, size=reference.image_size).frames
            for path in clips[:8]
        ]

        def onnx(runtime: str) -> Encoder:
            return create_encoder(replace(config, runtime=runtime, device="cpu"))

        measures = runtimes_measure(
            frames_per_video=decoded,
            reference=reference,
            candidates={
                "torch": ("torch cpu fp32", None),
                "onnx": ("onnxruntime cpu fp32", lambda: onnx("onnx")),
                "onnx-int8": ("onnxruntime cpu int8", lambda: onnx("onnx-int8")),
            },
            top1=None,
        )
        return check_entry_build(
            config=config, measures=measures, videos=len(decoded),
            frames=sum(len(f) for f in decoded), classifier=None,
        )  # fmt: skip

    outcome = autocheck_once(config, measure)
    print(
        f"  auto-check: {'ran' if outcome.ran else 'stored'}, chose {outcome.runtime} "
        f"in {outcome.seconds:.1f} s (exports included){'; ' + outcome.error if outcome.error else ''}",
        file=sys.stderr,
    )


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _child_command(args: argparse.Namespace, runtime: str, out: Path | None) -> list[str]:
    command = [
        sys.executable, __file__, "--child", runtime, "--models", args.models[0],
        "--videos", str(args.videos), "--min-seconds", str(args.min_seconds),
        "--max-seconds", str(args.max_seconds), "--frames", str(args.frames),
        "--device", args.device, "--precision", args.precision,
        "--batch-size", str(args.batch_size), "--clip-dir", str(args.clip_dir),
        "--model-cache", str(args.model_cache),
        "--keyframe-seconds", *[f"{k:g}" for k in args.keyframe_seconds], "--modes", *args.modes,
    ]  # fmt: skip
    if args.workers is not None:
        command += ["--workers", str(args.workers)]
    if out is not None:
        command += ["--child-out", str(out)]
    return command


def runtime_compare(args: argparse.Namespace) -> int:
    """Every runtime in its own process, interleaved over rounds; ratios within a round."""
    import subprocess
    import tempfile

    import numpy as np

    runtimes = [r.strip() for r in args.runtime.split(",") if r.strip()]
    if "torch" not in runtimes:
        runtimes.insert(0, "torch")
    for runtime in runtimes:
        if runtime != "torch":  # export outside the timings (and outside the RSS figures)
            started = time.perf_counter()
            subprocess.run(_child_command(args, runtime, None), check=True)
            print(
                f"  {runtime}: prepared in {time.perf_counter() - started:.1f} s (one-time)",
                file=sys.stderr,
            )
    results: list[dict] = []
    reference: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for round_index in range(args.rounds):
            for runtime in runtimes:
                out = Path(scratch) / f"{round_index}-{runtime}.json"
                subprocess.run(_child_command(args, runtime, out), check=True)
                figures = json.loads(out.read_text())
                figures["round"] = round_index + 1
                figures["vectors"] = dict(np.load(out.with_suffix(".npz")))
                if runtime == "torch" and not reference:
                    reference = figures["vectors"]
                results.append(figures)
                print(f"  round {round_index + 1} {runtime}: done", file=sys.stderr)
    report = runtime_report(results, reference, runtimes)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {"args": {k: str(v) for k, v in vars(args).items()}, "runs": report}, indent=2
            )
        )
    return 0


def runtime_report(
    results: list[dict], reference: dict, runtimes: list[str]
) -> list[dict[str, object]]:
    """Print one row per round x runtime x (GOP, mode), then the mean ratio per runtime."""
    from mlpipeline.runtimes import cosine_rows

    print(
        f"\n{'round':>5} {'runtime':<10} {'GOP/mode':<9} {'vid/s':>6} {'x torch':>8} "
        f"{'cos min':>8} {'cos mean':>9} {'encCPU/v':>9} {'x torch':>8} {'RSS MB':>7} {'wkr MB':>7}"
    )
    rows: list[dict[str, object]] = []
    for figures in results:
        torch_run = next(
            r for r in results if r["runtime"] == "torch" and r["round"] == figures["round"]
        )
        for run in figures["runs"]:
            base = next(r for r in torch_run["runs"] if r["key"] == run["key"])
            cosines = cosine_rows(reference[run["key"]], figures["vectors"][run["key"]])
            # CPU seconds per video of the encoding process (the decoders, forkserver children,
            # are not in its rusage): far less sensitive to other load than wall time.
            cpu = figures["cpu_seconds"] / max(figures["videos"], 1)
            torch_cpu = torch_run["cpu_seconds"] / max(torch_run["videos"], 1)
            row = {
                "round": figures["round"], "runtime": figures["runtime"], "key": run["key"],
                "model_id": figures["model_id"], "videos_per_second": round(run["videos_per_second"], 3),
                "ratio_to_torch": round(run["videos_per_second"] / base["videos_per_second"], 2),
                "cosine_min": round(float(cosines.min()), 5), "cosine_mean": round(float(cosines.mean()), 5),
                "cpu_seconds_per_video": round(cpu, 3), "cpu_ratio_to_torch": round(torch_cpu / cpu, 2),
                "peak_rss_mb": round(figures["peak_rss_mb"]), "peak_worker_rss_mb": round(figures["peak_worker_rss_mb"]),
            }  # fmt: skip
            rows.append(row)
            print(
                f"{row['round']:>5} {row['runtime']:<10} {row['key']:<9} {row['videos_per_second']:>6.2f} "
                f"{row['ratio_to_torch']:>7.2f}x {row['cosine_min']:>8.5f} {row['cosine_mean']:>9.5f} "
                f"{row['cpu_seconds_per_video']:>9.2f} {row['cpu_ratio_to_torch']:>7.2f}x "
                f"{row['peak_rss_mb']:>7} {row['peak_worker_rss_mb']:>7}"
            )
    print()
    for runtime in runtimes:
        mine = [r for r in rows if r["runtime"] == runtime]
        ratios = [float(r["ratio_to_torch"]) for r in mine]  # type: ignore[arg-type]
        speeds = [float(r["videos_per_second"]) for r in mine]  # type: ignore[arg-type]
        cpu_ratios = [float(r["cpu_ratio_to_torch"]) for r in mine]  # type: ignore[arg-type]
        print(
            f"{runtime:<10} mean {sum(speeds) / len(speeds):.2f} videos/s, "
            f"{sum(ratios) / len(ratios):.2f}x torch fp32 (per round: "
            f"{', '.join(f'{r:.2f}' for r in ratios)}; median {sorted(ratios)[len(ratios) // 2]:.2f}), "
            f"encoding CPU per video {sum(cpu_ratios) / len(cpu_ratios):.2f}x less than torch's, cosine min "
            f"{min(float(r['cosine_min']) for r in mine):.5f}, peak RSS "  # type: ignore[arg-type]
            f"{max(int(r['peak_rss_mb']) for r in mine)} MB"  # type: ignore[call-overload]
        )
    return rows


def naive_compare(
    *,
    encoder: Encoder,
    clips_by_interval: dict[float, list[Path]],
    model_runs: list[RunFigures],
    num_videos: int,
    num_frames: int,
) -> dict[str, float]:
    """Run the naive baseline on the first interval's clips and print how it compares."""
    clips = next(iter(clips_by_interval.values()))[:num_videos]
    naive = run_naive_baseline(encoder=encoder, clips=clips, num_frames=num_frames)
    ours = next(
        (
            run
            for run in model_runs
            if run.mode == "fast" and run.keyframe_seconds == next(iter(clips_by_interval))
        ),
        model_runs[0],
    )
    naive["speedup_of_pipeline_fast"] = round(
        ours.videos_per_second / naive["videos_per_second"], 2
    )
    print(
        f"naive baseline ({naive['videos']} clips, GOP {next(iter(clips_by_interval)):g}s): "
        f"{naive['videos_per_second']:.2f} vid/s (decode {naive['decode_seconds']}s, PIL preprocess "
        f"{naive['preprocess_seconds']}s, encode {naive['encode_seconds']}s); pipeline fast mode is "
        f"{naive['speedup_of_pipeline_fast']}x faster"
    )
    return naive


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.ERROR)

    from mlpipeline.embeddings import default_workers

    workers = default_workers() if args.workers is None else args.workers
    clips_by_interval: dict[float, list[Path]] = {}
    started = time.perf_counter()
    for keyframe_seconds in args.keyframe_seconds:
        clips_by_interval[keyframe_seconds] = ensure_clips(
            clip_dir=args.clip_dir, count=args.videos, keyframe_seconds=keyframe_seconds,
            min_seconds=args.min_seconds, max_seconds=args.max_seconds,
        )  # fmt: skip
    if args.child:
        return runtime_child(args, clips_by_interval)
    print(
        f"clips ready in {time.perf_counter() - started:.1f}s: {args.videos} per keyframe interval in {args.clip_dir}"
    )
    if args.runtime:
        print(
            f"runtimes {args.runtime}, model {args.models[0]} (random weights), {args.rounds} "
            f"interleaved rounds, a fresh process per run"
        )
        return runtime_compare(args)

    runs: list[dict[str, object]] = []
    naive_by_model: dict[str, dict[str, float]] = {}
    import torch

    for model in args.models:
        config = EncoderConfig(
            model_name=model,
            pretrained="",
            device=args.device,
            precision=args.precision,
            batch_size=args.batch_size,
        )
        encoder = create_encoder(config)
        print(
            f"\n== {encoder!r}  workers={workers}  frames/video={args.frames}  torch threads={torch.get_num_threads()}"
        )
        # Warm-up: first calls pay for kernel selection / cuDNN autotune / lazy init.
        encoder.encode_images(
            __import__("numpy").zeros(
                (min(args.batch_size, 16), encoder.image_size, encoder.image_size, 3), "uint8"
            )
        )
        # Start the decode pool outside the timings (it lives for the process, like in a worker).
        list(
            extract_embeddings(
                [("warm-up", next(iter(clips_by_interval.values()))[0])],
                encoder=encoder,
                num_frames=1,
                workers=workers,
            )
        )
        header = f"{'GOP':>4} {'mode':>5} {'vid/s':>6} {'fr/s':>6} {'wall':>6} {'decode':>7} {'resize':>7} {'encode':>7} {'pack':>6} {'wait':>6} {'enc%':>5} {'RSS MB':>7} {'wkr MB':>7}"
        print(header)
        model_runs: list[RunFigures] = []
        for keyframe_seconds, clips in clips_by_interval.items():
            for mode in args.modes:
                figures = run_pipeline(
                    encoder=encoder, clips=clips, mode=mode, num_frames=args.frames, workers=workers,
                    keyframe_seconds=keyframe_seconds, model=model,
                )  # fmt: skip
                model_runs.append(figures)
                print(
                    f"{keyframe_seconds:>3g}s {mode:>5} {figures.videos_per_second:>6.2f} {figures.frames_per_second:>6.1f} "
                    f"{figures.wall_seconds:>6.1f} {figures.decode_seconds:>7.2f} {figures.resize_seconds:>7.2f} "
                    f"{figures.encode_seconds:>7.2f} {figures.pack_seconds:>6.3f} {figures.wait_seconds:>6.2f} "
                    f"{figures.encode_share * 100:>4.0f}% {figures.peak_rss_mb:>7.0f} {figures.peak_worker_rss_mb:>7.0f}"
                )
        runs.extend(asdict(run) for run in model_runs)
        if args.naive_videos > 0:
            naive_by_model[model] = naive_compare(
                encoder=encoder,
                clips_by_interval=clips_by_interval,
                model_runs=model_runs,
                num_videos=args.naive_videos,
                num_frames=args.frames,
            )
        if torch.cuda.is_available():
            print(f"peak CUDA memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MB")
        del encoder
    if args.json:
        report = {
            "args": {k: str(v) for k, v in vars(args).items()},
            "workers": workers,
            "runs": runs,
            "naive": naive_by_model,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
