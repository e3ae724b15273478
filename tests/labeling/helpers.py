"""Helpers shared by the labeling tests (fixtures live in conftest.py).

Libraries built here are small byte strings on disk with matching rows, never probed, so
a test of moves, undo or reconcile runs in milliseconds.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from django import forms
from django.template.response import TemplateResponse

from labeling.models import Folder, Library, MoveIntent, Video
from labeling.services.scan import library_get_or_create
from mlpipeline.hashing import content_hash


def make_library(root: Path, files: dict[str, bytes], folders: tuple[str, ...] = ()) -> Library:
    """Write ``files`` (rel path -> bytes) and create matching rows, without probing."""
    library = library_get_or_create(root=root)
    for name in folders:
        Folder.objects.get_or_create(library=library, name=name)
        (root / name).mkdir(exist_ok=True)
    for rel, data in files.items():
        _video_file_create(library=library, root=root, rel=rel, data=data)
    return library


def _video_file_create(*, library: Library, root: Path, rel: str, data: bytes) -> Video:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    folder = None
    if "/" in rel:
        folder, _ = Folder.objects.get_or_create(library=library, name=rel.split("/")[0])
    st = path.stat()
    return Video.objects.create(
        library=library,
        path=rel,
        filename=os.path.basename(rel),
        folder=folder,
        content_hash=content_hash(path),
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
    )


def disk_hashes(root: Path) -> dict[str, str]:
    """Every file under root (hidden ones too) -> full SHA-256."""
    found = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            found[path.relative_to(root).as_posix()] = content_hash(path, mode="full")
    return found


def assert_safe(library: Library, originals: dict[str, bytes]) -> None:
    """Each original exists exactly once under the root, same bytes; DB matches disk."""
    root = Path(library.root)
    on_disk = disk_hashes(root)
    wanted: dict[str, int] = {}
    for data in originals.values():
        digest = "f1:" + hashlib.sha256(data).hexdigest()
        wanted[digest] = wanted.get(digest, 0) + 1
    counts: dict[str, int] = {}
    for digest in on_disk.values():
        counts[digest] = counts.get(digest, 0) + 1
    assert counts == wanted, f"disk {on_disk} does not hold each original exactly once"
    assert MoveIntent.objects.filter(state=MoveIntent.State.PENDING).count() == 0
    rows = {
        v.path: v
        for v in Video.objects.filter(library=library).exclude(status=Video.Status.MISSING)
    }
    assert set(rows) == set(on_disk), f"database {sorted(rows)} != disk {sorted(on_disk)}"
    for path, row in rows.items():
        folder_name = path.split("/")[0] if "/" in path else None
        assert (row.folder.name if row.folder else None) == folder_name, path
        assert row.filename == os.path.basename(path)


def admin_form_data(response: TemplateResponse) -> dict[str, Any]:
    """What an admin change page would post back untouched: its fields and its inlines.

    Starting from this and changing one value makes a post the admin accepts, so a test
    that the value was ignored cannot pass merely because the form was incomplete.
    """
    data = _form_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data |= _form_data(formset.management_form)
        for form in formset.forms:
            data |= _form_data(form)
    return data


def _form_data(form: forms.BaseForm) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for bound in form:
        value = bound.value()
        if isinstance(bound.field, forms.BooleanField):
            if value:
                data[bound.html_name] = "on"
        else:
            data[bound.html_name] = "" if value is None else value
    return data
