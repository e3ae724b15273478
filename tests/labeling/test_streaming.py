"""The ranged video view: GET/HEAD /media/videos/<id> (labeling/streaming.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from labeling.models import Library, Video
from labeling.ranges import ByteRange, RangeNotSatisfiable, parse_range_header
from labeling.services.paths import UnsafePath, path_resolve_real
from labeling.streaming import FileRangeIterator

pytestmark = pytest.mark.django_db

SIZE = 10_000
DATA = os.urandom(SIZE)


def make_video(library: Library, rel: str, data: bytes | None = DATA) -> Video:
    path = Path(library.root) / rel
    if data is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return Video.objects.create(
        library=library, path=rel, filename=Path(rel).name, size=len(data or b"")
    )


@pytest.fixture
def video(library: Library) -> Video:
    return make_video(library, "clip.mp4")


def url(video: Video | int) -> str:
    return f"/media/videos/{video if isinstance(video, int) else video.pk}"


def body(response) -> bytes:
    # The test client closes a streamed response once it is read to the end (as a WSGI
    # server would); closing it here instead would fire request_finished and drop the
    # test's database connection.
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def get(client, video, range_header: str | None = None, **headers):
    if range_header is not None:
        headers["Range"] = range_header
    return client.get(url(video), headers=headers)


# --- Ranges -----------------------------------------------------------------------------


def test_a_full_get_sends_the_exact_file(user_client, video):
    response = get(user_client, video)
    assert response.status_code == 200
    assert body(response) == DATA
    assert response["Content-Length"] == str(SIZE)
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "video/mp4"
    assert response["ETag"] and response["Last-Modified"]


def test_first_hundred_bytes_are_a_206(user_client, video):
    response = get(user_client, video, "bytes=0-99")
    assert response.status_code == 206
    assert body(response) == DATA[:100]
    assert response["Content-Range"] == f"bytes 0-99/{SIZE}"
    assert response["Content-Length"] == "100"


def test_a_suffix_range_sends_the_last_bytes(user_client, video):
    response = get(user_client, video, "bytes=-500")
    assert response.status_code == 206
    assert body(response) == DATA[-500:]
    assert response["Content-Range"] == f"bytes {SIZE - 500}-{SIZE - 1}/{SIZE}"


def test_an_open_range_sends_the_rest(user_client, video):
    response = get(user_client, video, "bytes=9000-")
    assert response.status_code == 206
    assert body(response) == DATA[9000:]


def test_a_range_past_the_end_is_clamped(user_client, video):
    response = get(user_client, video, f"bytes={SIZE - 10}-{SIZE * 5}")
    assert response.status_code == 206
    assert body(response) == DATA[-10:]
    assert response["Content-Range"] == f"bytes {SIZE - 10}-{SIZE - 1}/{SIZE}"


def test_a_suffix_longer_than_the_file_sends_all_of_it(user_client, video):
    response = get(user_client, video, f"bytes=-{SIZE * 3}")
    assert response.status_code == 206
    assert body(response) == DATA


@pytest.mark.parametrize("header", ["bytes=9999999999-", f"bytes={SIZE}-", "bytes=-0"])
def test_an_unsatisfiable_range_is_a_416(user_client, video, header):
    response = get(user_client, video, header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{SIZE}"
    assert DATA[:16] not in body(response)


def test_last_before_first_is_ignored(user_client, video):
    response = get(user_client, video, "bytes=5-1")
    assert response.status_code == 200
    assert body(response) == DATA


def test_another_unit_is_ignored(user_client, video):
    response = get(user_client, video, "items=0-1")
    assert response.status_code == 200
    assert body(response) == DATA


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", ",".join(f"{i}-{i}" for i in range(1000))])
def test_several_ranges_get_the_whole_file(user_client, video, header):
    header = header if header.startswith("bytes=") else "bytes=" + header
    body(get(user_client, video))  # the first request imports the URLconf: not timed
    started = time.perf_counter()
    response = get(user_client, video, header)
    content = body(response)
    assert time.perf_counter() - started < 1.0
    assert response.status_code == 200
    assert content == DATA


@pytest.mark.parametrize(
    "header",
    [
        "",
        "bytes",
        "bytes=",
        "bytes=-",
        "bytes=--1",
        "bytes=0-1-2",
        "bytes=a-b",
        "=0-1",
        "bytes=0x10-",
        "bytes=1e3-",
        "bytes=\u0663-\u0664",
        "bytes=0-1;q=1",
        "bytes=+1-2",
        "bytes=" + "9" * 5000 + "-",
        "bytes=-" + "9" * 25,
        "bytes=1" + "0" * 18 + "-",
        "bytes=0-" + "9" * 19,
        "\x00\x01\x02",
        "bytes=\x00-1",
        "é" * 300,
        "bytes=0-1," * 3000,
        " BYTES = 0 - 9 ",
    ],
)
def test_garbage_never_makes_a_500(user_client, video, header):
    body(get(user_client, video))  # the first request imports the URLconf: not timed
    started = time.perf_counter()
    response = get(user_client, video, header)
    content = body(response)
    assert time.perf_counter() - started < 1.0
    assert response.status_code in (200, 206, 416)
    if response.status_code == 200:
        assert content == DATA
    if response.status_code == 206:
        start, end = response["Content-Range"].split()[1].split("/")[0].split("-")
        assert content == DATA[int(start) : int(end) + 1]


def test_case_and_spaces_in_the_unit_are_accepted(user_client, video):
    response = get(user_client, video, " BYTES = 0 - 9 ")
    assert response.status_code == 206
    assert body(response) == DATA[:10]


@given(first=st.integers(0, 2 * SIZE), last=st.integers(0, 2 * SIZE) | st.none())
def test_parsed_ranges_match_python_slicing(first, last):
    header = f"bytes={first}-{'' if last is None else last}"
    if last is not None and last < first:
        assert parse_range_header(header, SIZE) is None
    elif first >= SIZE:
        with pytest.raises(RangeNotSatisfiable):
            parse_range_header(header, SIZE)
    else:
        byte_range = parse_range_header(header, SIZE)
        assert isinstance(byte_range, ByteRange)
        stop = SIZE if last is None else last + 1
        assert DATA[byte_range.start : byte_range.end + 1] == DATA[first:stop]


def test_an_empty_file_has_no_satisfiable_range(user_client, library):
    empty = make_video(library, "empty.mp4", b"")
    assert get(user_client, empty, "bytes=0-").status_code == 416
    response = get(user_client, empty)
    assert response.status_code == 200 and body(response) == b""


# --- Conditional requests ---------------------------------------------------------------


def test_if_none_match_gives_304(user_client, video):
    etag = get(user_client, video)["ETag"]
    response = get(user_client, video, If_None_Match=etag)
    assert response.status_code == 304
    assert response["ETag"] == etag


def test_a_stale_if_range_gets_the_whole_file(user_client, video):
    etag = get(user_client, video)["ETag"]
    assert get(user_client, video, "bytes=0-9", If_Range=etag).status_code == 206
    stale = get(user_client, video, "bytes=0-9", If_Range='"0-0"')
    assert stale.status_code == 200 and body(stale) == DATA


# --- HEAD, types ------------------------------------------------------------------------


def test_head_has_the_headers_and_no_body(user_client, video):
    response = user_client.head(url(video))
    assert response.status_code == 200
    assert response["Content-Length"] == str(SIZE)
    assert response["Accept-Ranges"] == "bytes"
    assert response.content == b""
    ranged = user_client.head(url(video), headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged["Content-Length"] == "100"
    assert ranged.content == b""


def test_other_methods_are_refused(user_client, video):
    assert user_client.post(url(video)).status_code == 405


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("a.mp4", "video/mp4"),
        ("b.MP4", "video/mp4"),
        ("c.webm", "video/webm"),
        ("d.mov", "video/quicktime"),
        ("e.mkv", "video/x-matroska"),
        ("f.m4v", "video/x-m4v"),
        ("g.avi", "video/x-msvideo"),
    ],
)
def test_content_type_follows_the_extension(user_client, library, name, content_type):
    response = get(user_client, make_video(library, name), "bytes=0-0")
    assert response["Content-Type"] == content_type
    assert body(response) == DATA[:1]


# --- Who may watch, and which files -----------------------------------------------------


def test_anonymous_is_sent_to_login_without_bytes(client, video):
    response = get(client, video, "bytes=0-99")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/media/videos/")
    assert DATA[:100] not in body(response)


def test_a_token_works_and_a_bad_one_is_401(client, video, django_user_model, owner_everywhere):
    user = owner_everywhere(django_user_model.objects.create_user(username="script"))
    token = Token.objects.create(user=user)
    response = get(client, video, "bytes=0-9", Authorization=f"Token {token.key}")
    assert response.status_code == 206 and body(response) == DATA[:10]
    refused = get(client, video, Authorization="Token not-a-token")
    assert refused.status_code == 401
    assert DATA[:16] not in body(refused)


def test_an_unknown_video_is_404(user_client):
    assert get(user_client, 987654).status_code == 404


def test_a_missing_file_is_404(user_client, library):
    gone = make_video(library, "gone.mp4", data=None)
    response = get(user_client, gone)
    assert response.status_code == 404
    assert response.json()["detail"]


def test_a_directory_is_404(user_client, library):
    (Path(library.root) / "folder.mp4").mkdir()
    row = Video.objects.create(library=library, path="folder.mp4", filename="folder.mp4")
    assert get(user_client, row).status_code == 404


@pytest.mark.parametrize("rel", ["../outside.mp4", "sub/../../outside.mp4", "ABSOLUTE", "."])
def test_a_path_escaping_the_root_is_404(user_client, library, rel):
    outside = Path(library.root).parent / "outside.mp4"
    outside.write_bytes(b"SECRET" * 100)
    if rel == "ABSOLUTE":
        rel = str(outside)
    row = Video.objects.create(library=library, path=rel, filename="outside.mp4")
    response = get(user_client, row)
    assert response.status_code == 404
    assert b"SECRET" not in body(response)


def test_a_symlink_out_of_the_root_is_404(user_client, library):
    outside = Path(library.root).parent / "secret.mp4"
    outside.write_bytes(b"SECRET" * 100)
    (Path(library.root) / "link.mp4").symlink_to(outside)
    row = Video.objects.create(library=library, path="link.mp4", filename="link.mp4")
    response = get(user_client, row)
    assert response.status_code == 404
    assert b"SECRET" not in body(response)


def test_a_symlink_inside_the_root_is_served(user_client, library, video):
    (Path(library.root) / "alias.mp4").symlink_to(Path(library.root) / "clip.mp4")
    row = Video.objects.create(library=library, path="alias.mp4", filename="alias.mp4")
    assert body(get(user_client, row)) == DATA


def test_a_nul_byte_in_the_path_is_refused(library):
    # PostgreSQL cannot store NUL in text, so exercise the resolver directly.
    with pytest.raises(UnsafePath):
        path_resolve_real(root=library.root, rel="a\x00.mp4")


def test_the_iterator_closes_its_file_even_unread(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(DATA)
    fd = os.open(path, os.O_RDONLY)
    iterator = FileRangeIterator(fd, start=0, length=10)
    iterator.close()
    with pytest.raises(OSError):
        os.fstat(fd)


def test_large_ranges_are_read_in_bounded_chunks(user_client, library):
    big = os.urandom(3 * 1024 * 1024 + 7)
    row = make_video(library, "big.mp4", big)
    response = get(user_client, row, "bytes=1-")
    chunks = list(response.streaming_content)
    assert b"".join(chunks) == big[1:]
    assert len(chunks) > 1 and max(len(c) for c in chunks) <= 256 * 1024


# --- Behind nginx -----------------------------------------------------------------------


def test_accel_redirect_hands_the_path_to_nginx(user_client, library, settings):
    settings.VIDSORT_ACCEL_REDIRECT_PREFIX = "/_protected/library"
    settings.VIDSORT_LIBRARY = Path(library.root)
    row = make_video(library, "soccer/goal ?#%é.webm")
    response = get(user_client, row, "bytes=0-99")
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == (
        "/_protected/library/soccer/goal%20%3F%23%25%C3%A9.webm"
    )
    assert response["Content-Type"] == "video/webm"
    assert body(response) == b""


def test_accel_redirect_still_refuses_anonymous_and_escapes(user_client, library, settings):
    settings.VIDSORT_ACCEL_REDIRECT_PREFIX = "/_protected/library"
    settings.VIDSORT_LIBRARY = Path(library.root)
    row = make_video(library, "clip.mp4")
    anonymous = get(Client(), row)
    assert anonymous.status_code == 302 and "X-Accel-Redirect" not in anonymous
    (Path(library.root).parent / "outside.mp4").write_bytes(b"x")
    escaping = Video.objects.create(library=library, path="../outside.mp4", filename="o.mp4")
    response = get(user_client, escaping)
    assert response.status_code == 404 and "X-Accel-Redirect" not in response


def test_another_library_streams_from_django_even_with_accel(
    user_client, library, settings, tmp_path
):
    settings.VIDSORT_ACCEL_REDIRECT_PREFIX = "/_protected/library"
    settings.VIDSORT_LIBRARY = tmp_path / "configured-elsewhere"
    row = make_video(library, "clip.mp4")
    response = get(user_client, row, "bytes=0-9")
    assert response.status_code == 206 and "X-Accel-Redirect" not in response
    assert body(response) == DATA[:10]
