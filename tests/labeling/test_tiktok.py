"""TikTok data export import: both export shapes, link shapes, matching by video id, the
missing-links file, the re-scan after a download, the favourited queue order, and bad input
(zip bomb, non-TikTok JSON, oversized JSON, duplicates) refused or skipped with a reason."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from labeling.models import Library, TikTokItem
from labeling.selectors.videos import queue_page
from labeling.services.scan import library_scan
from labeling.services.tiktok import tiktok_import, tiktok_import_path
from labeling.services.tiktok_export import (
    TikTokExportError,
    parse_export,
    read_export,
    video_id_from_link,
)
from tests.labeling.helpers import disk_hashes, make_library

ID_A = "7212345678901234561"
ID_B = "7212345678901234562"
ID_C = "7212345678901234563"
ID_D = "7212345678901234564"


def older_export() -> dict:
    """The older shape: Activity -> Favorite Videos / Like List, capitalised keys."""
    return {
        "Profile": {"Profile Information": {"ProfileMap": {"userName": "someone"}}},
        "Activity": {
            "Favorite Videos": {
                "FavoriteVideoList": [
                    {
                        "Date": "2023-05-01 10:00:00",
                        "Link": f"https://www.tiktokv.com/share/video/{ID_A}/",
                    },
                    {
                        "Date": "2023-06-01 10:00:00",
                        "Link": f"https://www.tiktok.com/@cat.lady/video/{ID_B}?lang=en",
                    },
                    {"Date": "2023-04-01 10:00:00", "Link": "https://vm.tiktok.com/ZMabcdef/"},
                ]
            },
            "Like List": {
                "ItemFavoriteList": [
                    {
                        "Date": "2022-01-02 03:04:05",
                        "Link": f"https://www.tiktokv.com/share/video/{ID_C}/",
                    },
                    {
                        "Date": "2022-01-01 03:04:05",
                        "Link": f"https://www.tiktokv.com/share/video/{ID_A}/",
                    },
                ]
            },
        },
    }


def newer_export() -> dict:
    """The newer shape: Your Activity, lower-case date/link."""
    return {
        "Your Activity": {
            "Favorite Videos": {
                "FavoriteVideoList": [
                    {
                        "date": "2024-02-03 04:05:06",
                        "link": f"https://www.tiktok.com/@x/video/{ID_D}",
                    },
                    {"date": "2024-02-02 04:05:06", "link": "https://www.youtube.com/watch?v=abc"},
                ]
            },
            "Like List": {
                "ItemFavoriteList": [
                    {"date": "2024-01-01 00:00:00", "link": f"https://m.tiktok.com/v/{ID_C}.html"},
                ]
            },
        }
    }


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def data_dir(db: None, settings: Settings, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    target.mkdir()
    settings.DATA_DIR = target
    return target


@pytest.fixture
def tlib(settings: Settings, library_dir: Path, data_dir: Path) -> Library:
    settings.VIDSORT_LIBRARY = library_dir
    return make_library(
        library_dir,
        {
            f"{ID_A}.mp4": b"a",
            f"cats/funny cat [{ID_C}].mp4": b"c",
            "other 12345.mp4": b"o",
            f"x{ID_B}9.mp4": b"not b: the id is inside a longer number",
        },
    )


# --- links and shapes (no database) -------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        (f"https://www.tiktokv.com/share/video/{ID_A}/", ID_A),
        (f"https://www.tiktok.com/@some.user/video/{ID_A}", ID_A),
        (f"https://www.tiktok.com/@some.user/video/{ID_A}?is_from_webapp=1", ID_A),
        (f"http://m.tiktok.com/v/{ID_A}.html", ID_A),
        (f"https://www.tiktok.com/embed/v2/{ID_A}", ID_A),
    ],
)
def test_video_id_from_each_link_shape(link: str, expected: str) -> None:
    assert video_id_from_link(link) == (expected, None)


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("https://vm.tiktok.com/ZMabcdef/", "short link"),
        ("https://www.youtube.com/watch?v=abc", "not a TikTok link"),
        (f"https://evil.example/tiktok.com/video/{ID_A}", "not a TikTok link"),
        (f"https://tiktok.com.evil.example/@u/video/{ID_A}", "not a TikTok link"),
        ("https://www.tiktok.com/@someone", "another shape"),
        ("https://www.tiktok.com/@u/video/123", "15-21 digits"),
        (f"https://www.tiktok.com/@u/video/{ID_A}\nhttps://x", "control characters"),
        ("javascript:alert(1)", "not a web link"),
        (None, "no link"),
        (42, "no link"),
    ],
)
def test_links_without_an_id_say_why(link: object, reason: str) -> None:
    video_id, why = video_id_from_link(link)
    assert video_id is None and why is not None and reason in why


def test_older_shape_reads_favourites_likes_and_skips_short_links() -> None:
    parsed = parse_export(older_export())
    assert parsed.shape == "older"
    assert set(parsed.items) == {ID_A, ID_B, ID_C}
    assert (parsed.favorites, parsed.likes) == (2, 2)
    a = parsed.items[ID_A]
    assert a.favorited_at is not None and a.favorited_at.isoformat() == "2023-05-01T10:00:00+00:00"
    assert a.liked_at is not None and a.liked_at.year == 2022
    assert [(s.kind, s.index) for s in parsed.skipped] == [("favorite", 2)]
    assert "short link" in parsed.skipped[0].reason


def test_newer_shape_lower_case_keys() -> None:
    parsed = parse_export(newer_export())
    assert parsed.shape == "newer"
    assert set(parsed.items) == {ID_D, ID_C}
    assert parsed.items[ID_C].liked_at is not None and parsed.items[ID_C].favorited_at is None
    assert [s.reason for s in parsed.skipped] == ["not a TikTok link (www.youtube.com)"]


def test_duplicated_ids_are_skipped_with_a_reason_and_keep_the_newest_date() -> None:
    data = older_export()
    favourites = data["Activity"]["Favorite Videos"]["FavoriteVideoList"]
    favourites.append(
        {"Date": "2023-09-09 09:09:09", "Link": f"https://www.tiktok.com/@u/video/{ID_A}"}
    )
    parsed = parse_export(data)
    duplicates = [s for s in parsed.skipped if s.reason.startswith("duplicate")]
    assert len(duplicates) == 1 and duplicates[0].index == 3
    assert parsed.favorites == 2
    assert parsed.items[ID_A].favorited_at is not None
    assert parsed.items[ID_A].favorited_at.month == 9


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2, 3], "not an object"),
        ({"name": "a package.json", "version": "1.0"}, "no 'Activity'"),
        ({"Activity": {"Login History": {}}}, "no 'Favorite Videos'"),
        ({"Activity": "text"}, "no 'Activity'"),
    ],
)
def test_json_that_is_no_tiktok_export_is_refused(data: object, message: str) -> None:
    with pytest.raises(TikTokExportError, match=message):
        parse_export(data)


def test_entries_of_the_wrong_type_are_skipped_not_crashed() -> None:
    data = {
        "Activity": {
            "Favorite Videos": {"FavoriteVideoList": ["text", None, {"Date": 5, "Link": 7}]},
            "Like List": {"ItemFavoriteList": {"not": "a list"}},
        }
    }
    parsed = parse_export(data)
    assert not parsed.items
    assert len(parsed.skipped) == 4


def test_invalid_json_deep_nesting_and_binary_are_refused() -> None:
    for raw, message in [
        (b"{not json", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
    ]:
        with pytest.raises(TikTokExportError, match=message):
            read_export(io.BytesIO(raw), name="user_data.json")


def test_oversized_json_is_refused_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "user_data.json"
    with big.open("wb") as out:  # 200 MB, sparse: costs no disk
        out.truncate(200 * 1024 * 1024)
    with pytest.raises(TikTokExportError, match="larger than 64 MB: refused before parsing"):
        tiktok_import_path(library=Library(pk=1, root=str(tmp_path)), path=big)
    with big.open("wb") as out:  # over the upload limit even for a zip
        out.write(b"PK")
        out.truncate(300 * 1024 * 1024)
    with pytest.raises(TikTokExportError, match="over the upload limit"):
        tiktok_import_path(library=Library(pk=1, root=str(tmp_path)), path=big)
    small_limit = tmp_path / "user_data_tiktok.json"
    small_limit.write_bytes(b" " * (2 * 1024 * 1024) + json.dumps(older_export()).encode())
    with pytest.raises(TikTokExportError, match="larger than 1 MB"):
        read_export(small_limit.open("rb"), name=small_limit.name, max_bytes=1024 * 1024)


def zip_with(members: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def test_zip_archive_is_read_in_memory_from_any_folder() -> None:
    raw = json.dumps(newer_export()).encode()
    archive = zip_with({"TikTok_Data_1/user_data_tiktok.json": raw, "../../evil.txt": b"x"})
    parsed = read_export(archive, name="TikTok_Data.zip")
    assert set(parsed.items) == {ID_D, ID_C}


def test_zip_bomb_is_refused_by_ratio_and_by_size() -> None:
    # 50 MB of one byte deflates about 1000x: refused once it inflates past 100x.
    padding = b" " * (50 * 1024 * 1024)
    bomb = zip_with({"user_data.json": b'{"Activity": {"x": "' + padding + b'"}}'})
    with pytest.raises(TikTokExportError, match="zip bomb"):
        read_export(bomb, name="bomb.zip")
    bomb.seek(0)
    with pytest.raises(TikTokExportError, match="over the 1 MB limit"):
        read_export(bomb, name="bomb.zip", max_bytes=1024 * 1024)


def test_zip_of_very_many_entries_is_refused_before_it_is_listed() -> None:
    many = zip_with({f"f{i}.txt": b"" for i in range(1200)} | {"user_data.json": b"{}"})
    with pytest.raises(TikTokExportError, match="declares 1201 files"):
        read_export(many, name="many.zip")


def test_zip_without_an_export_or_broken_is_refused() -> None:
    with pytest.raises(TikTokExportError, match="no user_data.json"):
        read_export(zip_with({"readme.txt": b"hello"}), name="a.zip")
    with pytest.raises(TikTokExportError, match="not a readable zip"):
        read_export(io.BytesIO(b"PK\x03\x04 truncated"), name="a.zip")


# --- import into a library -----------------------------------------------------------------


def test_import_matches_files_by_id_and_lists_the_missing(
    tlib: Library, library_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    before = disk_hashes(library_dir)
    report = tiktok_import_path(
        library=tlib, path=write_json(tmp_path / "user_data.json", older_export())
    )
    assert (report.items, report.matched, report.missing, report.created) == (3, 2, 1, 3)
    rows = {row.tiktok_id: row for row in TikTokItem.objects.filter(library=tlib)}
    assert rows[ID_A].video is not None and rows[ID_A].video.path == f"{ID_A}.mp4"
    assert rows[ID_C].video is not None and rows[ID_C].video.path.startswith("cats/")
    # ID_B only appears inside a longer number: not a match.
    assert rows[ID_B].video is None
    missing = Path(report.missing_links_file)
    assert missing.is_relative_to(data_dir)
    assert missing.read_text() == f"https://www.tiktok.com/@cat.lady/video/{ID_B}?lang=en\n"
    # Nothing written into the library.
    assert disk_hashes(library_dir) == before


def test_rescan_after_download_matches_the_missing_link(
    tlib: Library, library_dir: Path, tmp_path: Path
) -> None:
    report = tiktok_import_path(
        library=tlib, path=write_json(tmp_path / "user_data.json", older_export())
    )
    missing = Path(report.missing_links_file)
    assert missing.exists()
    # What `yt-dlp -a` would save with its default name (title [id].ext).
    (library_dir / f"Cat video [{ID_B}].mp4").write_bytes(b"downloaded")
    library_scan(library=tlib)
    row = TikTokItem.objects.get(library=tlib, tiktok_id=ID_B)
    assert row.video is not None and row.video.filename == f"Cat video [{ID_B}].mp4"
    assert not missing.exists()  # nothing left to download


def test_reimport_merges_dates_and_a_newer_shape_adds_items(tlib: Library, tmp_path: Path) -> None:
    tiktok_import_path(library=tlib, path=write_json(tmp_path / "a.json", older_export()))
    report = tiktok_import_path(library=tlib, path=write_json(tmp_path / "b.json", newer_export()))
    assert report.shape == "newer" and report.created == 1
    c = TikTokItem.objects.get(library=tlib, tiktok_id=ID_C)
    assert c.liked_at is not None and c.liked_at.year == 2024  # the newer like date
    assert TikTokItem.objects.filter(library=tlib).count() == 4


def test_favourited_queue_order_newest_favourite_first(
    settings: Settings, library_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    library = make_library(
        library_dir,
        {
            "plain.mp4": b"p",
            f"{ID_A}.mp4": b"a",  # favourite 2023-05
            f"{ID_B}.mp4": b"b",  # favourite 2023-06
            f"{ID_C}.mp4": b"c",  # like only
        },
    )
    tiktok_import_path(library=library, path=write_json(tmp_path / "u.json", older_export()))
    videos, total = queue_page(library=library, order="favourited", limit=10)
    assert total == 4
    assert [v.filename for v in videos] == [
        f"{ID_B}.mp4",
        f"{ID_A}.mp4",
        f"{ID_C}.mp4",
        "plain.mp4",
    ]
    second, _ = queue_page(library=library, order="favourited", limit=2, offset=2)
    assert [v.filename for v in second] == [f"{ID_C}.mp4", "plain.mp4"]


def test_bad_input_leaves_nothing_behind(tlib: Library, data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(TikTokExportError):
        tiktok_import(library=tlib, stream=io.BytesIO(b'{"a": 1}'), name="user_data.json")
    with pytest.raises(TikTokExportError, match="empty"):
        tiktok_import(library=tlib, stream=io.BytesIO(b""), name="user_data.json")
    assert not TikTokItem.objects.filter(library=tlib).exists()
    assert os.listdir(data_dir) == []


def test_command_imports_a_zip_and_reports_skipped_lines(
    tlib: Library, library_dir: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "TikTok_Data.zip"
    archive.write_bytes(
        zip_with({"user_data.json": json.dumps(older_export()).encode()}).getvalue()
    )
    out, err = io.StringIO(), io.StringIO()
    call_command("vidsort_import_tiktok", str(archive), stdout=out, stderr=err)
    assert "2 favourites and 2 likes" in out.getvalue()
    assert "2 matched" in out.getvalue() and "yt-dlp -a" in out.getvalue()
    assert "skipped favorite #3: a short link" in err.getvalue()
    with pytest.raises(CommandError, match="no 'Activity'"):
        call_command(
            "vidsort_import_tiktok", str(write_json(tmp_path / "package.json", {"name": "x"}))
        )
    with pytest.raises(CommandError, match="cannot open"):
        call_command("vidsort_import_tiktok", str(tmp_path / "nope.json"))


# --- the upload page ------------------------------------------------------------------------


def test_upload_page_imports_and_lists_the_missing(
    tlib: Library, user_client: Client, data_dir: Path
) -> None:
    page = user_client.get("/tiktok")
    assert page.status_code == 200 and b'href="/tiktok"' in page.content
    upload = SimpleUploadedFile(
        "TikTok_Data.zip", zip_with({"user_data.json": json.dumps(older_export()).encode()}).read()
    )
    response = user_client.post("/tiktok", {"export": upload})
    assert response.status_code == 200
    text = response.content.decode()
    assert "2 favourites and 2 likes" in text and "2 have a file in the library" in text
    assert "a short link holds no video id" in text
    assert f"https://www.tiktok.com/@cat.lady/video/{ID_B}?lang=en" in text
    links = user_client.get("/tiktok/missing.txt")
    assert links.status_code == 200 and links["Content-Type"].startswith("text/plain")
    assert links.content.decode() == f"https://www.tiktok.com/@cat.lady/video/{ID_B}?lang=en\n"


def test_upload_page_refuses_a_non_tiktok_file_with_a_message(
    tlib: Library, user_client: Client
) -> None:
    upload = SimpleUploadedFile("package.json", b'{"name": "not tiktok"}')
    response = user_client.post("/tiktok", {"export": upload})
    assert response.status_code == 400
    assert "Not imported: not a TikTok data export" in response.content.decode()
    assert user_client.post("/tiktok", {}).status_code == 400
    assert not TikTokItem.objects.exists()


def test_upload_page_needs_a_login(tlib: Library, client: Client) -> None:
    response = client.get("/tiktok")
    assert response.status_code == 302 and "/login" in response["Location"]
    assert client.get("/tiktok/missing.txt").status_code == 302


# --- the API --------------------------------------------------------------------------------


def test_api_import_then_state(tlib: Library, api: APIClient) -> None:
    upload = SimpleUploadedFile("user_data_tiktok.json", json.dumps(newer_export()).encode())
    response = api.post("/api/tiktok/import", {"export": upload}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["shape"], body["favorites"], body["likes"], body["matched"]) == ("newer", 1, 1, 1)
    assert body["skipped"] == [
        {
            "kind": "favorite",
            "index": 1,
            "link": "https://www.youtube.com/watch?v=abc",
            "reason": "not a TikTok link (www.youtube.com)",
        }
    ]
    state = api.get("/api/tiktok").json()
    assert (state["items"], state["matched"], state["missing"]) == (2, 1, 1)
    assert state["missing_links"] == [
        {"tiktok_id": ID_D, "link": f"https://www.tiktok.com/@x/video/{ID_D}"}
    ]


def test_api_refuses_bad_exports_with_the_reason(tlib: Library, api: APIClient) -> None:
    upload = SimpleUploadedFile("package.json", b'{"name": "x"}')
    response = api.post("/api/tiktok/import", {"export": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"] == "tiktok_export"
    assert "not a TikTok data export" in response.json()["detail"]
    missing = api.post("/api/tiktok/import", {}, format="multipart")
    assert missing.status_code == 400 and missing.json()["error"] == "tiktok_export"
    assert not TikTokItem.objects.exists()
