"""Property-based: any file or folder name is resolved inside the root or refused clearly.

Hostile samples (traversal, encoded traversal, backslashes, absolute paths, NUL, over-long
names, '.', empty, trailing dots/spaces, NFD vs NFC) are mixed into generated text, and
every one of them is also tried on every run (the ``test_every_hostile_*`` tests), so a
regression on a named case never depends on what hypothesis happens to draw. A sentinel
tree beside the library proves that nothing outside the root is touched.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from labeling.models import Video
from labeling.services.errors import ServiceError as SortError
from labeling.services.folders import FolderError, folder_create, folder_name_validate
from labeling.services.paths import (
    UnsafePath,
    filename_validate,
    path_is_inside,
    path_resolve,
    path_resolve_real,
)
from labeling.services.scan import library_get_or_create
from labeling.services.sorting import folder_resolve, video_resolve, video_sort

HOSTILE = [
    "../../etc/passwd",
    "..%2f..%2fetc",
    "..%2f",
    "..\\x.mp4",
    "/etc/passwd",
    "/",
    "a\x00b",
    "x" * 300,
    "é" * 200,
    ".",
    "..",
    "",
    " ",
    "name.",
    "name ",
    " name",
    "a/../../b",
    "./a",
    "a//b",
    "C:\\Windows",
    "\\\\server\\share",
    "~",
    "~/x",
    "$HOME",
    "a\nb",
    "\x7f",
    unicodedata.normalize("NFD", "café"),
    unicodedata.normalize("NFC", "café"),
    "cats/../..",
    "cats/./x.mp4",
    "%2e%2e/x",
    "\u202e.mp4",
    "CON",
    "a" * 100,
    "a" * 101,
    "\ufeff",
    "x" * 300 + ".mp4",
    "name..",
    "name. ",
    "..\\..\\x.mp4",
    "escape",
    "escape/passwd",
    "escape/../library/x",
    unicodedata.normalize("NFD", "é.mp4"),
    "\x00",
    "a/\x00",
]
HOSTILE_IDS = [ascii(name)[:40] for name in HOSTILE]
names = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.lists(st.sampled_from(["..", ".", "a", "/", "\\", "\x00", "%2f", "é", " "]), max_size=8).map(
        "".join
    ),
)
quick = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
slow = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def snapshot(path: Path) -> dict[str, bytes | None]:
    tree: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for d in dirnames:
            tree[os.path.relpath(os.path.join(dirpath, d), path)] = None
        for f in filenames:
            full = os.path.join(dirpath, f)
            tree[os.path.relpath(full, path)] = Path(full).read_bytes()
    return tree


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "box" / "library"
    root.mkdir(parents=True)
    outside = tmp_path / "box" / "etc"
    outside.mkdir()
    (outside / "passwd").write_bytes(b"root:x:0:0")
    (root / "cats").mkdir()
    (root / "escape").symlink_to(outside)
    return root, outside


@quick
@given(rel=st.one_of(names, st.lists(names, min_size=1, max_size=4).map("/".join)))
@example(rel="escape/passwd")
@example(rel="escape")
def test_path_resolve_stays_inside_or_refuses(sandbox, rel):
    check_path_resolve(sandbox, rel)


@pytest.mark.parametrize("rel", HOSTILE, ids=HOSTILE_IDS)
def test_every_hostile_path_resolves_inside_or_is_refused(sandbox, rel):
    check_path_resolve(sandbox, rel)


@pytest.mark.parametrize("rel", HOSTILE, ids=HOSTILE_IDS)
def test_every_hostile_path_resolves_to_a_real_path_inside_or_is_refused(sandbox, rel):
    root, _ = sandbox
    try:
        real_path, relative = path_resolve_real(root=root, rel=rel)
    except UnsafePath:
        return
    real_root = os.path.realpath(root)
    assert real_path == os.path.realpath(real_path)
    assert os.path.commonpath([real_root, real_path]) == real_root and real_path != real_root
    assert os.path.join(real_root, relative) == real_path


def test_a_link_inside_the_root_resolves_to_its_target(sandbox):
    root, _ = sandbox
    (root / "cats" / "tom.mp4").write_bytes(b"tom")
    (root / "alias.mp4").symlink_to(root / "cats" / "tom.mp4")
    real_path, relative = path_resolve_real(root=root, rel="alias.mp4")
    assert relative == "cats/tom.mp4"
    assert real_path == os.path.realpath(root / "cats" / "tom.mp4")


def check_path_resolve(sandbox, rel):
    root, _ = sandbox
    try:
        resolved = path_resolve(root=root, rel=rel)
    except UnsafePath as exc:
        assert str(exc)  # a message a person can read
        return
    real_root = os.path.realpath(root)
    assert path_is_inside(root_real_path=real_root, path=resolved)
    assert os.path.commonpath([real_root, os.path.realpath(resolved)]) == real_root
    assert ".." not in Path(resolved).relative_to(real_root).parts


@quick
@given(name=names)
def test_folder_names_are_valid_single_components_or_refused(sandbox, name):
    check_folder_name(sandbox, name)


@pytest.mark.parametrize("name", HOSTILE, ids=HOSTILE_IDS)
def test_every_hostile_folder_name_is_valid_or_refused(sandbox, name):
    check_folder_name(sandbox, name)


def check_folder_name(sandbox, name):
    root, _ = sandbox
    try:
        clean = folder_name_validate(name=name)
    except FolderError as exc:
        assert str(exc)
        return
    assert clean == unicodedata.normalize("NFC", clean)
    assert 0 < len(clean) <= 100 and clean == clean.strip() and not clean.endswith(".")
    assert_resolves_in_root_or_refused(root, clean)


def assert_resolves_in_root_or_refused(root: Path, name: str) -> None:
    """A valid single name is a direct child of the root, unless it is a symlink out."""
    try:
        resolved = path_resolve(root=root, rel=name)
    except UnsafePath as exc:  # e.g. 'escape', a symlink pointing outside the library
        assert os.path.islink(root / name) and "leaves the library" in str(exc)
        return
    assert Path(resolved).parent == Path(os.path.realpath(root))


@quick
@given(name=names)
def test_file_names_are_single_components_or_refused(sandbox, name):
    check_file_name(sandbox, name)


@pytest.mark.parametrize("name", HOSTILE, ids=HOSTILE_IDS)
def test_every_hostile_file_name_is_a_single_component_or_refused(sandbox, name):
    check_file_name(sandbox, name)


def check_file_name(sandbox, name):
    root, _ = sandbox
    try:
        clean = filename_validate(name=name)
    except UnsafePath as exc:
        assert str(exc)
        return
    assert_resolves_in_root_or_refused(root, clean)


@pytest.mark.django_db
@slow
@given(name=names)
@example(name="escape")
def test_creating_and_sorting_into_any_folder_never_touches_the_outside(sandbox, name):
    check_folder_create_and_sort(sandbox, name)


@pytest.mark.django_db
@pytest.mark.parametrize("name", HOSTILE, ids=HOSTILE_IDS)
def test_every_hostile_folder_name_is_created_and_sorted_into_safely_or_refused(sandbox, name):
    check_folder_create_and_sort(sandbox, name)


def check_folder_create_and_sort(sandbox, name):
    root, outside = sandbox
    before = snapshot(outside)
    library = library_get_or_create(root=root)
    clip = root / "clip.mp4"
    if not Video.objects.filter(path="clip.mp4").exists():  # first example
        clip.write_bytes(b"clip")
        Video.objects.create(library=library, path="clip.mp4", filename="clip.mp4", size=4)
    try:
        folder = folder_create(library=library, name=name)
    except (FolderError, UnsafePath):
        folder = None
    if folder is not None:
        video = Video.objects.select_related("library", "folder").get(filename="clip.mp4")
        try:
            result = video_sort(video=video, folder=folder)
        except SortError:
            pass
        else:
            assert os.path.realpath(root / result.video.path).startswith(
                os.path.realpath(root) + os.sep
            )
            back = video_sort(video=result.video, folder=None)
            assert back.video.path == "clip.mp4" and clip.read_bytes() == b"clip"
    try:
        folder_resolve(library=library, ref=name)
    except SortError as exc:
        assert str(exc)
    try:
        video_resolve(filename=name)
    except SortError as exc:
        assert str(exc)
    assert snapshot(outside) == before
    assert clip.read_bytes() == b"clip"
