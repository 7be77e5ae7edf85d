"""Line-level damage to a TOML file: what a hurried edit does to a menu or settings file."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.fuzz.mutations import ODD_NUMBERS

ODD_TOML_VALUES = [
    "1",
    "-1",
    "0",
    "99999999999999999999",
    "1e400",
    "inf",
    "nan",
    "true",
    '""',
    '"x"',
    '"\\u0000"',
    '"a\\nb"',
    "[]",
    "{}",
    '[1, "a"]',
    "{ a = 1 }",
    "1979-05-27T07:32:00Z",
    "[[]]",
    *[f'"{n}"' for n in ODD_NUMBERS],
]


@st.composite
def damaged_toml(draw: st.DrawFn, text: str) -> str:
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        kind = draw(
            st.sampled_from(["value", "delete", "duplicate", "swap", "insert", "cut", "key"])
        )
        if kind == "value" and "=" in lines[at]:
            key = lines[at].partition("=")[0]
            value = draw(st.one_of(st.sampled_from(ODD_TOML_VALUES), st.text(max_size=20)))
            lines[at] = f"{key}= {value}"
        elif kind == "delete":
            del lines[at]
        elif kind == "duplicate":
            lines.insert(at, lines[at])
        elif kind == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif kind == "insert":
            lines.insert(at, draw(st.text(max_size=40)))
        elif kind == "cut":
            lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
        elif kind == "key" and "=" in lines[at]:
            lines[at] = draw(st.sampled_from(["colour", "x.y", '"k"', "1"])) + " = 1"
    return "\n".join(lines) + "\n"
