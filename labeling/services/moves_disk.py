"""The disk side of a journalled move (steps 2-6 of labeling.services.moves).

Never replacing a file: ``os.link`` fails with EEXIST instead of replacing (``rename``
would silently replace). Where hard links are unsupported (FAT/exFAT disks, some shares)
the destination name is first reserved with ``O_CREAT | O_EXCL`` and then the file is
renamed over that empty placeholder, which is ours.

``STEP_HOOK`` lets the fault-injection tests kill the process at each numbered step.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from django.db import connection
from django.utils import timezone

from labeling.models import Library, MoveIntent
from labeling.services.errors import FailedError
from labeling.services.paths import NAME_MAX_BYTES, name_key, path_resolve, rel_join
from mlpipeline.hashing import content_hash

logger = logging.getLogger(__name__)

STEP_INTENT = 1
STEP_DIR = 2
STEP_COPIED = 3
STEP_LINKED = 4
STEP_TEMP_REMOVED = 5
STEP_SOURCE_REMOVED = 6
STEP_DONE = 7
STEP_NAMES = {
    STEP_INTENT: "intent",
    STEP_DIR: "dir",
    STEP_COPIED: "copied",
    STEP_LINKED: "linked",
    STEP_TEMP_REMOVED: "temp-removed",
    STEP_SOURCE_REMOVED: "source-removed",
    STEP_DONE: "done",
}

# Test hook: called with each step number as the move reaches it.
STEP_HOOK: Callable[[int], None] | None = None

TEMP_PREFIX = ".vidsort-"
TEMP_SUFFIX = ".tmp"
COPY_BLOCK = 1024 * 1024
LINK_UNSUPPORTED = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}


def move_step(number: int) -> None:
    """The move reached step ``number`` (the fault-injection tests hook in here)."""
    if STEP_HOOK is not None:
        STEP_HOOK(number)


def _numbered(filename: str, n: int) -> str:
    stem, ext = os.path.splitext(filename)
    suffix = f" ({n}){ext}"
    while len(os.fsencode(stem + suffix)) > NAME_MAX_BYTES and stem:
        stem = stem[:-1]
    return stem + suffix


def name_free(
    *,
    library: Library,
    folder_rel: str,
    dst_dir: str,
    filename: str,
    taken_extra: set[str] | None = None,
) -> str:
    """A name for ``filename`` in ``dst_dir`` that clashes with nothing there.

    Compared by NFC + case-fold key against the folder's listing (a case-only or
    Unicode-equivalent twin is a clash: on macOS/Windows it is the same file) and against
    the database (a row of a missing file still holds its path).
    """
    try:
        taken = {name_key(n) for n in os.listdir(dst_dir)}
    except FileNotFoundError:
        taken = set()
    taken |= taken_extra or set()
    candidate, n = filename, 1
    with connection.cursor() as cursor:
        while True:
            if name_key(candidate) not in taken:
                # Plain SQL: this runs on every sort, the ORM's compile step costs more
                # than the query.
                cursor.execute(
                    "SELECT 1 FROM labeling_video WHERE library_id = %s AND path = %s",
                    [library.pk, rel_join(folder_rel, candidate)],
                )
                if cursor.fetchone() is None:
                    return candidate
            n += 1
            candidate = _numbered(filename, n)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_bytes(source: IO[bytes], target: IO[bytes]) -> None:
    shutil.copyfileobj(source, target, COPY_BLOCK)


def _copy_verified(src: str, tmp: str) -> None:
    """Copy ``src`` to a new file ``tmp`` (never an existing one), fsync, verify."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with open(fd, "wb", closefd=True) as target, open(src, "rb") as source:
        _copy_bytes(source, target)
        target.flush()
        os.fsync(target.fileno())
    shutil.copystat(src, tmp)
    src_size, tmp_size = os.path.getsize(src), os.path.getsize(tmp)
    if src_size != tmp_size:
        raise OSError(errno.EIO, f"copy is {tmp_size} bytes, source {src_size}")
    if content_hash(src, mode="full") != content_hash(tmp, mode="full"):
        raise OSError(errno.EIO, "copy does not match the source (SHA-256 differs)")


