"""Management commands: demo library, scan, admin user, train."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from labeling.models import Folder, Video
from mlpipeline.probe import probe_video

pytestmark = pytest.mark.django_db


def test_demo_library_is_browser_playable_and_partly_sorted(tmp_path):
    root = tmp_path / "demo"
    call_command("vidsort_demo", str(root), "--videos", "18", stdout=StringIO())
    files = sorted(root.rglob("*.mp4"))
    assert len(files) == 18
    loose = [f for f in files if f.parent == root]
    assert 0 < len(loose) < len(files)
    infos = [probe_video(f) for f in files]
    assert {i.codec for i in infos} == {"h264"}  # never mp4v: browsers cannot play it
    assert any(i.height > i.width for i in infos) and any(i.width > i.height for i in infos)
    assert len({round(i.duration, 1) for i in infos}) > 5
    # The moov atom comes first so the browser can start playing before the end arrives.
    assert b"moov" in files[0].read_bytes()[:4096]


def test_demo_never_overwrites_existing_files(tmp_path):
    root = tmp_path / "demo"
    call_command("vidsort_demo", str(root), "--videos", "3", stdout=StringIO())
    target = sorted(root.rglob("*.mp4"))[0]
    target.write_bytes(b"mine")
    call_command("vidsort_demo", str(root), "--videos", "3", stdout=StringIO())
    assert target.read_bytes() == b"mine"


def test_scan_command_reports_counts(tmp_path):
    root = tmp_path / "demo"
    call_command("vidsort_demo", str(root), "--videos", "6", stdout=StringIO())
    out = StringIO()
    call_command("vidsort_scan", "--library", str(root), stdout=out)
    assert "6 videos on disk: 6 new" in out.getvalue()
    assert Video.objects.count() == 6
    assert Folder.objects.exists()


def test_scan_command_refuses_a_missing_folder(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("vidsort_scan", "--library", str(tmp_path / "nope"), stdout=StringIO())


def test_admin_user_is_created_once(monkeypatch):
    monkeypatch.delenv("VIDSORT_ADMIN_PASSWORD", raising=False)
    out = StringIO()
    call_command("vidsort_admin", stdout=out)
    password = out.getvalue().split("password ")[1].split()[0]
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.check_password(password)
    out = StringIO()
    call_command("vidsort_admin", stdout=out)
    assert "exists" in out.getvalue()
    monkeypatch.setenv("VIDSORT_ADMIN_PASSWORD", "from-env-123")
    call_command("vidsort_admin", "--username", "second", stdout=StringIO())
    assert get_user_model().objects.get(username="second").check_password("from-env-123")


def test_train_command_says_zero_shot_is_off_for_the_tiny_model(embedded_library):
    out = StringIO()
    call_command("vidsort_train", stdout=out)
    text = out.getvalue()
    assert "cross-validated" in text
    assert "zero-shot is off: vidsort-tiny" in text and "no pretrained text-image alignment" in text
