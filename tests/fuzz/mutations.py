"""Hypothesis strategies that damage real capture data the way a bad day does: truncated,
bit-flipped, padded, re-encoded, with odd numbers; each strategy starts from real lines."""

from __future__ import annotations

from hypothesis import strategies as st

ODD_NUMBERS = [
    "nan",
    "inf",
    "-inf",
    "1e300",
    "-1",
    "99999999999",
    "-99999999999",
    "0",
    "",
    "٣",
    "1_000",
    "0x10",
    " 7",
]


@st.composite
def mutated_bytes(draw: st.DrawFn, original: bytes) -> bytes:
    """One damage done to ``original``: cut, flip, insert, drop or repeat."""
    data = bytearray(original)
    kind = draw(
        st.sampled_from(["cut", "flip", "insert", "drop_colon", "lone_lf", "repeat", "binary"])
    )
    at = draw(st.integers(0, max(len(data) - 1, 0)))
    if kind == "cut":
        return bytes(data[:at])
    if kind == "flip" and data:
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    if kind == "insert":
        return bytes(data[:at]) + draw(st.binary(min_size=1, max_size=40)) + bytes(data[at:])
    if kind == "drop_colon" and b":" in data:
        return bytes(data).replace(b":", b"", 1 + draw(st.integers(0, 3)))
    if kind == "lone_lf":
        return bytes(data).replace(b"\r\n", b"\n", 1 + draw(st.integers(0, 3)))
    if kind == "repeat":
        return bytes(data) + bytes(data[:at])
    return draw(st.binary(max_size=200))


@st.composite
def odd_value(draw: st.DrawFn) -> str:
    """A field value no well-behaved peer sends."""
    return draw(
        st.one_of(
            st.sampled_from(ODD_NUMBERS),
            st.text(max_size=30),
            st.integers(-(10**20), 10**20).map(str),
        )
    )
