"""Safe path resolution inside a library root.

Paths that reach the file system come from the database (``Video.path``, ``Folder.name``)
or, indirectly, from requests (which address records by id or by a name that must match
a record). Even so, every path is checked here before VidSort touches it: a row written
by an older version, a folder replaced by a symlink, or a hand-edited database must not
make a sort read, create or remove anything outside the library root.

The rules: relative, '/'-separated, no empty / '.' / '..' component, no NUL, no
backslash (it is a separator on Windows shares and in the old script's clients), and the
resolved real path (symlinks followed) stays strictly inside the resolved root.
"""

from __future__ import annotations

import os
import unicodedata

# Most Linux/macOS file systems cap one name at 255 bytes.
NAME_MAX_BYTES = 255


class UnsafePath(ValueError):
    """A path that is malformed or would leave the library root."""


def root_real(*, root: str | os.PathLike[str]) -> str:
    return os.path.realpath(os.fspath(root))


def path_is_inside(*, root_real_path: str, path: str) -> bool:
    """True when ``path`` (symlinks resolved) is strictly below ``root_real_path``."""
    real = os.path.realpath(path)
    try:
        common = os.path.commonpath([root_real_path, real])
    except ValueError:  # different drives (Windows) or mixed absolute/relative
        return False
    return common == root_real_path and real != root_real_path


def name_key(name: str) -> str:
    """The identity of a name for clash detection: NFC, case-folded.

    Two names with the same key are the same file on macOS (NFD-normalising, case-
    insensitive) and on Windows/exFAT shares, so VidSort treats them as a clash
    everywhere: a library copied to such a disk must not lose one of the two files.
    """
    if name.isascii():
        return name.lower()  # the same result, without the cost (folders list many names)
    return unicodedata.normalize("NFC", name).casefold()


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def filename_validate(*, name: str) -> str:
    """Check one file name (a single path component); returns it unchanged."""
    if not isinstance(name, str) or not name:
        raise UnsafePath("the file name is empty")
    if "\x00" in name:
        raise UnsafePath("the file name contains a NUL character")
    if "/" in name or "\\" in name:
        raise UnsafePath(f"the file name {name!r} contains a path separator")
    if name in (".", ".."):
        raise UnsafePath(f"{name!r} is not a file name")
    if name.startswith("."):
        raise UnsafePath(f"the file name {name!r} starts with a dot (hidden files are not videos)")
    if _has_control(name):
        raise UnsafePath(f"the file name {name!r} contains control characters")
    if len(os.fsencode(name)) > NAME_MAX_BYTES:
        raise UnsafePath(f"the file name is longer than {NAME_MAX_BYTES} bytes")
    return name


def _rel_parts(*, rel: str) -> list[str]:
    """The components of a relative path, refused (UnsafePath) if the text is malformed."""
    if not isinstance(rel, str) or not rel:
        raise UnsafePath("the path is empty")
    if "\x00" in rel:
        raise UnsafePath("the path contains a NUL character")
    if "\\" in rel:
        raise UnsafePath(f"the path {rel!r} contains a backslash")
    if rel.startswith("/") or os.path.isabs(rel):
        raise UnsafePath(f"the path {rel!r} is absolute; paths are relative to the library")
    parts = rel.split("/")
    for part in parts:
        _rel_part_check(rel=rel, part=part)
    return parts


def _rel_part_check(*, rel: str, part: str) -> None:
    if part in ("", ".", ".."):
        raise UnsafePath(f"the path {rel!r} has an empty, '.' or '..' component")
    if _has_control(part):
        raise UnsafePath(f"the path {rel!r} contains control characters")
    if len(os.fsencode(part)) > NAME_MAX_BYTES:
        raise UnsafePath(f"a component of {rel!r} is longer than {NAME_MAX_BYTES} bytes")


def path_resolve(*, root: str | os.PathLike[str], rel: str) -> str:
    """Absolute path of ``rel`` under ``root``, refused (UnsafePath) if it could escape.

    Returns the lexical path (root + components), not the symlink-resolved one, so the
    caller acts on the name it meant (a move renames a link, not its target); the
    resolved path of the name and of its parent folder are both checked to be inside.
    """
    parts = _rel_parts(rel=rel)
    base = root_real(root=root)
    joined = os.path.join(base, *parts)
    # Both checks matter: the parent could be a symlinked folder pointing outside, and
    # the name itself could be a symlink pointing outside.
    if not path_is_inside(root_real_path=base, path=joined):
        raise UnsafePath(f"the path {rel!r} leaves the library folder")
    parent = os.path.dirname(joined)
    if parent != base and not path_is_inside(root_real_path=base, path=parent):
        raise UnsafePath(f"the folder of {rel!r} leaves the library folder")
    return joined


def path_resolve_real(*, root: str | os.PathLike[str], rel: str) -> tuple[str, str]:
    """(real path, real path relative to the real root) of ``rel``, checked as in path_resolve.

    For readers of the file's bytes (the video stream): a symlink that stays inside the
    library is followed to its target, which the caller then opens without following
    links, so a link swapped in after this check is refused rather than followed out.
    """
    joined = path_resolve(root=root, rel=rel)
    real_path = os.path.realpath(joined)
    return real_path, os.path.relpath(real_path, root_real(root=root))


def rel_join(*parts: str) -> str:
    """'/'-joined relative path, skipping empty parts (the root has no folder name)."""
    return "/".join(p for p in parts if p)
