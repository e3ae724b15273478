"""Video bytes for the player, with HTTP Range so seeking works in every browser.

Django's FileResponse has no Range support and whitenoise only serves files it saw at
start-up, so this view does the ranged response itself (RFC 9110 section 14). It works on
its own for the embedded default. In production behind nginx, set
VIDSORT_ACCEL_REDIRECT_PREFIX: the view still authorises the request and resolves the
path, then hands the bytes (and the Range handling) to nginx with X-Accel-Redirect.

Who may watch: logged-in users (session) or API clients with a token
(``Authorization: Token …``). An anonymous request without credentials is redirected
to the login page (302, like every page); a wrong token gets 401. No file byte is ever
sent before that check.
"""

from __future__ import annotations

import mimetypes
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote_from_bytes

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.http import require_http_methods
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from labeling.models import Video

CHUNK_SIZE = 256 * 1024

# A browser sends "bytes=123-" (about 20 characters). Anything much longer is either a
# multi-range request, which we do not serve as multipart, or an attack; capping the
# length keeps the parsing work bounded whatever the client sends.
MAX_RANGE_HEADER_LENGTH = 200

# One range: bytes=first-last, bytes=first- or bytes=-suffix. ASCII digits only (int()
# would accept other scripts' digits), at most 19 of them (fits a 64-bit offset).
_SINGLE_RANGE = re.compile(r"\s*bytes\s*=\s*(\d{0,19})\s*-\s*(\d{0,19})\s*", re.I | re.ASCII)

# Browsers need the right type to decide whether they can play the file at all.
CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/x-m4v",
    ".webm": "video/webm",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".avi": "video/x-msvideo",
    ".mpg": "video/mpeg",
    ".mpeg": "video/mpeg",
    ".ogv": "video/ogg",
    ".3gp": "video/3gpp",
    ".ts": "video/mp2t",
    ".gif": "image/gif",
}


