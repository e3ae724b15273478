"""Reading a TikTok "Download your data" export (JSON), without Django.

What VidSort takes from it: the favourited and the liked videos, each a link and a date.
Two shapes are known:

- older exports: ``{"Activity": {"Favorite Videos": {"FavoriteVideoList": [{"Date", "Link"}]},
  "Like List": {"ItemFavoriteList": [{"Date", "Link"}]}}}``
- newer exports: the same lists under ``"Your Activity"``, entries with ``"date"``/``"link"``.

Keys are matched without regard to case and spaces, so small spelling drifts between export
versions read the same. The input is bounded before it is parsed: a JSON file over
``max_bytes`` is refused by its size, and a zip archive's member is read in chunks (never
extracted to disk) and refused as soon as it passes ``max_bytes`` or inflates more than
``MAX_RATIO`` times its compressed size, so a zip bomb costs at most ``max_bytes`` of memory.
Entries that cannot be used (a short vm.tiktok.com link, another site's link, a duplicate)
are skipped with the reason; an input that is not a TikTok export is refused with an error.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, Literal
from urllib.parse import urlsplit

from labeling.services.errors import InvalidError

# 64 MiB of JSON: a heavy user's whole export (watch history included) is a few tens of MB.
MAX_JSON_BYTES = 64 * 1024 * 1024
# A JSON export compresses about 10-20x; a zip bomb 1000x or more.
MAX_RATIO = 100
EXPORT_NAMES = ("user_data.json", "user_data_tiktok.json")
MAX_ZIP_ENTRIES = 1000
CHUNK = 1024 * 1024

Kind = Literal["favorite", "like"]
# TikTok's video ids are 19 digits today; older ones are shorter. Fewer than 15 digits
# would match unrelated numbers in file names.
ID_DIGITS = re.compile(r"^[0-9]{15,21}$")
_VIDEO_PATH = (
    re.compile(r"^/share/video/([0-9]+)/?$"),  # www.tiktokv.com/share/video/<id>/
    re.compile(r"^/@[^/]*/video/([0-9]+)/?$"),  # www.tiktok.com/@user/video/<id>
    re.compile(r"^/v/([0-9]+)(?:\.html)?/?$"),  # m.tiktok.com/v/<id>.html
    re.compile(r"^/embed(?:/v2)?/([0-9]+)/?$"),  # www.tiktok.com/embed/v2/<id>
)
_SHORT_HOSTS = ("vm.tiktok.com", "vt.tiktok.com")
_HOSTS = ("tiktok.com", "tiktokv.com")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


class TikTokExportError(InvalidError):
    """The input is not a TikTok data export VidSort can read (nothing was imported)."""

    code = "tiktok_export"


@dataclass(slots=True)
class ExportItem:
    tiktok_id: str
    link: str
    favorited_at: datetime | None = None
    liked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry left out: which list, its position there, the link (shortened) and why."""

    kind: Kind
    index: int
    link: str
    reason: str


@dataclass(slots=True)
class ParsedExport:
    shape: str  # "older" (Activity) or "newer" (Your Activity)
    items: dict[str, ExportItem] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    favorites: int = 0  # usable entries read, duplicates not counted
    likes: int = 0


def video_id_from_link(link: object) -> tuple[str | None, str | None]:
    """(the numeric video id, None) or (None, why the link has none)."""
    if not isinstance(link, str) or not link.strip():
        return None, "no link"
    text = link.strip()
    if _CONTROL.search(text):
        return None, "the link holds spaces or control characters"
    try:
        parts = urlsplit(text)
    except ValueError:
        return None, "not a link"
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return None, "not a web link"
    if host in _SHORT_HOSTS:
        return None, "a short link holds no video id (open it in a browser to see the video)"
    if not any(host == h or host.endswith("." + h) for h in _HOSTS):
        return None, f"not a TikTok link ({host})"
    for pattern in _VIDEO_PATH:
        match = pattern.match(parts.path)
        if match:
            if not ID_DIGITS.match(match.group(1)):
                return None, "the video id is not 15-21 digits"
            return match.group(1), None
    return None, "a TikTok link of another shape (no /video/<id> in it)"


