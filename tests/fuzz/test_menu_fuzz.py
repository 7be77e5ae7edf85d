"""Menu files a hurried edit damaged (issue 7, fuzzing suite): every problem is a MenuError
whose faults name the file and a line; never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.menu import Menu, MenuError, load_menu
from ivr.menu_source import DEFAULT_MENU
from tests.fuzz.conftest import budget
from tests.fuzz.mutations import mutated_bytes
from tests.fuzz.toml_mutations import damaged_toml

TEXT = Path(DEFAULT_MENU).read_text("utf-8")


def check(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "menu.toml"
        path.write_bytes(data)
        try:
            menu = load_menu(path)
        except MenuError as error:
            assert error.faults
            lines = data.count(b"\n") + 1
            for fault in error.faults:
                assert fault.file == str(path)
                assert 0 <= fault.line <= lines, fault
                assert str(fault).startswith(f"{path}:{fault.line}: ")
                assert "\n" not in fault.message, fault
        else:
            assert isinstance(menu, Menu)


@settings(max_examples=budget(200))
@given(text=damaged_toml(TEXT))
def test_damaged_lines(text: str) -> None:
    check(text.encode("utf-8"))


@settings(max_examples=budget(60))
@given(data=mutated_bytes(TEXT.encode("utf-8")))
def test_damaged_bytes(data: bytes) -> None:
    check(data)


@settings(max_examples=budget(40))
@given(
    encoding=st.sampled_from(["gb18030", "utf-16", "latin-1"]),
)
def test_other_encodings(encoding: str) -> None:
    check(TEXT.encode(encoding, "replace"))
