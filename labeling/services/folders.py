"""Folders (categories): name validation, create, rename.

A folder is a first-level directory of the library. Its name becomes a path component,
so it is validated strictly: a name that works here must work on every file system a
library may be copied to (ext4, APFS, NTFS/exFAT shares).
"""

from __future__ import annotations

import errno
import os
import unicodedata
from dataclasses import dataclass
from types import EllipsisType

from django.db import IntegrityError, transaction
from django.db.models import Q

from labeling.models import Folder, Library, MoveIntent, Video
from labeling.services.errors import ConflictError, InvalidError
from labeling.services.paths import NAME_MAX_BYTES, UnsafePath, name_key, path_resolve

FOLDER_NAME_MAX = 100


class FolderError(InvalidError):
    """A folder change was refused; by default the name is at fault (a field error)."""

    field: str | None = "name"


class FolderNameInvalid(FolderError):
    pass


class FolderNameTaken(ConflictError, FolderError):
    field = None


class FolderBusy(ConflictError, FolderError):
    field = None


def _folder_name_characters_check(*, name: str) -> None:
    """Refuse an empty name, a NUL, a separator, '.' and '..'."""
    if not name:
        raise FolderNameInvalid("the folder name is empty")
    if "\x00" in name:
        raise FolderNameInvalid("the folder name contains a NUL character")
    if "/" in name or "\\" in name:
        raise FolderNameInvalid(f"the folder name {name!r} contains '/' or '\\'")
    if name in (".", ".."):
        raise FolderNameInvalid(f"{name!r} is not a folder name")


def folder_name_validate(*, name: object) -> str:
    """Return the NFC form of a valid folder name, or raise FolderNameInvalid."""
    if not isinstance(name, str):
        raise FolderNameInvalid("a folder name must be text")
    name = unicodedata.normalize("NFC", name)
    _folder_name_characters_check(name=name)
    if name.startswith("."):
        raise FolderNameInvalid(
            f"the folder name {name!r} starts with a dot (hidden folders are not scanned)"
        )
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise FolderNameInvalid(f"the folder name {name!r} contains control characters")
    if name != name.strip() or name.endswith("."):
        # Windows and SMB shares silently drop trailing dots and spaces: two folders
        # would become one there.
        raise FolderNameInvalid(
            f"the folder name {name!r} starts or ends with a space or ends with a dot"
        )
    if len(name) > FOLDER_NAME_MAX:
        raise FolderNameInvalid(f"the folder name is longer than {FOLDER_NAME_MAX} characters")
    if len(os.fsencode(name)) > NAME_MAX_BYTES:
        raise FolderNameInvalid(f"the folder name is longer than {NAME_MAX_BYTES} bytes")
    return name


def _name_clash(*, library: Library, name: str, exclude_pk: int | None = None) -> str | None:
    """An existing folder (record or directory) whose name is the same up to case/NFC."""
    key = name_key(name)
    others = Folder.objects.filter(library=library)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    for other in others:
        if name_key(other.name) == key:
            return other.name
    try:
        entries = os.listdir(library.root)
    except OSError:
        return None
    for entry in entries:
        if name_key(entry) == key and entry != name:
            return entry
    return None


def folder_directory_ensure(*, folder: Folder) -> str:
    """Create the folder's directory if needed; returns its absolute path."""
    try:
        path = path_resolve(root=folder.library.root, rel=folder_name_validate(name=folder.name))
    except UnsafePath as exc:
        raise FolderNameInvalid(str(exc)) from None
    if os.path.lexists(path) and not os.path.isdir(path):
        raise FolderNameTaken(f"{folder.name!r} exists in the library and is not a folder")
    os.makedirs(path, exist_ok=True)
    return path


