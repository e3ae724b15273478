"""Reads of what is said and written in videos (Transcript, ScreenText; docs/text.md).

Both tables are keyed by (content hash, engine id). Readers that do not care which engine
made a text (features, search, the API) take the newest row per content hash.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from labeling.models import Library, ScreenText, Transcript, Video
from mlpipeline.textfeatures import video_document

MATCH_CONTEXT = 120  # characters of a matching segment or line shown in a search hit


def text_candidates(*, library: Library, max_video_id: int) -> list[int]:
    """Playable videos with a content hash, up to ``max_video_id``: the text stage's work."""
    return list(
        Video.objects.filter(library=library, status=Video.Status.OK, pk__lte=max_video_id)
        .exclude(content_hash="")
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def videos_needing_text(
    *,
    library: Library,
    max_video_id: int,
    transcriber: str | None,
    ocr: str | None,
) -> QuerySet[Video]:
    """Candidates lacking a transcript of ``transcriber`` or screen text of ``ocr`` (engine ids;
    None: that engine is not running)."""
    queryset = Video.objects.filter(
        library=library, status=Video.Status.OK, pk__lte=max_video_id
    ).exclude(content_hash="")
    condition = Q(pk__in=[])
    if transcriber is not None:
        said = Transcript.objects.filter(content_hash=OuterRef("content_hash"), engine=transcriber)
        queryset = queryset.annotate(has_transcript=Exists(said))
        condition |= Q(has_transcript=False)
    if ocr is not None:
        written = ScreenText.objects.filter(content_hash=OuterRef("content_hash"), engine=ocr)
        queryset = queryset.annotate(has_screen_text=Exists(written))
        condition |= Q(has_screen_text=False)
    return queryset.filter(condition)


def stored_text_hashes(
    *, hashes: Iterable[str], transcriber: str | None, ocr: str | None
) -> tuple[set[str], set[str]]:
    """(hashes with a transcript of ``transcriber``, hashes with screen text of ``ocr``)."""
    wanted = list(set(hashes))
    said: set[str] = set()
    written: set[str] = set()
    if transcriber is not None:
        said = set(
            Transcript.objects.filter(content_hash__in=wanted, engine=transcriber).values_list(
                "content_hash", flat=True
            )
        )
    if ocr is not None:
        written = set(
            ScreenText.objects.filter(content_hash__in=wanted, engine=ocr).values_list(
                "content_hash", flat=True
            )
        )
    return said, written


def _newest(rows: Iterable[Any]) -> dict[str, Any]:
    newest: dict[str, Any] = {}
    for row in rows:  # ordered by id: later rows win
        newest[row.content_hash] = row
    return newest


def transcripts_by_hash(*, hashes: Iterable[str]) -> dict[str, Transcript]:
    return _newest(Transcript.objects.filter(content_hash__in=list(set(hashes))).order_by("pk"))


def screen_texts_by_hash(*, hashes: Iterable[str]) -> dict[str, ScreenText]:
    return _newest(ScreenText.objects.filter(content_hash__in=list(set(hashes))).order_by("pk"))


def text_documents(*, hashes: Iterable[str]) -> dict[str, str]:
    """Content hash -> one lower-case text (transcript, then on-screen lines); empty when none."""
    wanted = list(set(hashes))
    said = transcripts_by_hash(hashes=wanted)
    written = screen_texts_by_hash(hashes=wanted)
    documents = {}
    for content_hash in wanted:
        transcript = said.get(content_hash)
        screen = written.get(content_hash)
        documents[content_hash] = video_document(
            transcript=transcript.text if transcript else "",
            on_screen=[line["text"] for line in screen.lines] if screen else (),
        )
    return documents


def library_has_text(*, library: Library) -> bool:
    """Any video of the library with a non-empty transcript or on-screen text."""
    hashes = Video.objects.filter(library=library).values("content_hash")
    return (
        Transcript.objects.filter(content_hash__in=hashes).exclude(text="").exists()
        or ScreenText.objects.filter(content_hash__in=hashes).exclude(text="").exists()
    )


# --- Per video (the API) ----------------------------------------------------------------


def _transcript_dict(row: Transcript | None) -> dict[str, Any]:
    if row is None:
        return {"state": "pending", "engine": "", "reason": "", "segments": []}
    segments = [
        {"start": float(s["start"]), "end": float(s["end"]), "text": str(s["text"])}
        for s in row.segments
    ]
    return {"state": row.state, "engine": row.engine, "reason": row.reason, "segments": segments}


def _screen_dict(row: ScreenText | None) -> dict[str, Any]:
    if row is None:
        return {"state": "pending", "engine": "", "reason": "", "lines": []}
    lines = [
        {
            "time": float(line["time"]),
            "end": float(line["end"]),
            "text": str(line["text"]),
            "confidence": float(line["confidence"]),
        }
        for line in row.lines
    ]
    return {"state": row.state, "engine": row.engine, "reason": row.reason, "lines": lines}


def video_text(*, video: Video) -> dict[str, Any]:
    """The /api/videos/<id>/text body: transcript and on-screen lines ("pending" before)."""
    hashes = [video.content_hash] if video.content_hash else []
    transcript = transcripts_by_hash(hashes=hashes).get(video.content_hash)
    screen = screen_texts_by_hash(hashes=hashes).get(video.content_hash)
    return {
        "video": video.pk,
        "transcript": _transcript_dict(transcript),
        "screen_text": _screen_dict(screen),
    }


def videos_text(*, videos: Iterable[Video]) -> dict[int, dict[str, Any]]:
    """video id -> {"transcript": ..., "screen_text": ...} for many videos (the export)."""
    listed = list(videos)
    hashes = [v.content_hash for v in listed if v.content_hash]
    said = transcripts_by_hash(hashes=hashes)
    written = screen_texts_by_hash(hashes=hashes)
    return {
        v.pk: {
            "transcript": _transcript_dict(said.get(v.content_hash)),
            "screen_text": _screen_dict(written.get(v.content_hash)),
        }
        for v in listed
    }


# --- Search -----------------------------------------------------------------------------


def _matching_hashes(*, model: type[Transcript] | type[ScreenText], query: str) -> set[str]:
    """Content hashes whose text matches: full-text search on PostgreSQL, icontains elsewhere."""
    rows = model.objects.exclude(text="")
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        rows = rows.annotate(document=SearchVector("text", config="simple")).filter(
            document=SearchQuery(query, config="simple", search_type="websearch")
        )
    else:
        for word in query.split():
            rows = rows.filter(text__icontains=word)
    return set(rows.values_list("content_hash", flat=True))


def _words(query: str) -> list[str]:
    return [word.casefold() for word in query.split() if word.strip()]


def _snippet(text: str) -> str:
    return text if len(text) <= MATCH_CONTEXT else text[: MATCH_CONTEXT - 1] + "…"


def _matches_in(row: Transcript | ScreenText, words: list[str]) -> list[dict[str, Any]]:
    """The segments or lines of ``row`` that hold any of ``words``, with their times."""
    if isinstance(row, Transcript):
        items = [("transcript", s["start"], s["text"]) for s in row.segments]
    else:
        items = [("screen", line["time"], line["text"]) for line in row.lines]
    return [
        {"source": source, "time": round(float(time), 2), "text": _snippet(str(text))}
        for source, time, text in items
        if any(word in str(text).casefold() for word in words)
    ]


def text_matches(*, library: Library, query: str, limit: int) -> dict[int, list[dict[str, Any]]]:
    """video id -> where ``query`` is said or written in it, for the videos whose stored text
    matches (at most ``limit`` videos, the most matches first)."""
    hashes = _matching_hashes(model=Transcript, query=query) | _matching_hashes(
        model=ScreenText, query=query
    )
    if not hashes:
        return {}
    videos = Video.objects.filter(library=library, content_hash__in=hashes).exclude(
        status=Video.Status.MISSING
    )
    said = transcripts_by_hash(hashes=hashes)
    written = screen_texts_by_hash(hashes=hashes)
    words = _words(query)
    found: dict[int, list[dict[str, Any]]] = {}
    for video in videos.order_by("pk"):
        rows = [r for r in (said.get(video.content_hash), written.get(video.content_hash)) if r]
        matches = [m for row in rows for m in _matches_in(row, words)]
        if matches:
            found[video.pk] = sorted(
                matches, key=lambda m: (m["source"] != "transcript", m["time"])
            )
    best = sorted(found, key=lambda pk: (-len(found[pk]), pk))[:limit]
    return {pk: found[pk] for pk in best}


def text_documents_for_videos(*, video_ids: list[int]) -> list[str]:
    """One text document per video id, in order (empty for a video without stored text)."""
    hashes = dict(Video.objects.filter(pk__in=video_ids).values_list("pk", "content_hash"))
    documents = text_documents(hashes=[h for h in hashes.values() if h])
    return [documents.get(hashes.get(pk, ""), "") for pk in video_ids]
