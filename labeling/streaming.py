"""Video bytes for the player, with HTTP Range so seeking works in every browser.

Django's FileResponse has no Range support and whitenoise only serves files it saw at
start-up, so this view does the ranged response itself (RFC 9110 section 14). It works on
its own for the embedded default. In production behind nginx, set
VIDSORT_ACCEL_REDIRECT_PREFIX: the view still authorises the request and resolves the
path, then hands the bytes (and the Range handling) to nginx with X-Accel-Redirect.

Who may watch: logged-in users (session) or API clients with a token
(``Authorization: Token …``) who hold a role (viewer or more) in the video's library
(docs/team.md). An anonymous request without credentials is redirected to the login page
(302, like every page); a wrong token gets 401, no role 403. No file byte is ever sent
before those checks.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from collections.abc import Iterator
from urllib.parse import quote_from_bytes

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.http import require_http_methods
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from labeling.middleware import url_without_credentials
from labeling.models import Library
from labeling.ranges import ByteRange, RangeNotSatisfiable, parse_range_header
from labeling.selectors.proxies import proxy_file
from labeling.selectors.roles import role_check
from labeling.selectors.videos import video_with_library
from labeling.services.paths import UnsafePath, path_resolve_real

CHUNK_SIZE = 256 * 1024

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


def _authorise(request: HttpRequest) -> HttpResponse | None:
    """None when the request may see videos, else the refusal to send."""
    if request.user.is_authenticated:
        return None
    if request.META.get("HTTP_AUTHORIZATION"):
        try:
            # It reads only the Authorization header, which a plain request has too.
            result = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]
        except AuthenticationFailed as exc:
            return JsonResponse({"detail": str(exc.detail)}, status=401)
        if result is not None:
            request.user = result[0]
            return None
    # A key in the stream URL (?token=…) must not travel on into the Location header
    # and the browser history.
    return redirect_to_login(url_without_credentials(request.get_full_path()))


def _role_refusal(request: HttpRequest, library: Library) -> JsonResponse | None:
    """None when the user may watch the library's videos (viewer or more), else a 403."""
    check = role_check(request.user, library, "viewer")
    if check.allowed:
        return None
    # The API's error shape for a role too low (labeling/api/access.py).
    body: dict[str, object] = {"error": "role_required", "detail": check.message}
    body |= {"required_role": check.required, "role": check.role, "library": check.library_id}
    return JsonResponse(body, status=403)


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


def _open_regular(path: str) -> tuple[int, os.stat_result] | None:
    """An open descriptor and its stat for a regular file, or None."""
    try:
        # O_NOFOLLOW: the path was just resolved, so a symlink here means someone
        # swapped one in since; refuse rather than follow it out of the library.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return None
    return fd, st


@require_http_methods(["GET", "HEAD"])
def video_stream(request: HttpRequest, video_id: int) -> HttpResponseBase:
    refusal = _authorise(request)
    if refusal is not None:
        return refusal
    video = video_with_library(video_id=video_id)
    if video is None:
        return _not_found("No such video.")
    refusal = _role_refusal(request, video.library)
    if refusal is not None:
        return refusal
    try:
        real_path, relative = path_resolve_real(root=video.library.root, rel=video.path)
    except UnsafePath:
        return _not_found("This video's path is outside its library.")
    opened = _open_regular(real_path)
    if opened is None:
        return _not_found("The video file is not on disk.")
    fd, st = opened
    response: HttpResponseBase | None = None
    try:
        content_type = content_type_for(real_path)
        accel_prefix = getattr(settings, "VIDSORT_ACCEL_REDIRECT_PREFIX", "")
        if accel_prefix and _served_by_accel(video.library.root):
            response = _accel_response(accel_prefix, relative, content_type)
        else:
            response = _file_response(request, fd=fd, st=st, content_type=content_type)
        return response
    finally:
        # A streamed body owns the descriptor (FileRangeIterator closes it); any other
        # answer sends no bytes from it.
        if response is None or not response.streaming:
            os.close(fd)


@require_http_methods(["GET", "HEAD"])
def video_proxy_stream(request: HttpRequest, video_id: int) -> HttpResponseBase:
    """The playable H.264 copy of a video (docs/player.md), from the data folder."""
    refusal = _authorise(request)
    if refusal is not None:
        return refusal
    video = video_with_library(video_id=video_id)
    if video is None:
        return _not_found("No such video.")
    refusal = _role_refusal(request, video.library)
    if refusal is not None:
        return refusal
    target = proxy_file(content_hash=video.content_hash)
    opened = _open_regular(str(target)) if target is not None else None
    if opened is None:
        return _not_found("This video has no playable copy yet.")
    fd, st = opened
    response: HttpResponseBase | None = None
    try:
        response = _file_response(request, fd=fd, st=st, content_type="video/mp4")
        return response
    finally:
        if response is None or not response.streaming:
            os.close(fd)


def _accel_response(prefix: str, relative: str, content_type: str) -> HttpResponse:
    """Hand the bytes (and the Range handling) to nginx's internal location."""
    response = HttpResponse(content_type=content_type)
    response["X-Accel-Redirect"] = f"{prefix}/{quote_from_bytes(os.fsencode(relative), safe='/')}"
    return response


def _file_response(
    request: HttpRequest, *, fd: int, st: os.stat_result, content_type: str
) -> HttpResponseBase:
    """304, 416, or the file (whole: 200, one range: 206) with its validators."""
    etag, mtime = _etag(st), int(st.st_mtime)
    validators = HttpResponse()
    validators["ETag"] = etag
    validators["Last-Modified"] = http_date(mtime)
    validators["Cache-Control"] = "private"
    conditional = get_conditional_response(
        request, etag=etag, last_modified=mtime, response=validators
    )
    if conditional is not None and conditional is not validators:
        return conditional  # 304 or 412
    try:
        byte_range = _requested_range(request, etag=etag, mtime=mtime, size=st.st_size)
    except RangeNotSatisfiable:
        return _not_satisfiable(st.st_size)
    response = _body_response(
        request, fd=fd, size=st.st_size, byte_range=byte_range, content_type=content_type
    )
    for header in ("ETag", "Last-Modified", "Cache-Control"):
        response[header] = validators[header]
    return response


def _requested_range(request: HttpRequest, *, etag: str, mtime: int, size: int) -> ByteRange | None:
    header = request.headers.get("Range", "")
    if not header or not _if_range_allows(request, etag=etag, mtime=mtime):
        return None
    return parse_range_header(header, size)


def _not_satisfiable(size: int) -> HttpResponse:
    response = HttpResponse(status=416)
    response["Content-Range"] = f"bytes */{size}"
    response["Accept-Ranges"] = "bytes"
    return response


def _body_response(
    request: HttpRequest, *, fd: int, size: int, byte_range: ByteRange | None, content_type: str
) -> HttpResponseBase:
    """The bytes (none for HEAD) with their length, and the range when there is one."""
    start, length = (0, size) if byte_range is None else (byte_range.start, byte_range.length)
    if request.method == "HEAD":
        response: HttpResponseBase = HttpResponse(content_type=content_type)
    else:
        response = StreamingHttpResponse(
            FileRangeIterator(fd, start=start, length=length), content_type=content_type
        )
    if byte_range is not None:
        response.status_code = 206
        response["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    return response


def _served_by_accel(library_root: str) -> bool:
    """nginx aliases one folder (VIDSORT_LIBRARY); other libraries stream from Django."""
    configured = settings.VIDSORT_LIBRARY
    if configured is None:
        return False
    try:
        return os.path.realpath(library_root) == os.path.realpath(configured)
    except (ValueError, OSError):
        return False
