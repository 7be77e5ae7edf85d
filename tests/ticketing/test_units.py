"""Handling units (承办单位): added with an optional parent, closed to new cases; a case goes
only to a unit that exists and is open."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli import cli
from ticketing.store import TicketStore
from ticketing.workflow import Actor, InvalidFields

AGENT = Actor("li", "agent")


async def test_units_with_parents_and_dispatch_only_to_open_units(store: TicketStore) -> None:
    await store.add_unit("鼓楼区")
    await store.add_unit("鼓楼区华侨路街道", parent="鼓楼区")
    with pytest.raises(ValueError, match="no parent unit"):
        await store.add_unit("x", parent="nowhere")
    with pytest.raises(ValueError, match="exists already"):
        await store.add_unit("鼓楼区")
    units = await store.list_units()
    assert [(u["name"], u["parent"], u["active"]) for u in units] == [
        ("鼓楼区", None, True), ("鼓楼区华侨路街道", "鼓楼区", True),
    ]  # fmt: skip
    case = await store.register_case(AGENT, {"category": "help"})
    with pytest.raises(InvalidFields, match="no active handling unit '水务局'"):
        await store.apply_action(case["id"], "dispatch", AGENT, {"unit": "水务局"}, 1)
    await store.set_unit_active("鼓楼区", False)
    with pytest.raises(InvalidFields, match="鼓楼区"):
        await store.apply_action(case["id"], "dispatch", AGENT, {"unit": "鼓楼区"}, 1)
    joint = await store.apply_action(
        case["id"], "dispatch", AGENT,
        {"unit": "鼓楼区华侨路街道", "co_units": []}, 1,
    )  # fmt: skip
    assert (joint["handling_unit"], joint["first_unit"]) == ("鼓楼区华侨路街道", "鼓楼区华侨路街道")


def test_the_unit_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    monkeypatch.setenv("HOTLINE_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'u.sqlite3'}")
    runner = CliRunner()
    assert runner.invoke(cli, ["unit", "add", "住建局"]).exit_code == 0
    assert runner.invoke(cli, ["unit", "add", "住建局一科", "--parent", "住建局"]).exit_code == 0
    bad = runner.invoke(cli, ["unit", "add", "x", "--parent", "nowhere"])
    assert bad.exit_code == 1 and "no parent unit 'nowhere'" in bad.output
    assert runner.invoke(cli, ["unit", "close", "住建局"]).exit_code == 0
    listed = runner.invoke(cli, ["unit", "list"]).output.splitlines()
    assert listed[0].split() == ["住建局", "closed"]
    assert listed[1].split() == ["住建局一科", "active", "parent=住建局"]
    assert runner.invoke(cli, ["unit", "reopen", "nowhere"]).exit_code == 1