def folder_create(
    *,
    library: Library,
    name: str,
    prompts: list[str] | None = None,
    key: int | None | EllipsisType = None,
    create_directory: bool = True,
) -> Folder:
    """Create a folder (and its directory); ``key=...`` gives it the first free key 1-9."""
    name = folder_name_validate(name=name)
    try:
        path_resolve(root=library.root, rel=name)
    except UnsafePath as exc:
        raise FolderNameInvalid(str(exc)) from None
    clash = _name_clash(library=library, name=name)
    if clash is not None:
        raise FolderNameTaken(
            f"a folder named {clash!r} already exists (names differing only in case or accents clash)"
        )
    with transaction.atomic():
        # The library row serialises folder creation: the clash check above and the
        # insert cannot interleave with another request creating 'Cats' next to 'cats'.
        Library.objects.select_for_update().filter(pk=library.pk).first()
        clash = _name_clash(library=library, name=name)
        if clash is not None:
            raise FolderNameTaken(f"a folder named {clash!r} already exists")
        if key is ...:
            # Under the library lock: two creations cannot pick the same key.
            key = _folder_key_first_free(library=library)
        try:
            folder = Folder.objects.create(
                library=library, name=name, prompts=list(prompts or []), key=key
            )
        except IntegrityError as exc:
            raise FolderNameTaken(f"folder {name!r} or key {key} is already taken") from exc
    if create_directory:
        folder_directory_ensure(folder=folder)
    return folder


def _folder_key_first_free(*, library: Library) -> int | None:
    taken = set(Folder.objects.filter(library=library).values_list("key", flat=True))
    return next((k for k in range(1, 10) if k not in taken), None)


def _folder_rename_check(*, folder: Folder, new_name: str) -> None:
    """Refuse a name another folder holds and a folder a sort is moving files in or out of."""
    library = folder.library
    clash = _name_clash(library=library, name=new_name, exclude_pk=folder.pk)
    if clash is not None and name_key(clash) != name_key(folder.name):
        raise FolderNameTaken(f"a folder named {clash!r} already exists")
    busy = MoveIntent.objects.filter(state=MoveIntent.State.PENDING, video__library=library).filter(
        Q(from_folder_id=folder.pk) | Q(to_folder_id=folder.pk)
    )
    if busy.exists():
        raise FolderBusy(
            "a sort into or out of this folder is unfinished; try again in a moment "
            "(or run `manage.py vidsort_reconcile` after a crash)"
        )


def _folder_directory_rename(*, old_name: str, new_name: str, old_path: str, new_path: str) -> bool:
    """Rename the directory if it exists; True when it was renamed."""
    if not os.path.isdir(old_path):
        return False
    case_only = name_key(old_name) == name_key(new_name)
    if os.path.lexists(new_path) and not case_only:
        raise FolderNameTaken(f"{new_name!r} already exists in the library folder")
    try:
        os.rename(old_path, new_path)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise FolderNameTaken(f"{new_name!r} already exists") from exc
        raise
    return True


def folder_rename(*, folder: Folder, name: str) -> Folder:
    """Rename the folder and its directory; the videos' paths follow.

    Refused while a sort into or out of the folder is in flight: the sort service locks
    the folder rows before writing its journal entry, so once we hold the lock, no new
    intent can appear and the pending ones are all visible.
    """
    new_name = folder_name_validate(name=name)
    library = folder.library
    if new_name == folder.name:
        return folder
    with transaction.atomic():
        locked = Folder.objects.select_for_update().get(pk=folder.pk)
        old_name = locked.name
        _folder_rename_check(folder=locked, new_name=new_name)
        old_path = path_resolve(root=library.root, rel=old_name)
        new_path = path_resolve(root=library.root, rel=new_name)
        renamed = _folder_directory_rename(
            old_name=old_name, new_name=new_name, old_path=old_path, new_path=new_path
        )
        try:
            locked.name = new_name
            locked.save(update_fields=["name"])
            prefix = f"{old_name}/"
            videos = list(
                Video.objects.select_for_update().filter(library=library, path__startswith=prefix)
            )
            for video in videos:
                video.path = f"{new_name}/{video.path[len(prefix) :]}"
            Video.objects.bulk_update(videos, ["path"], batch_size=500)
        except Exception:
            # The database rolls back; put the directory back so both agree again.
            if renamed:
                os.rename(new_path, old_path)
            raise
    return locked


