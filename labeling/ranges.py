"""The HTTP Range header (RFC 9110 section 14), parsed without Django: pure and testable.

labeling/streaming.py serves what this returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A browser sends "bytes=123-" (about 20 characters). Anything much longer is either a
# multi-range request, which we do not serve as multipart, or an attack; capping the
# length keeps the parsing work bounded whatever the client sends.
MAX_RANGE_HEADER_LENGTH = 200

# One range: bytes=first-last, bytes=first- or bytes=-suffix. ASCII digits only (int()
# would accept other scripts' digits), at most 19 of them (fits a 64-bit offset).
_SINGLE_RANGE = re.compile(r"\s*bytes\s*=\s*(\d{0,19})\s*-\s*(\d{0,19})\s*", re.I | re.ASCII)


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
    if first == "":
        return None if last == "" else _suffix_range(int(last), size)
    return _first_last_range(int(first), None if last == "" else int(last), size)


def _suffix_range(suffix: int, size: int) -> ByteRange:
    """bytes=-N: the last N bytes (all of them when N is larger than the file)."""
    if suffix == 0 or size == 0:
        raise RangeNotSatisfiable
    return ByteRange(start=max(0, size - suffix), end=size - 1)


def _first_last_range(start: int, last: int | None, size: int) -> ByteRange | None:
    """bytes=first-[last], the end clamped to the file."""
    if last is not None and last < start:
        return None  # syntactically invalid (RFC 9110 14.1.1): ignore the header
    if start >= size:
        raise RangeNotSatisfiable
    end = size - 1 if last is None else min(last, size - 1)
    return ByteRange(start=start, end=end)
