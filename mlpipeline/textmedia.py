"""Test media for the text stage: videos whose only difference between categories is what is
said (espeak-ng speech) and what is written (ffmpeg drawtext, DejaVu font).

Every video's picture is the same kind of moving random noise over a random grey level, so
visual features alone cannot tell the categories apart; each category has its own sentences and
its own burned-in words. Also makes the awkward inputs the text stage must survive (audio only,
no audio, silence, 5-channel audio, a long file, a corrupt audio stream).

Needs the ``ffmpeg`` and ``espeak-ng`` programs and the DejaVu fonts (scripts/system-deps.sh).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FONT_PATH = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
SPEECH_RATE = 22050  # espeak-ng's output rate

# Category -> (sentences, on-screen phrases). Words are ordinary English so that the offline
# recogniser's dictionary knows them; each category's vocabulary is its own.
CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cooking": (
        (
            "add two cups of flour and stir the butter",
            "bake the bread in a hot oven for one hour",
            "chop the onions and fry them in the pan",
            "this recipe needs sugar eggs and fresh milk",
            "boil the pasta and season it with salt",
        ),
        ("BANANA BREAD", "RECIPE", "FLOUR SUGAR", "BAKE 180", "KITCHEN"),
    ),
    "weather": (
        (
            "tomorrow will be cloudy with heavy rain in the north",
            "the temperature will drop below freezing tonight",
            "expect strong winds and snow on the mountains",
            "a warm and sunny afternoon across the south",
            "the storm will move east during the weekend",
        ),
        ("FORECAST", "RAIN", "SUNNY", "WIND NORTH", "STORM"),
    ),
    "football": (
        (
            "the striker scored a goal in the second half",
            "the referee showed a red card to the defender",
            "our team won the match three to one",
            "the goalkeeper saved the penalty kick",
            "the coach changed two players after the break",
        ),
        ("GOAL", "FINAL SCORE", "MATCH DAY", "PENALTY", "TEAM"),
    ),
    "travel": (
        (
            "we took the train from the airport to the city",
            "the hotel room has a view of the beach",
            "book your flight early for cheaper tickets",
            "the old town is full of museums and markets",
            "pack a passport and a map for the journey",
        ),
        ("HOTEL", "FLIGHT", "BEACH", "CITY GUIDE", "PASSPORT"),
    ),
}


@dataclass(frozen=True)
class TextVideo:
    path: Path
    category: str
    sentences: tuple[str, ...]  # spoken, in order
    phrases: tuple[str, ...]  # burned in, in order
    duration: float


def tools_available() -> bool:
    return (
        shutil.which("ffmpeg") is not None
        and shutil.which("espeak-ng") is not None
        and Path(FONT_PATH).is_file()
    )


def run_ffmpeg(*args: str) -> None:
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {' '.join(command)}\n{completed.stderr}")


# espeak-ng's Klatt variants: the default formant voice is so unlike human speech that the
# offline recogniser got a word in three right; Klatt speech it mostly gets right.
VOICES = ("en-us+klatt", "en-us+klatt2")


def speak(text: str, *, speed: int = 160, voice: str = VOICES[0]) -> np.ndarray:
    """``text`` spoken by espeak-ng: int16 mono samples at SPEECH_RATE."""
    completed = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
        capture_output=True,
        check=True,
    )
    data = completed.stdout
    # --stdout writes a WAV whose header sizes are left open; the samples follow the 44-byte header.
    return np.frombuffer(data[44 : 44 + (len(data) - 44) // 2 * 2], dtype="<i2").copy()


def write_wav(path: Path, samples: np.ndarray, *, rate: int = SPEECH_RATE) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.asarray(samples, dtype="<i2").tobytes())


def speech_track(
    sentences: Sequence[str],
    *,
    duration: float,
    rng: random.Random,
    speed: int = 160,
    voice: str = VOICES[0],
) -> np.ndarray:
    """The sentences spread over ``duration`` seconds with silence between them."""
    track = np.zeros(int(duration * SPEECH_RATE), dtype=np.int16)
    slot = duration / max(len(sentences), 1)
    for index, sentence in enumerate(sentences):
        voice_samples = speak(sentence, speed=speed, voice=voice)[: int(slot * SPEECH_RATE)]
        room = int(slot * SPEECH_RATE) - len(voice_samples)
        start = int(index * slot * SPEECH_RATE) + (rng.randrange(room) if room > 0 else 0)
        track[start : start + len(voice_samples)] = voice_samples[: len(track) - start]
    return track


def _drawtext(phrases: Sequence[str], *, duration: float, rng: random.Random) -> str:
    """drawtext filters showing each phrase during its own part of the clip."""
    filters = []
    slot = duration / max(len(phrases), 1)
    for index, phrase in enumerate(phrases):
        start = index * slot + 0.1 * slot
        end = (index + 1) * slot - 0.1 * slot
        y = rng.choice(["h*0.15", "(h-th)/2", "h*0.75"])
        size = rng.choice([28, 32, 36])
        filters.append(
            f"drawtext=fontfile={FONT_PATH}:text='{phrase}':fontsize={size}:fontcolor=white"
            f":box=1:boxcolor=black@0.6:boxborderw=6:x=(w-tw)/2:y={y}"
            f":enable='between(t,{start:.2f},{end:.2f})'"
        )
    return ",".join(filters)


def _noise_source(*, duration: float, width: int, height: int, fps: int, seed: int) -> str:
    grey = 60 + seed * 37 % 120
    # Coarse blocks of noise: as uninformative as fine noise, a tenth of the file size.
    return (
        f"color=c=0x{grey:02x}{grey:02x}{grey:02x}:s={width // 8}x{height // 8}:r={fps}"
        f":d={duration},noise=alls=40:allf=t:all_seed={seed % 100000},"
        f"scale={width}:{height}:flags=neighbor"
    )


def write_text_video(
    path: Path,
    *,
    sentences: Sequence[str] = (),
    phrases: Sequence[str] = (),
    duration: float = 20.0,
    width: int = 640,
    height: int = 360,
    fps: int = 10,
    seed: int = 0,
    speed: int = 160,
    voice: str = VOICES[0],
) -> None:
    """An H.264 + AAC mp4 of noise, the phrases burned in and the sentences spoken."""
    rng = random.Random(seed)
    video_filter = _noise_source(duration=duration, width=width, height=height, fps=fps, seed=seed)
    if phrases:
        video_filter += "," + _drawtext(phrases, duration=duration, rng=rng)
    video_args = ["-f", "lavfi", "-i", video_filter]
    encode = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "28", "-g", str(fps)]
    encode += ["-pix_fmt", "yuv420p"]
    if not sentences:
        run_ffmpeg(*video_args, *encode, "-an", "-t", str(duration), str(path))
        return
    wav = path.with_suffix(".speech.wav")
    write_wav(wav, speech_track(sentences, duration=duration, rng=rng, speed=speed, voice=voice))
    try:
        run_ffmpeg(
            *video_args,
            "-i",
            str(wav),
            *encode,
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            "-t",
            str(duration),
            str(path),
        )
    finally:
        wav.unlink(missing_ok=True)


def build_library(
    root: Path,
    *,
    per_category: int = 10,
    duration: float = 20.0,
    categories: Sequence[str] | None = None,
    width: int = 640,
    height: int = 360,
    seed: int = 0,
    items_per_video: int = 2,
    reuse_existing: bool = False,
) -> list[TextVideo]:
    """``per_category`` videos per category under ``root/<category>/``.

    Videos cycle through three kinds: speech and text, speech only, text only, so a category is
    recognisable only by combining both sources. ``reuse_existing`` keeps files already there
    (the same seed draws the same content).
    """
    videos: list[TextVideo] = []
    names = list(categories or CATEGORIES)
    for category_index, category in enumerate(names):
        pool_sentences, pool_phrases = CATEGORIES[category]
        folder = root / category
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_category):
            video_seed = seed * 10007 + category_index * 1000 + index
            rng = random.Random(video_seed)
            kind = index % 3
            sentences = tuple(rng.sample(pool_sentences, items_per_video)) if kind != 2 else ()
            phrases = tuple(rng.sample(pool_phrases, items_per_video)) if kind != 1 else ()
            path = folder / f"{category}_{index:02d}.mp4"
            videos.append(TextVideo(path, category, sentences, phrases, duration))
            speed, voice = rng.choice([150, 160, 170]), rng.choice(VOICES)
            if reuse_existing and path.is_file():
                continue  # same seed, same content: the draws above are all that matters
            write_text_video(
                path,
                sentences=sentences,
                phrases=phrases,
                duration=duration,
                width=width,
                height=height,
                seed=video_seed,
                speed=speed,
                voice=voice,
            )
    return videos


@dataclass(frozen=True)
class BadInputs:
    audio_only: Path
    no_audio: Path
    silent: Path
    five_channel: Path
    long: Path
    corrupt_audio: Path
    spoken_words: tuple[str, ...]  # said in five_channel and audio_only


def build_bad_inputs(root: Path, *, long_seconds: float = 180.0) -> BadInputs:
    root.mkdir(parents=True, exist_ok=True)
    sentence = "the red train leaves the station at noon"
    wav = root / "speech.wav"
    write_wav(wav, speech_track([sentence], duration=4.0, rng=random.Random(1)))
    noise = _noise_source(duration=4.0, width=320, height=180, fps=10, seed=7)
    h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    paths = BadInputs(
        audio_only=root / "audio_only.m4a",
        no_audio=root / "no_audio.mp4",
        silent=root / "silent.mp4",
        five_channel=root / "five_channel.mp4",
        long=root / "long.mp4",
        corrupt_audio=root / "corrupt_audio.mkv",
        spoken_words=tuple(sentence.split()),
    )
    run_ffmpeg("-i", str(wav), "-c:a", "aac", str(paths.audio_only))
    run_ffmpeg("-f", "lavfi", "-i", noise, *h264, str(paths.no_audio))
    run_ffmpeg(
        "-f", "lavfi", "-i", noise, "-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo",
        *h264, "-c:a", "aac", "-t", "4", str(paths.silent),
    )  # fmt: skip
    run_ffmpeg(
        "-f", "lavfi", "-i", noise, "-i", str(wav), *h264,
        "-af", "pan=5.0|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0", "-c:a", "aac", "-t", "4",
        str(paths.five_channel),
    )  # fmt: skip
    run_ffmpeg(
        "-f", "lavfi", "-i", f"color=c=gray:s=64x64:r=1:d={long_seconds}",
        "-stream_loop", "-1", "-i", str(wav), *h264, "-c:a", "aac", "-b:a", "32k",
        "-t", str(long_seconds), str(paths.long),
    )  # fmt: skip
    _write_corrupt_audio(paths.corrupt_audio, wav)
    wav.unlink()
    return paths


def _write_corrupt_audio(path: Path, wav: Path) -> None:
    """A Matroska file with a video stream and an AAC stream whose packets are random bytes."""
    import av

    good = path.with_suffix(".good.mkv")
    noise = _noise_source(duration=4.0, width=160, height=90, fps=10, seed=3)
    run_ffmpeg(
        "-f", "lavfi", "-i", noise, "-i", str(wav), "-c:v", "libx264", "-preset", "ultrafast",
        "-pix_fmt", "yuv420p", "-c:a", "aac", str(good),
    )  # fmt: skip
    rng = np.random.default_rng(5)
    with av.open(str(good)) as source, av.open(str(path), "w") as target:
        streams = {}
        for stream in source.streams:
            streams[stream.index] = target.add_stream_from_template(stream)
        for packet in source.demux():
            if packet.size == 0:
                continue
            out_stream = streams[packet.stream.index]
            if packet.stream.type == "audio":
                garbage = av.Packet(rng.integers(0, 256, packet.size, dtype=np.uint8).tobytes())
                garbage.pts, garbage.dts = packet.pts, packet.dts
                garbage.time_base = packet.time_base
                packet = garbage
            packet.stream = out_stream
            target.mux(packet)
    good.unlink()