def content_type_for(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext in CONTENT_TYPES:
        return CONTENT_TYPES[ext]
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return guessed or "application/octet-stream"


class RangeNotSatisfiable(Exception):
    pass


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range_header(header: str, size: int) -> ByteRange | None:
    """The one range to serve, None to serve the whole file, or RangeNotSatisfiable.

    RFC 9110 14.2: a server MAY ignore Range, and MUST ignore it when it is not valid
    for the unit. So anything we cannot or will not honour (another unit, bad syntax,
    last < first, several ranges) gets the full 200 response rather than an error. Only
    a well-formed single range that starts at or beyond the end of the file gets 416.
    """
    if not header or len(header) > MAX_RANGE_HEADER_LENGTH or "," in header:
        # "," means several ranges. Serving them as multipart/byteranges costs more than
        # it gives (no browser asks for it) and is the classic amplification vector.
        return None
    match = _SINGLE_RANGE.fullmatch(header)
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return ByteRange(start=max(0, size - suffix), end=size - 1)
    start = int(first)
    if last != "" and int(last) < start:
        return None  # syntactically invalid (RFC 9110 14.1.1): ignore the header
    if start >= size:
        raise RangeNotSatisfiable
    end = size - 1 if last == "" else min(int(last), size - 1)
    return ByteRange(start=start, end=end)


class FileRangeIterator:
    """Yields bytes [start, start + length) of an open file descriptor, then closes it.

    A class rather than a generator so that close() releases the descriptor even when
    the response is never iterated (client gone, HEAD, middleware short-circuit).
    """

    def __init__(self, fd: int, *, start: int, length: int) -> None:
        self._fd: int | None = fd
        self._position = start
        self._remaining = length

    def __iter__(self) -> Iterator[bytes]:
        try:
            while self._remaining > 0 and self._fd is not None:
                chunk = os.pread(self._fd, min(CHUNK_SIZE, self._remaining), self._position)
                if not chunk:
                    # The file shrank under us. Stop: the client sees a short body
                    # against Content-Length and retries, better than padding garbage.
                    break
                self._position += len(chunk)
                self._remaining -= len(chunk)
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _not_found(message: str) -> JsonResponse:
    return JsonResponse({"detail": message}, status=404)


def _resolve_inside_root(root: str, relative: str) -> tuple[str, str] | None:
    """(absolute real path, path relative to the real root), or None if it escapes.

    Both sides go through realpath so that '..' segments, an absolute path stored in
    the row and symlinks pointing outside the library are all caught by the same check.
    """
    try:
        real_root = os.path.realpath(root)
        real_path = os.path.realpath(os.path.join(real_root, relative))
        if real_path == real_root or os.path.commonpath([real_root, real_path]) != real_root:
            return None
    except (ValueError, OSError):  # NUL bytes, mixed absolute/relative, ELOOP
        return None
    return real_path, os.path.relpath(real_path, real_root)


def _authorise(request: HttpRequest) -> HttpResponse | None:
    """None when the request may see videos, else the refusal to send."""
    if request.user.is_authenticated:
        return None
    if request.META.get("HTTP_AUTHORIZATION"):
        try:
            result = TokenAuthentication().authenticate(request)
        except AuthenticationFailed as exc:
            return JsonResponse({"detail": str(exc.detail)}, status=401)
        if result is not None:
            request.user = result[0]
            return None
    return redirect_to_login(request.get_full_path())


def _etag(st: os.stat_result) -> str:
    # Size + mtime, like nginx's: changes whenever the file is rewritten, and costs
    # no read of the file.
    return f'"{st.st_size:x}-{st.st_mtime_ns:x}"'


def _if_range_allows(request: HttpRequest, *, etag: str, mtime: int) -> bool:
    """RFC 9110 13.1.5: a Range is only honoured if the client's copy is current."""
    if_range = request.headers.get("If-Range", "").strip()
    if not if_range:
        return True
    if if_range.startswith('"') or if_range.startswith("W/"):
        return if_range == etag  # strong comparison; a weak tag never matches
    date = parse_http_date_safe(if_range)
    return date is not None and date == mtime


@require_http_methods(["GET", "HEAD"])
def video_stream(request: HttpRequest, video_id: int) -> HttpResponse:
    refusal = _authorise(request)
    if refusal is not None:
        return refusal

    video = Video.objects.select_related("library").filter(pk=video_id).first()
    if video is None:
        return _not_found("No such video.")
    resolved = _resolve_inside_root(video.library.root, video.path)
    if resolved is None:
        return _not_found("This video's path is outside its library.")
    real_path, relative = resolved

    try:
        # O_NOFOLLOW: the path was just resolved, so a symlink here means someone
        # swapped one in since; refuse rather than follow it out of the library.
        fd = os.open(
            real_path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        )
    except OSError:
        return _not_found("The video file is not on disk.")
    handed_over = False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return _not_found("The video file is not on disk.")
        content_type = content_type_for(real_path)

        accel_prefix = getattr(settings, "VIDSORT_ACCEL_REDIRECT_PREFIX", "")
        if accel_prefix and _served_by_accel(video.library.root):
            response = HttpResponse(content_type=content_type)
            response["X-Accel-Redirect"] = (
                f"{accel_prefix}/{quote_from_bytes(os.fsencode(relative), safe='/')}"
            )
            return response

        size = st.st_size
        mtime = int(st.st_mtime)
        etag = _etag(st)
        validators = HttpResponse()
        validators["ETag"] = etag
        validators["Last-Modified"] = http_date(mtime)
        validators["Cache-Control"] = "private"
        conditional = get_conditional_response(
            request, etag=etag, last_modified=mtime, response=validators
        )
        if conditional is not validators:
            return conditional

        byte_range: ByteRange | None = None
        range_header = request.headers.get("Range", "")
        if range_header and _if_range_allows(request, etag=etag, mtime=mtime):
            try:
                byte_range = parse_range_header(range_header, size)
            except RangeNotSatisfiable:
                response = HttpResponse(status=416)
                response["Content-Range"] = f"bytes */{size}"
                response["Accept-Ranges"] = "bytes"
                return response

        start, length = (0, size) if byte_range is None else (byte_range.start, byte_range.length)
        if request.method == "HEAD":
            response = HttpResponse(content_type=content_type)
        else:
            response = StreamingHttpResponse(
                FileRangeIterator(fd, start=start, length=length), content_type=content_type
            )
            handed_over = True
        if byte_range is not None:
            response.status_code = 206
            response["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
        response["Content-Length"] = str(length)
        response["Accept-Ranges"] = "bytes"
        for header in ("ETag", "Last-Modified", "Cache-Control"):
            response[header] = validators[header]
        return response
    finally:
        if not handed_over:
            os.close(fd)


def _served_by_accel(library_root: str) -> bool:
    """nginx aliases one folder (VIDSORT_LIBRARY); other libraries stream from Django."""
    configured = settings.VIDSORT_LIBRARY
    if configured is None:
        return False
    try:
        return os.path.realpath(library_root) == os.path.realpath(configured)
    except (ValueError, OSError):
        return False