@dataclass
class _MoveState:
    src: str
    dst_dir: str
    tmp: str = ""
    placed: str = ""  # the destination name we created, once it exists
    # (st_dev, st_ino) of what we put at ``placed`` without a hard link: our empty
    # placeholder, then the file renamed onto it; proof that the name still holds ours.
    placed_id: tuple[int, int] | None = None
    placeholder: bool = False
    source_gone: bool = False
    temp_gone: bool = False


def move_disk_run(*, intent: MoveIntent, root: str) -> None:
    """Steps 2-6. On failure before the source is gone, undoes its own work."""
    src = path_resolve(root=root, rel=intent.src_path)
    dst = path_resolve(root=root, rel=intent.dst_path)
    state = _MoveState(src=src, dst_dir=os.path.dirname(dst))
    move_step(STEP_INTENT)
    try:
        os.makedirs(state.dst_dir, exist_ok=True)
        move_step(STEP_DIR)
        try:
            _place(intent=intent, root=root, state=state, source=src)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _copy_across(intent=intent, root=root, state=state)
        if not state.source_gone:
            os.unlink(src)
            state.source_gone = True
        try:
            _fsync_dir(os.path.dirname(src))
        except OSError as exc:
            # The file is safe at its destination (fsynced there); losing the removal of
            # the old name in a power cut leaves a duplicate, which reconcile resolves.
            logger.warning("fsync of %s failed after the move: %s", os.path.dirname(src), exc)
        move_step(STEP_SOURCE_REMOVED)
    except OSError as exc:
        if state.source_gone:
            # Past the point of no return: the data is at the destination only; the
            # caller records the move (reconcile would do the same).
            logger.warning("sort %s: error after the source was removed: %s", intent.pk, exc)
            return
        _abort(intent=intent, state=state, exc=exc)


def _place(*, intent: MoveIntent, root: str, state: _MoveState, source: str) -> None:
    """Give ``source`` the destination name without ever replacing a file.

    On EEXIST (someone created that name since we planned it) the next free name is
    journalled before it is tried, so reconcile always knows where to look.
    """
    tried: set[str] = set()
    while True:
        dst = path_resolve(root=root, rel=intent.dst_path)
        if _place_try(intent=intent, state=state, source=source, dst=dst):
            break
        tried.add(name_key(os.path.basename(dst)))
        folder_rel = os.path.dirname(intent.dst_path)
        new_name = name_free(
            library=intent.video.library,
            folder_rel=folder_rel,
            dst_dir=state.dst_dir,
            filename=os.path.basename(intent.src_path),
            taken_extra=tried,
        )
        intent.dst_path = rel_join(folder_rel, new_name)
        intent.save(update_fields=["dst_path"])
    _fsync_dir(state.dst_dir)
    move_step(STEP_LINKED)


def _place_try(*, intent: MoveIntent, state: _MoveState, source: str, dst: str) -> bool:
    """One attempt at the name ``dst``: True once the file is there, False if it is taken."""
    try:
        if state.placeholder:
            raise OSError(errno.EPERM, "hard links not used here")
        os.link(source, dst, follow_symlinks=False)
        state.placed = dst
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in LINK_UNSUPPORTED:
            raise
        return _place_by_rename(intent=intent, state=state, source=source, dst=dst)