@dataclass(frozen=True)
class FolderUpdated:
    """A changed folder, and the folder whose key it took (that one now has the old key)."""

    folder: Folder
    key_taken_from: Folder | None = None


def folder_update(
    *, folder: Folder, prompts: list[str] | None = None, key: int | None | EllipsisType = ...
) -> FolderUpdated:
    """Change a folder's zero-shot prompts and/or its keyboard key (1-9 or None).

    Taking a key another folder holds swaps the two keys, so a person reordering the
    player's keys never hits a uniqueness error; the answer names that other folder (it
    is left without a key when this one had none).
    """
    with transaction.atomic():
        locked = Folder.objects.select_for_update().get(pk=folder.pk)
        fields: list[str] = []
        if prompts is not None:
            locked.prompts = [p.strip() for p in prompts if p.strip()]
            fields.append("prompts")
        holder = None
        if key is not ...:
            holder = _folder_key_take(folder=locked, key=key)
            if holder is None:
                fields.append("key")
        if fields:
            locked.save(update_fields=fields)
    return FolderUpdated(folder=locked, key_taken_from=holder)


def _folder_key_take(*, folder: Folder, key: int | None) -> Folder | None:
    """Give the locked ``folder`` this key; the folder that held it (now swapped), if any.

    Without a holder only ``folder.key`` is set (the caller saves it).
    """
    if key is not None and not 1 <= key <= 9:
        raise FolderNameInvalid("key must be between 1 and 9")
    holder = (
        Folder.objects.select_for_update()
        .filter(library=folder.library_id, key=key)
        .exclude(pk=folder.pk)
        .first()
        if key is not None
        else None
    )
    if holder is not None:
        # Free the key first: the unique constraint is checked per statement.
        old_key = folder.key
        Folder.objects.filter(pk=holder.pk).update(key=None)
        Folder.objects.filter(pk=folder.pk).update(key=key)
        Folder.objects.filter(pk=holder.pk).update(key=old_key)
        holder.key = old_key
    folder.key = key
    return holder


def folder_delete(*, folder: Folder) -> None:
    """Delete an empty folder (no videos, not even missing ones with history).

    Its directory goes with it, so it must be empty on disk too: a directory left behind
    would come back as a new folder on the next scan. Files VidSort does not know about
    (notes, subfolders) are never deleted; the refusal names them.
    """
    with transaction.atomic():
        locked = Folder.objects.select_for_update().get(pk=folder.pk)
        if locked.videos.exists():
            raise FolderBusy(f"folder {locked.name!r} is not empty; move its videos out first")
        directory = path_resolve(root=locked.library.root, rel=locked.name)
        locked.delete()
        # Inside the transaction: a refusal keeps the row (with its prompts and key).
        _folder_directory_remove(name=locked.name, directory=directory)


FOLDER_LEFTOVERS_SHOWN = 5


def _folder_directory_remove(*, name: str, directory: str) -> None:
    try:
        os.rmdir(directory)
    except FileNotFoundError:
        return
    except OSError as exc:
        try:
            left = sorted(os.listdir(directory))
        except OSError:
            left = []
        if not left:
            raise FolderBusy(f"the directory of folder {name!r} cannot be removed: {exc}") from exc
        shown = ", ".join(repr(entry) for entry in left[:FOLDER_LEFTOVERS_SHOWN])
        more = len(left) - FOLDER_LEFTOVERS_SHOWN
        shown += f" and {more} more" if more > 0 else ""
        raise FolderBusy(
            f"folder {name!r} still holds files that are not videos VidSort knows: {shown}; "
            "move or delete them first (VidSort never deletes them)"
        ) from None


__all__ = [
    "FOLDER_NAME_MAX",
    "FolderBusy",
    "FolderError",
    "FolderNameInvalid",
    "FolderNameTaken",
    "FolderUpdated",
    "UnsafePath",
    "folder_create",
    "folder_delete",
    "folder_update",
    "folder_directory_ensure",
    "folder_name_validate",
    "folder_rename",
]
