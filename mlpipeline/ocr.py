"""What is written on screen: OCR on the frames extraction already decoded (no second decode).

PP-OCR (rapidocr-onnxruntime's ONNX detection and recognition models), made cheap:

1. Detection runs on each frame downscaled to ``detect_side`` px on its long side (the DB detector
   is the text-presence test: a frame where it finds no box costs only that pass).
2. Each detected box is cut from the frame at full size and compared with the regions already read
   in this video (same place, nearly the same pixels): a caption that stays on screen for several
   sampled frames is recognised once.
3. The remaining crops are recognised in one batch. Lines with the same text are merged across
   frames into one line with the first and last time it was seen and its best confidence.

Input: RGB frames (N, H, W, 3) uint8 and their times. The 224 px centre crops used for CLIP lose
the sides of a landscape frame and are too small for subtitles; docs/text.md says which frames the
extraction should hand over (same decoded frames, long side ``DEFAULT_FRAME_SIDE``).

No Django imports here.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ENGINES: tuple[str, ...] = ("rapidocr", "off")
ENV_OCR = "VIDSORT_OCR"
DEFAULT_FRAME_SIDE = 640  # long side of the frames OCR should be given


class OcrUnavailableError(RuntimeError):
    """The OCR engine cannot be built; the message says what to install or set."""


@dataclass(frozen=True)
class OcrConfig:
    engine: str = "rapidocr"
    detect_side: int = 416  # long side of the frame the detector sees
    min_confidence: float = 0.6  # recognised lines below this are dropped
    min_box_height: int = 8  # px in the given frame; smaller boxes are noise or unreadable
    max_regions_per_frame: int = 12
    # A region counts as already read when its box centre is within ``same_place`` (fraction of
    # the frame), its size within ``same_size`` (relative), and its binarised strokes (Otsu,
    # 16 x 64) differ on less than ``same_pixels`` of the cells. Measured on captions over moving
    # noise (docs/text.md): the same caption differed by at most 0.28, different ones of the same
    # size were told apart by size first.
    same_place: float = 0.04
    same_size: float = 0.12
    same_pixels: float = 0.3
    threads: int = 1  # onnxruntime threads; VidSort runs one OCR per worker process

    def validate(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {self.engine!r}")
        if self.detect_side < 64:
            raise ValueError("detect_side must be at least 64")


@dataclass(frozen=True)
class OcrLine:
    text: str
    start: float  # seconds: first sampled frame where it was seen
    end: float  # last sampled frame where it was seen
    confidence: float  # best over the frames
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the frame
    frames: int  # sampled frames it was seen in


@dataclass(frozen=True)
class OcrResult:
    engine_id: str
    lines: tuple[OcrLine, ...] = ()
    frames_seen: int = 0
    frames_with_text: int = 0
    regions_detected: int = 0
    regions_recognised: int = 0  # after deduplication
    detect_seconds: float = 0.0
    recognise_seconds: float = 0.0
    error: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines)


@dataclass
class _Region:
    frame_time: float
    box: tuple[float, float, float, float]
    signature: np.ndarray
    crop: np.ndarray
    same_as: int | None = None  # index of an earlier region with the same pixels


class OcrReader:
    """Reads text lines from the frames of one video at a time. Thread-safe (one lock)."""

    def __init__(self, config: OcrConfig) -> None:
        config.validate()
        self.config = config
        self.engine_id = "off"
        self._lock = threading.Lock()
        self._detector: Any = None
        self._recogniser: Any = None
        if config.engine == "rapidocr":
            self._load()

    def _load(self) -> None:
        try:
            import rapidocr_onnxruntime  # type: ignore[import-untyped,import-not-found,unused-ignore]
            from rapidocr_onnxruntime.ch_ppocr_det import TextDetector  # type: ignore[import-untyped,import-not-found,unused-ignore]
            from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer  # type: ignore[import-untyped,import-not-found,unused-ignore]
            from rapidocr_onnxruntime.utils import read_yaml, update_model_path  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError as error:
            raise OcrUnavailableError(
                f"OCR needs rapidocr-onnxruntime (pip install --no-deps -r requirements-ocr.txt); "
                f"or set {ENV_OCR}=off"
            ) from error
        from pathlib import Path

        config = update_model_path(
            read_yaml(str(Path(rapidocr_onnxruntime.__file__).parent / "config.yaml"))
        )
        for section in ("Det", "Rec"):
            config[section]["intra_op_num_threads"] = self.config.threads
            config[section]["inter_op_num_threads"] = 1
        config["Det"]["limit_type"] = "max"
        config["Det"]["limit_side_len"] = self.config.detect_side
        self._detector = TextDetector(config["Det"])
        self._recogniser = TextRecognizer(config["Rec"])
        models = Path(config["Rec"]["model_path"]).stem
        self.engine_id = f"rapidocr-{_package_version()}-{models}"

    def read_frames(self, frames: np.ndarray, timestamps: np.ndarray) -> OcrResult:
        """Lines of text on ``frames`` (N, H, W, 3) uint8 RGB shown at ``timestamps`` seconds."""
        if self._detector is None:
            return OcrResult(engine_id=self.engine_id)
        with self._lock:
            return self._read(np.asarray(frames), np.asarray(timestamps, dtype=np.float64))

    def _read(self, frames: np.ndarray, timestamps: np.ndarray) -> OcrResult:
        started = time.perf_counter()
        regions: list[_Region] = []
        frames_with_text = 0
        for frame, frame_time in zip(frames, timestamps, strict=True):
            found = self._detect(frame, float(frame_time))
            frames_with_text += bool(found)
            regions.extend(found)
        detect_seconds = time.perf_counter() - started

        started = time.perf_counter()
        distinct = self._link_duplicates(regions)
        texts = self._recognise([regions[index].crop for index in distinct])
        recognise_seconds = time.perf_counter() - started
        read: dict[int, tuple[str, float]] = dict(zip(distinct, texts, strict=True))
        lines = _merge_lines(regions, read, min_confidence=self.config.min_confidence)
        return OcrResult(
            engine_id=self.engine_id,
            lines=lines,
            frames_seen=len(frames),
            frames_with_text=frames_with_text,
            regions_detected=len(regions),
            regions_recognised=len(distinct),
            detect_seconds=detect_seconds,
            recognise_seconds=recognise_seconds,
        )

    def _detect(self, frame: np.ndarray, frame_time: float) -> list[_Region]:
        import cv2

        height, width = frame.shape[:2]
        scale = min(1.0, self.config.detect_side / max(height, width))
        small = (
            frame
            if scale == 1.0
            else cv2.resize(
                frame, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
            )
        )
        # The models were trained on BGR images (OpenCV's order).
        boxes, _ = self._detector(np.ascontiguousarray(small[:, :, ::-1]))
        if boxes is None or len(boxes) == 0:
            return []
        found: list[_Region] = []
        for quad in boxes[: self.config.max_regions_per_frame]:
            points = np.asarray(quad, dtype=np.float32) / scale
            x0, y0 = np.floor(points.min(axis=0)).astype(int)
            x1, y1 = np.ceil(points.max(axis=0)).astype(int)
            x0, y0 = max(x0, 0), max(y0, 0)
            x1, y1 = min(x1, width), min(y1, height)
            if y1 - y0 < self.config.min_box_height or x1 - x0 < 4:
                continue
            crop = np.ascontiguousarray(frame[y0:y1, x0:x1, ::-1])
            grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
            _, strokes = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
            signature = cv2.resize(strokes, (64, 16), interpolation=cv2.INTER_AREA).astype(
                np.float32
            )
            found.append(
                _Region(
                    frame_time=frame_time,
                    box=(x0 / width, y0 / height, x1 / width, y1 / height),
                    signature=signature / 255.0,
                    crop=crop,
                )
            )
        return found

    def _link_duplicates(self, regions: list[_Region]) -> list[int]:
        """Indices of the regions to recognise; the others point at an earlier identical one."""
        distinct: list[int] = []
        for index, region in enumerate(regions):
            for earlier in distinct:
                if self._same_region(regions[earlier], region):
                    region.same_as = earlier
                    break
            else:
                distinct.append(index)
        return distinct

    def _same_region(self, first: _Region, second: _Region) -> bool:
        a, b = first.box, second.box
        place = self.config.same_place
        if abs((a[0] + a[2]) - (b[0] + b[2])) / 2 > place:
            return False
        if abs((a[1] + a[3]) - (b[1] + b[3])) / 2 > place:
            return False
        for low, high in ((0, 2), (1, 3)):
            first_size, second_size = a[high] - a[low], b[high] - b[low]
            if abs(first_size - second_size) > self.config.same_size * max(first_size, second_size):
                return False
        difference = float(np.abs(first.signature - second.signature).mean())
        return difference < self.config.same_pixels

    def _recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        if not crops:
            return []
        results, _ = self._recogniser(crops)
        return [(str(text), float(score)) for text, score in results]


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _merge_lines(
    regions: list[_Region], read: dict[int, tuple[str, float]], *, min_confidence: float
) -> tuple[OcrLine, ...]:
    merged: dict[str, OcrLine] = {}
    for index, region in enumerate(regions):
        source = index if region.same_as is None else region.same_as
        text, confidence = read[source]
        text = _normalise(text)
        if not text or confidence < min_confidence:
            continue
        key = text.casefold()
        line = merged.get(key)
        if line is None:
            merged[key] = OcrLine(
                text=text,
                start=region.frame_time,
                end=region.frame_time,
                confidence=round(confidence, 4),
                box=tuple(round(v, 4) for v in region.box),  # type: ignore[arg-type]
                frames=1,
            )
            continue
        merged[key] = OcrLine(
            text=line.text,
            start=min(line.start, region.frame_time),
            end=max(line.end, region.frame_time),
            confidence=max(line.confidence, round(confidence, 4)),
            box=line.box,
            frames=line.frames + 1,
        )
    return tuple(sorted(merged.values(), key=lambda line: (line.start, line.box[1], line.box[0])))


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rapidocr-onnxruntime")
    except PackageNotFoundError:
        return "unknown"


def create_reader(config: OcrConfig) -> OcrReader:
    """Load the models (about a second). Raises OcrUnavailableError with what to install or set."""
    return OcrReader(config)


@functools.lru_cache(maxsize=2)
def get_reader(config: OcrConfig) -> OcrReader:
    """The process-wide reader for ``config`` (OcrConfig is hashable)."""
    return create_reader(config)


def character_accuracy(reference: str, hypothesis: str) -> float:
    """1 - character edit distance / reference length, case and spacing ignored (floor 0)."""
    ref = _normalise(reference).casefold()
    hyp = _normalise(hypothesis).casefold()
    if not ref:
        return 1.0 if not hyp else 0.0
    previous = list(range(len(hyp) + 1))
    for i, ref_char in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, hyp_char in enumerate(hyp, start=1):
            current[j] = min(
                previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_char != hyp_char)
            )
        previous = current
    return max(0.0, 1.0 - previous[-1] / len(ref))


def frames_for_text(
    path: str, *, num_frames: int = 8, side: int = DEFAULT_FRAME_SIDE
) -> tuple[np.ndarray, np.ndarray]:
    """Decode whole frames for OCR outside the extraction (benches, tests, one-off checks).

    In VidSort the extraction hands over the frames it decodes anyway. This stand-in decodes
    keyframes only (as ``sample_frames``' fast mode does) and keeps, for each of ``num_frames``
    segment centres, the nearest one, scaled to long side ``side``. Returns (frames, times).
    """
    import av

    from mlpipeline.frames import segment_centres

    with av.open(path) as container:
        if not container.streams.video:
            raise ValueError(f"{path}: no video stream")
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        time_base = float(stream.time_base or 0) or 1 / 90000
        start = stream.start_time or 0
        keyframes: list[tuple[float, np.ndarray]] = []
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            scale = side / max(frame.width, frame.height)
            width = max(2, round(frame.width * scale / 2) * 2)
            height = max(2, round(frame.height * scale / 2) * 2)
            image = frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
            keyframes.append(((frame.pts - start) * time_base, image))
        duration = keyframes[-1][0] + 1e-3 if keyframes else 0.0
        if stream.duration:
            duration = float(stream.duration * time_base)
    if not keyframes:
        raise ValueError(f"{path}: no decodable keyframes")
    times = np.array([t for t, _ in keyframes])
    picks = [
        int(np.abs(times - target).argmin())
        for target in segment_centres(duration=duration, num_frames=num_frames)
    ]
    picks = sorted(set(picks))
    return np.stack([keyframes[i][1] for i in picks]), times[picks]
