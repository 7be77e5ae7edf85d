"""The README's configuration reference is generated from the settings: it must be current."""

from __future__ import annotations

from hotline.settings import Settings
from hotline.settings_reference import END, START, reference
from tests.captures import ROOT


def test_readme_reference_is_up_to_date() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    block = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert block == reference(), "run: .venv/bin/python -m hotline.settings_reference"


def test_every_setting_is_explained() -> None:
    rows = [line for line in reference().splitlines()[2:]]
    count = sum(
        len(type(getattr(Settings.model_construct(), name)).model_fields)
        for name in Settings.model_fields
    )
    assert len(rows) == count
    unexplained = [row.split("|")[1].strip() for row in rows if row.rstrip().endswith("|  |")]
    assert unexplained == []