def parse_date(value: object) -> datetime | None:
    """The export's "2023-05-01 12:34:56" (UTC) as an aware datetime; None when unreadable."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _norm(key: str) -> str:
    return key.replace(" ", "").replace("_", "").lower().replace("favourite", "favorite")


def _get(mapping: object, *names: str) -> Any:
    """The value of the first key (compared by ``_norm``) present in a dict, else None."""
    if not isinstance(mapping, dict):
        return None
    keys = {_norm(str(k)): v for k, v in mapping.items()}
    for name in names:
        if _norm(name) in keys:
            return keys[_norm(name)]
    return None


def parse_export(data: object) -> ParsedExport:
    """The favourites and likes of a decoded export; TikTokExportError if it is not one."""
    if not isinstance(data, dict):
        raise TikTokExportError("not a TikTok data export: the JSON is not an object")
    activity = _get(data, "Activity")
    shape = "older"
    if activity is None:
        activity, shape = _get(data, "Your Activity"), "newer"
    if not isinstance(activity, dict):
        raise TikTokExportError(
            "not a TikTok data export: no 'Activity' or 'Your Activity' section "
            "(download your data from TikTok in JSON format)"
        )
    favorites = _get(_get(activity, "Favorite Videos"), "FavoriteVideoList")
    likes = _get(_get(activity, "Like List", "Likes"), "ItemFavoriteList", "ItemLikeList")
    if favorites is None and likes is None:
        raise TikTokExportError(
            "this TikTok export holds no 'Favorite Videos' and no 'Like List' "
            "(was it requested with 'All data'?)"
        )
    parsed = ParsedExport(shape=shape)
    _read_list(parsed, favorites, "favorite")
    _read_list(parsed, likes, "like")
    return parsed


def _read_list(parsed: ParsedExport, entries: object, kind: Kind) -> None:
    if entries is None:
        return
    if not isinstance(entries, list):
        parsed.skipped.append(Skipped(kind, 0, "", f"the {kind} list is not a list"))
        return
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        link = _get(entry, "Link", "VideoLink")
        video_id, reason = video_id_from_link(link)
        shown = link[:300] if isinstance(link, str) else ""
        if not isinstance(entry, dict):
            reason = "the entry is not an object"
        if video_id is None or reason is not None:
            parsed.skipped.append(Skipped(kind, index, shown, reason or "no video id"))
            continue
        if video_id in seen:
            parsed.skipped.append(
                Skipped(
                    kind,
                    index,
                    shown,
                    f"duplicate: video {video_id} is listed before (the newest date is kept)",
                )
            )
        seen.add(video_id)
        _merge(parsed, video_id, link.strip(), parse_date(_get(entry, "Date")), kind)


def _merge(
    parsed: ParsedExport, video_id: str, link: str, when: datetime | None, kind: Kind
) -> None:
    item = parsed.items.get(video_id)
    if item is None:
        item = parsed.items[video_id] = ExportItem(tiktok_id=video_id, link=link)
    attr = "favorited_at" if kind == "favorite" else "liked_at"
    before = getattr(item, attr)
    if before is None:
        if kind == "favorite":
            parsed.favorites += 1
        else:
            parsed.likes += 1
    # A duplicate keeps the newest date.
    if before is None or (when is not None and when > before):
        setattr(item, attr, when)


def read_export(stream: IO[bytes], *, name: str, max_bytes: int = MAX_JSON_BYTES) -> ParsedExport:
    """Parse an export from a seekable binary stream: a zip archive or its JSON file."""
    head = stream.read(4)
    size = stream.seek(0, 2)
    stream.seek(0)
    if head.startswith(b"PK"):
        raw = _zip_member(stream, max_bytes=max_bytes)
    else:
        if size > max_bytes:  # refused by its size, before a byte is read
            raise TikTokExportError(_too_large(name, max_bytes))
        raw = _bounded_read(_chunks(stream), limit=max_bytes, what=name)
    return parse_export(_decode(raw))


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def _bounded_read(chunks: Iterator[bytes], *, limit: int, what: str) -> bytes:
    parts: list[bytes] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise TikTokExportError(_too_large(what, limit))
        parts.append(chunk)
    return b"".join(parts)


def _too_large(what: str, limit: int) -> str:
    return (
        f"{what} is larger than {limit // (1024 * 1024)} MB: refused before parsing "
        "(an export's user_data.json is a few MB; pass a larger limit if yours is real)"
    )


def _zip_entries_declared(stream: IO[bytes]) -> int | None:
    """The entry count the archive's end record declares (None: no end record found).

    Read before zipfile builds one object per entry: an archive of millions of empty
    entries would otherwise cost gigabytes of memory before any check.
    """
    size = stream.seek(0, 2)
    tail_size = min(size, 65_536 + 22)
    stream.seek(size - tail_size)
    tail = stream.read(tail_size)
    stream.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    return int.from_bytes(tail[at + 10 : at + 12], "little")


def _zip_member(stream: IO[bytes], *, max_bytes: int) -> bytes:
    entries = _zip_entries_declared(stream)
    # 0xFFFF: a ZIP64 archive (more entries than that); a TikTok export has a handful.
    if entries is not None and entries > MAX_ZIP_ENTRIES:
        raise TikTokExportError(
            f"the archive declares {entries} files; a TikTok export holds a few: refused"
        )
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise TikTokExportError(f"not a readable zip archive: {exc}") from exc
    with archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and info.filename.replace("\\", "/").rsplit("/", 1)[-1].lower() in EXPORT_NAMES
        ]
        if not members:
            raise TikTokExportError(
                "the archive holds no user_data.json or user_data_tiktok.json "
                "(download your data from TikTok in JSON format)"
            )
        info = members[0]
        if info.file_size > max_bytes:
            raise TikTokExportError(
                f"{info.filename} would inflate to {info.file_size} bytes, over the "
                f"{max_bytes // (1024 * 1024)} MB limit: refused"
            )
        return _read_member(archive, info, max_bytes=max_bytes)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, max_bytes: int) -> bytes:
    # The declared sizes can lie: count what actually comes out, chunk by chunk.
    limit = min(max_bytes, max(info.compress_size, 1) * MAX_RATIO + CHUNK)
    try:
        with archive.open(info) as member:
            raw = _bounded_read(_chunks(member), limit=limit, what=info.filename)
    except TikTokExportError as exc:
        raise TikTokExportError(
            f"{info.filename} inflates past {limit} bytes "
            f"({MAX_RATIO}x its compressed size or the size limit): refused as a zip bomb"
        ) from exc
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression.
        raise TikTokExportError(f"{info.filename} cannot be read from the archive: {exc}") from exc
    return raw


def _decode(raw: bytes) -> object:
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise TikTokExportError("not a TikTok data export: the file is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise TikTokExportError(f"not a TikTok data export: not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise TikTokExportError("not a TikTok data export: the JSON is nested too deeply") from exc
