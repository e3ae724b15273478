"""The Range header parser (labeling/ranges.py): pure, no request or file needed."""

from __future__ import annotations

import pytest

from labeling.ranges import (
    MAX_RANGE_HEADER_LENGTH,
    ByteRange,
    RangeNotSatisfiable,
    parse_range_header,
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=10-", ByteRange(10, 999)),
        ("bytes=-100", ByteRange(900, 999)),
        ("bytes=-5000", ByteRange(0, 999)),
        ("bytes=990-5000", ByteRange(990, 999)),
        (" BYTES = 0 - 9 ", ByteRange(0, 9)),
    ],
)
def test_one_range_is_served(header: str, expected: ByteRange) -> None:
    assert parse_range_header(header, 1000) == expected


@pytest.mark.parametrize(
    "header",
    ["", "bytes=", "bytes=-", "items=0-1", "bytes=5-1", "bytes=0-1,5-6", "bytes=\u0663-"],
)
def test_what_cannot_be_honoured_means_the_whole_file(header: str) -> None:
    assert parse_range_header(header, 1000) is None


def test_an_overlong_header_is_ignored_without_parsing() -> None:
    header = "bytes=0-" + "0" * MAX_RANGE_HEADER_LENGTH
    assert parse_range_header(header, 1000) is None


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=1000-", 1000), ("bytes=-0", 1000), ("bytes=-1", 0)]
)
def test_a_range_past_the_end_is_not_satisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range_header(header, size)


def test_the_length_counts_both_ends() -> None:
    assert ByteRange(start=5, end=5).length == 1
