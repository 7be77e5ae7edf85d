"""Several variables in one AGI command (SET VARIABLE ARRAY(…)): what Asterisk reads back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asterisk_conf.agi_args import agi_words, array_assignment, assignments

# What a HOTLINE_* value may hold: anything but CR, LF and NUL (refused before sending).
VALUES = st.text(st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)))


def read_back(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    name, value = array_assignment(pairs)
    words = agi_words(f"SET VARIABLE {name} {value}")
    assert words[:2] == ["SET", "VARIABLE"] and len(words) == 4
    return assignments(words[2], words[3])


def test_values_with_commas_quotes_and_brackets_arrive_whole() -> None:
    pairs = [
        ("HOTLINE_PATH", "welcome,main,help"),
        ("HOTLINE_DIGITS", "64242#0*"),
        ("HOTLINE_INCIDENT", 'a"b\\c(d)[e]=f g'),
        ("HOTLINE_CATEGORY", ""),
    ]
    assert read_back(pairs) == pairs


def test_only_plain_names() -> None:
    with pytest.raises(ValueError, match="plain variable name"):
        array_assignment([("CHANNEL(language)", "yue"), ("HOTLINE_PATH", "main")])


@given(
    st.lists(st.tuples(st.from_regex(r"HOTLINE_[A-Z]{1,8}", fullmatch=True), VALUES), min_size=1)
)
def test_any_values_round_trip(pairs: list[tuple[str, str]]) -> None:
    assert read_back(pairs) == pairs
