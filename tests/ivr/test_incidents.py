"""Major-fault announcements: the board, JSON input, matching, press-1 registration."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from ivr.incidents import Incident, IncidentBoard, IncidentError
from tests.ivr.agi_emulator import call
from tests.ivr.conftest import WORKDAY_MORNING, Ivr, IvrFactory

HOUR = dt.timedelta(hours=1)


def incident(**fields: Any) -> Incident:
    data: dict[str, Any] = {
        "id": "inc-1",
        "title": "越秀区停水",
        "text": "越秀区东风路一带因管道抢修停水，预计今天18点恢复。",
        "prompt": "incidents/inc-1",
        "start": (WORKDAY_MORNING - HOUR).isoformat(),
        "expected_end": (WORKDAY_MORNING + 8 * HOUR).isoformat(),
    }
    data.update(fields)
    return Incident.from_json(data)


def test_from_json_round_trip() -> None:
    made = incident(prefixes=["1380013"], districts=["越秀区"], branch="main")
    assert Incident.from_json(made.to_json()) == made


def test_from_json_names_every_bad_field() -> None:
    with pytest.raises(IncidentError) as caught:
        Incident.from_json(
            {
                "id": "",
                "title": "x",
                "prompt": "p",
                "start": "yesterday",
                "prefixes": ["13a"],
                "status": "maybe",
                "colour": 1,
            }
        )
    message = str(caught.value)
    for part in (
        "id: must be a non-empty string",
        "text: required",
        "start: not an ISO",
        "prefixes: caller-number prefixes",
        "status: must be",
        "unknown field 'colour'",
    ):
        assert part in message


def test_from_json_needs_a_time_zone() -> None:
    with pytest.raises(IncidentError, match="needs a time zone"):
        incident(start="2026-11-25T09:00:00")


def test_board_matching_by_prefix_district_branch_and_recency() -> None:
    board = IncidentBoard(clock=lambda: WORKDAY_MORNING)
    board.create(
        incident(id="old", prefixes=["138"], start=(WORKDAY_MORNING - 5 * HOUR).isoformat())
    )
    board.create(incident(id="new", prefixes=["138"]))
    board.create(incident(id="district", districts=["越秀区"]))
    board.create(incident(id="branch", branch="help"))
    board.create(incident(id="future", start=(WORKDAY_MORNING + HOUR).isoformat()))
    board.create(incident(id="ended"))
    board.end("ended")

    def ids(caller: str, district: str | None, node: str, announces: bool) -> list[str]:
        return [i.id for i in board.matching(caller, district, node, announces)]

    assert ids("13800138001", None, "main", True) == ["new", "old"]
    assert ids("13900000000", None, "main", True) == []
    assert ids("13900000000", "越秀区", "main", True) == ["district"]
    assert ids("13900000000", "海珠区", "main", True) == []
    assert ids("13800138001", None, "main", False) == []  # node does not announce
    assert ids("13900000000", None, "help", False) == ["branch"]
    with pytest.raises(IncidentError):
        board.create(incident(id="new"))


def test_register_counts_each_call_once() -> None:
    board = IncidentBoard()
    board.create(incident())
    board.register_caller("inc-1", "call-a")
    board.register_caller("inc-1", "call-a")
    assert board.register_caller("inc-1", "call-b").merged_callers == 2
    with pytest.raises(IncidentError):
        board.register_caller("nope", "call-c")


async def test_matching_caller_hears_it_and_presses_1(ivr: Ivr) -> None:
    ivr.board.create(incident(id="inc-7", prompt="incidents/inc-7", prefixes=["1380013"]))
    log = await call(ivr.port, ["1", "3"], callerid="13800138001", linkedid="1795445409.40")
    played = [c for c in log.commands if "incidents/inc-7" in c or "incident-" in c]
    assert played == [
        'STREAM FILE incidents/inc-7 "10"',
        "GET DATA hotline/incident-confirm 4000 1",
        'STREAM FILE hotline/incident-registered "0"',
    ]
    assert log.variables["HOTLINE_INCIDENT"] == "inc-7"
    assert log.variables["HOTLINE_QUEUE"] == "hotline-complaint"  # may still go on to an agent
    [report] = ivr.events.of("ivr.incident_report")
    assert report["linkedid"] == "1795445409.40"
    assert report["incident_id"] == "inc-7"
    assert report["caller_number"] == "13800138001"
    assert report["merged_callers"] == 1
    assert dt.datetime.fromisoformat(report["at"]).tzinfo is not None
    assert ivr.events.of("ivr.finished")[-1]["incident"] == "inc-7"

    await call(ivr.port, ["1", "0"], callerid="13800138002")
    incident_now = ivr.board.get("inc-7")
    assert incident_now is not None and incident_now.merged_callers == 2


async def test_other_callers_do_not_hear_it(ivr: Ivr) -> None:
    ivr.board.create(incident(prefixes=["1380013"]))
    log = await call(ivr.port, ["4"], callerid="13900139000")
    assert not any("incidents/" in c for c in log.commands)


async def test_most_recent_first_and_not_pressing_1_registers_nothing(ivr: Ivr) -> None:
    ivr.board.create(
        incident(id="a", prompt="incidents/a", start=(WORKDAY_MORNING - 3 * HOUR).isoformat())
    )
    ivr.board.create(incident(id="b", prompt="incidents/b"))
    log = await call(ivr.port, [None, None, "5"])
    streams = [c for c in log.commands if c.startswith("STREAM FILE incidents/")]
    assert streams == ['STREAM FILE incidents/b "10"', 'STREAM FILE incidents/a "10"']
    assert ivr.events.of("ivr.incident_report") == []
    assert "HOTLINE_INCIDENT" not in log.variables
    assert log.variables["HOTLINE_CHOICE"] == "5"


async def test_pressing_1_during_the_announcement_registers(ivr: Ivr) -> None:
    ivr.board.create(incident(id="inc-9", prompt="incidents/inc-9"))
    log = await call(ivr.port, ["1"], stream_keys={"incidents/inc-9": "1"})
    assert "GET DATA hotline/incident-confirm 4000 1" not in log.commands
    assert log.variables["HOTLINE_INCIDENT"] == "inc-9"


DISTRICT_MENU = """\
[menu]
start = "main"
agent = { action = "queue", queue = "q" }
[incidents]
confirm_prompt = "p"
registered_prompt = "p"
[survey]
prompt = "p"
thanks_prompt = "p"
[queues.q]
[prompts]
p = "文本"
[nodes.main]
prompt = "p"
announce_incidents = true
[nodes.main.options]
1 = { action = "submenu", node = "area" }
[nodes.area]
prompt = "p"
[nodes.area.options]
1 = { action = "district", district = "越秀区", then = { action = "submenu", node = "report" } }
2 = { action = "district", district = "海珠区", then = { action = "submenu", node = "report" } }
[nodes.report]
prompt = "p"
announce_incidents = true
[nodes.report.options]
1 = { action = "queue", queue = "q" }
"""


@pytest.mark.parametrize(("district_key", "heard"), [("1", True), ("2", False)])
async def test_district_chosen_in_the_menu(
    make_ivr: IvrFactory, menu_file: Path, district_key: str, heard: bool
) -> None:
    await asyncio.to_thread(menu_file.write_text, DISTRICT_MENU, encoding="utf-8")
    ivr = await make_ivr()
    ivr.board.create(incident(id="water", prompt="incidents/water", districts=["越秀区"]))
    ivr.board.create(incident(id="gas", prompt="incidents/gas", branch="area"))
    # main: 1 · gas (announced at "area"): silence · area: district · water: 1 · report: 1
    keys = ["1", None, district_key] + (["1"] if heard else []) + ["1"]
    log = await call(ivr.port, keys, callerid="13900139000")
    streams = [c.split()[2] for c in log.commands if c.startswith("STREAM FILE incidents/")]
    assert streams == (["incidents/gas", "incidents/water"] if heard else ["incidents/gas"])
    finished = ivr.events.of("ivr.finished")[-1]
    assert finished["district"] == ("越秀区" if heard else "海珠区")
    assert finished["incident"] == ("water" if heard else None)
    assert finished["path"] == ["main", "area", "report"]


REPORT_MENU = DISTRICT_MENU.replace(
    '1 = { action = "submenu", node = "area" }',
    '1 = { action = "submenu", node = "area" }\n'
    '7 = { action = "incident_report", prompt = "p", none_prompt = "p", '
    'then = { action = "queue", queue = "q", choice = "outage" } }',
)


@pytest.mark.parametrize(
    ("callerid", "registered"), [("13800138001", "inc-new"), ("13900139000", None)]
)
async def test_incident_report_action_from_the_menu(
    make_ivr: IvrFactory, menu_file: Path, callerid: str, registered: str | None
) -> None:
    await asyncio.to_thread(menu_file.write_text, REPORT_MENU, encoding="utf-8")
    ivr = await make_ivr()
    # Announced only in a branch the caller never visits; the menu option still finds them.
    ivr.board.create(
        incident(
            id="inc-old",
            prefixes=["138"],
            branch="report",
            start=(WORKDAY_MORNING - 2 * HOUR).isoformat(),
        )
    )
    ivr.board.create(incident(id="inc-new", prefixes=["138"], branch="report"))
    log = await call(ivr.port, ["7"], callerid=callerid)
    assert log.variables["HOTLINE_CHOICE"] == "outage"
    assert log.variables.get("HOTLINE_INCIDENT") == registered
    reports = ivr.events.of("ivr.incident_report")
    assert [r["incident_id"] for r in reports] == ([registered] if registered else [])


def test_main_ivr_and_fallback_share_the_expected_end_rule(tmp_path: Path) -> None:
    from agi_scripts.announcements import Announcement, load_active, write_announcements

    now = [WORKDAY_MORNING]
    board = IncidentBoard(clock=lambda: now[0])
    board.create(incident(id="bounded", expected_end=(WORKDAY_MORNING + HOUR).isoformat()))
    board.create(incident(id="open", expected_end=None))
    file = tmp_path / "announcements.json"
    write_announcements(
        file,
        [Announcement(i.id, i.prompt, i.start, i.expected_end) for i in board.pending()],
        now[0],
    )

    def heard() -> tuple[list[str], list[str]]:
        ivr = sorted(i.id for i in board.matching("13800138001", None, "main", True))
        fallback = sorted(a.id for a in load_active(file, now[0]))
        return ivr, fallback

    assert heard() == (["bounded", "open"], ["bounded", "open"])
    now[0] = WORKDAY_MORNING + 2 * HOUR  # past the expected end, not ended
    assert heard() == (["open"], ["open"])
    # Still open for reports (并单) until someone ends it.
    assert "bounded" in [i.id for i in board.active()]