def _place_by_rename(*, intent: MoveIntent, state: _MoveState, source: str, dst: str) -> bool:
    """No hard links here (FAT, exFAT, some shares): reserve the name with O_EXCL, then
    rename onto our own empty placeholder. rename(2) replaces only it."""
    if not state.placeholder:
        state.placeholder = True
        intent.details = {**intent.details, "placeholder": True}
        intent.save(update_fields=["details"])
    try:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    state.placed, state.placed_id = dst, (st.st_dev, st.st_ino)
    moving = os.lstat(source)
    try:
        os.rename(source, dst)
    except OSError:
        # EXDEV and friends: the empty placeholder must not outlive the
        # attempt (a cross-device copy will want this very name next).
        _placed_remove(intent=intent, state=state)
        raise
    # rename(2) keeps the inode: the name now holds the file we moved.
    state.placed_id = (moving.st_dev, moving.st_ino)
    if source == state.src:
        state.source_gone = True
    else:
        state.temp_gone = True
    return True


def _copy_across(*, intent: MoveIntent, root: str, state: _MoveState) -> None:
    """Cross-device move: temp copy in the destination folder, verified, then placed."""
    folder_rel = os.path.dirname(intent.dst_path)
    tmp_rel = rel_join(folder_rel, f"{TEMP_PREFIX}{uuid.uuid4().hex}{TEMP_SUFFIX}")
    # Journal the temp name before the file exists: after a crash reconcile finds it.
    intent.tmp_path = tmp_rel
    intent.step = "copy"
    intent.save(update_fields=["tmp_path", "step"])
    state.tmp = path_resolve(root=root, rel=tmp_rel)
    _copy_verified(state.src, state.tmp)
    move_step(STEP_COPIED)
    _place(intent=intent, root=root, state=state, source=state.tmp)
    if not state.temp_gone:
        os.unlink(state.tmp)
        state.temp_gone = True
    move_step(STEP_TEMP_REMOVED)


def _placed_is_ours(state: _MoveState) -> bool:
    """Whether ``state.placed`` still names what this move put there (never another file)."""
    if not state.placed or not os.path.lexists(state.placed):
        return False
    if state.placed_id is not None:
        st = os.lstat(state.placed)
        if (st.st_dev, st.st_ino) == state.placed_id:
            return True  # our placeholder, or our verified copy renamed onto it
    return bool(
        (state.tmp and os.path.lexists(state.tmp) and os.path.samefile(state.placed, state.tmp))
        or (os.path.lexists(state.src) and os.path.samefile(state.placed, state.src))
    )  # a hard link: a second name for the source's data or for our copy


def _placed_remove(*, intent: MoveIntent, state: _MoveState) -> None:
    """Remove our placeholder after a failed rename onto it (best effort: _abort retries)."""
    try:
        if _placed_is_ours(state):
            os.unlink(state.placed)
        state.placed, state.placed_id = "", None
    except OSError as exc:
        logger.warning(
            "sort %s: could not remove the placeholder %s: %s", intent.pk, state.placed, exc
        )


def _abort(*, intent: MoveIntent, state: _MoveState, exc: OSError) -> None:
    """Undo our own disk work (the source is intact) and close the intent as failed."""
    message = f"{exc.strerror or exc}" + (
        f" ({errno.errorcode.get(exc.errno, exc.errno)})" if exc.errno else ""
    )
    try:
        if _placed_is_ours(state):
            # Safe: the source was never removed (else we would not be here), so this is
            # a second name for its data, our verified copy, or our empty placeholder.
            os.unlink(state.placed)
        if state.tmp and os.path.lexists(state.tmp):
            os.unlink(state.tmp)  # our own copy; the source was never touched
    except OSError as cleanup:
        logger.error("sort %s: cleanup after %s failed: %s", intent.pk, message, cleanup)
        MoveIntent.objects.filter(pk=intent.pk).update(
            error=f"{message}; cleanup failed: {cleanup}"
        )
        raise FailedError(
            f"the move failed ({message}) and could not be cleaned up; the original file is "
            "untouched; run `manage.py vidsort_reconcile`"
        ) from exc
    MoveIntent.objects.filter(pk=intent.pk).update(
        state=MoveIntent.State.FAILED, error=message, finished_at=timezone.now()
    )
    raise FailedError(f"the move failed: {message}; the file was left where it was") from exc
