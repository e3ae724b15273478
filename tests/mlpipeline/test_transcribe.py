"""Transcription: real espeak-ng speech through PyAV, the webrtc VAD and pocketsphinx, and each
awkward input getting its own clear state."""

from __future__ import annotations

import importlib.util
from dataclasses import replace

import numpy as np
import pytest

from mlpipeline import textmedia
from mlpipeline.transcribe import (
    SAMPLE_RATE,
    TranscriberConfig,
    TranscriberUnavailableError,
    create_transcriber,
    decode_audio,
    get_transcriber,
    voiced_regions,
    word_error_rate,
)

pytestmark = pytest.mark.skipif(
    not textmedia.tools_available(), reason="needs ffmpeg, espeak-ng and fonts-dejavu-core"
)


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    return textmedia.build_bad_inputs(tmp_path_factory.mktemp("bad"), long_seconds=40)


@pytest.fixture(scope="module")
def transcriber():
    return get_transcriber(TranscriberConfig(max_seconds=10))


def test_spoken_words_are_found_with_times(bad, transcriber):
    transcript = transcriber.transcribe_video(bad.audio_only)
    assert transcript.state == "transcribed"
    assert transcript.error is None
    words = transcript.text.split()
    assert {"red", "train"} <= set(words), transcript.text
    segment = transcript.segments[0]
    assert 0 <= segment.start < segment.end <= transcript.audio_seconds + 0.5
    assert all(w.start <= w.end for w in segment.words)
    assert transcript.voiced_seconds < transcript.audio_seconds  # the silence was skipped


def test_video_without_audio_gets_an_empty_transcript(bad, transcriber):
    transcript = transcriber.transcribe_video(bad.no_audio)
    assert (transcript.state, transcript.text, transcript.error) == ("no_audio", "", None)


def test_silent_audio_gets_an_empty_transcript(bad, transcriber):
    transcript = transcriber.transcribe_video(bad.silent)
    assert (transcript.state, transcript.text, transcript.error) == ("silent", "", None)
    assert transcript.audio_seconds == pytest.approx(4.0, abs=0.2)


def test_five_channel_audio_is_mixed_down(bad, transcriber):
    audio = decode_audio(bad.five_channel, max_seconds=10)
    assert audio is not None and audio.channels == 5
    assert audio.samples.ndim == 1 and audio.samples.dtype == np.int16
    transcript = transcriber.transcribe_video(bad.five_channel)
    assert transcript.state == "transcribed"
    assert "train" in transcript.text.split(), transcript.text


def test_long_file_is_bounded(bad):
    transcriber = get_transcriber(TranscriberConfig(max_seconds=6))
    transcript = transcriber.transcribe_video(bad.long)
    assert transcript.truncated
    assert transcript.audio_seconds == pytest.approx(6.0, abs=0.1)
    assert all(segment.end <= 6.5 for segment in transcript.segments)


def test_corrupt_audio_stream_fails_that_video_with_a_reason(bad, transcriber):
    transcript = transcriber.transcribe_video(bad.corrupt_audio)
    assert transcript.state == "failed"
    assert "audio stream cannot be decoded" in (transcript.error or "")


def test_missing_and_not_a_media_file_fail_with_a_reason(tmp_path, transcriber):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    for path in (tmp_path / "missing.mp4", text):
        transcript = transcriber.transcribe_video(path)
        assert transcript.state == "failed"
        assert transcript.error and "cannot open" in transcript.error


def test_off_transcribes_nothing(bad):
    transcript = create_transcriber(TranscriberConfig(engine="off")).transcribe_video(bad.long)
    assert (transcript.state, transcript.engine_id, transcript.text) == ("off", "off", "")


@pytest.mark.skipif(
    importlib.util.find_spec("faster_whisper") is not None, reason="faster-whisper is installed"
)
def test_faster_whisper_without_the_package_says_what_to_set():
    with pytest.raises(TranscriberUnavailableError) as raised:
        create_transcriber(TranscriberConfig(engine="faster-whisper"))
    message = str(raised.value)
    assert "\n" not in message
    assert "VIDSORT_TRANSCRIBER=pocketsphinx" in message


def test_config_is_validated():
    with pytest.raises(ValueError):
        create_transcriber(TranscriberConfig(engine="whisper.cpp"))
    with pytest.raises(ValueError):
        create_transcriber(replace(TranscriberConfig(), max_seconds=0))


def test_vad_finds_speech_between_silences():
    config = TranscriberConfig()
    speech = textmedia.speak("good morning everyone")
    # espeak speaks at 22.05 kHz; a crude resample is enough for the VAD.
    speech = np.interp(
        np.arange(0, len(speech), textmedia.SPEECH_RATE / SAMPLE_RATE),
        np.arange(len(speech)),
        speech,
    ).astype(np.int16)
    silence = np.zeros(SAMPLE_RATE, dtype=np.int16)
    regions = voiced_regions(np.concatenate([silence, speech, silence]), config=config)
    assert len(regions) == 1
    start, end = regions[0]
    assert SAMPLE_RATE * 0.7 < start < SAMPLE_RATE * 1.1
    assert end <= 2 * SAMPLE_RATE + len(speech)
    assert voiced_regions(silence, config=config) == []


def test_word_error_rate():
    assert word_error_rate("a b c".split(), "a b c".split()) == 0
    assert word_error_rate("a b c d".split(), "a x c".split()) == pytest.approx(0.5)
    assert word_error_rate([], []) == 0
