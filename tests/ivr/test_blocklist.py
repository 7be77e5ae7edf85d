"""Blocklisted nuisance numbers in the IVR: the caller hears the notice, the call is recorded
(MixMonitor on the whole channel) and marked, and the IVR hangs up; the IVR's copy of the
blocklist is read from the database by polling, like the incidents."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hotline.blocklist_poller import BlocklistPoller
from ivr import blocklist as ivr_blocklist
from ivr.blocklist import NOTICE, BlockedNumber
from tests.ivr.agi_emulator import call
from tests.ivr.conftest import WORKDAY_MORNING, Ivr
from ticketing import blocklist as store_blocklist
from ticketing.blocklist import NumberBlocklist
from ticketing.store import TicketStore

DAY = dt.timedelta(days=1)


@pytest.mark.parametrize(
    "raw",
    ["13800138009", "+8613800138009", "008613800138009", "8613800138009", "138-0013-8009",
     "+86 138 0013 8009", "020-12345678", "12345", "", "８６１３８００１３８００９"],
)  # fmt: skip
def test_both_rooms_normalise_numbers_alike(raw: str) -> None:
    assert ivr_blocklist.normalise_number(raw) == store_blocklist.normalise_number(raw)


async def test_a_blocked_number_hears_the_notice_is_recorded_and_marked(ivr: Ivr) -> None:
    ivr.app.blocked.replace([BlockedNumber(17, "13800138009", WORKDAY_MORNING + DAY)])
    log = await call(ivr.port, ["1"], callerid="+8613800138009", uniqueid="1795445409.91")
    assert log.commands == [
        "ANSWER",
        "GET VARIABLE CHANNEL(linkedid)",
        "SET VARIABLE HOTLINE_CHOICE blocked",
        "SET VARIABLE HOTLINE_BLOCKED 17",
        "EXEC MixMonitor hotline-1795445409.91.wav",
        f'STREAM FILE {NOTICE} ""',
        "HANGUP",
    ]
    assert log.hung_up_by_app and "HOTLINE_QUEUE" not in log.variables
    finished = ivr.events.finished("1795445409.91")
    assert finished["blocked"] == 17 and finished["choice"] == "blocked"
    assert finished["ended"] == "hangup"


async def test_other_and_expired_numbers_walk_the_menu(ivr: Ivr) -> None:
    ivr.app.blocked.replace(
        [
            BlockedNumber(1, "13800138009", WORKDAY_MORNING + DAY),
            BlockedNumber(2, "13900139000", WORKDAY_MORNING - dt.timedelta(seconds=1)),
        ]
    )
    for number in ("13800138001", "13900139000", ""):
        log = await call(ivr.port, ["1"], callerid=number or "unknown")
        assert not any(NOTICE in command for command in log.commands), number
        assert log.variables["HOTLINE_QUEUE"], number
        assert "HOTLINE_BLOCKED" not in log.variables


async def test_a_number_blocked_in_the_database_reaches_the_ivr_by_polling(
    ivr: Ivr, tmp_path: Path
) -> None:
    store = await TicketStore.open(f"sqlite+aiosqlite:///{tmp_path / 'b.sqlite3'}")
    try:
        blocklist = NumberBlocklist(store.engine)
        poller = BlocklistPoller(blocklist, ivr.app.blocked)
        now = dt.datetime.now(dt.UTC)
        entry = await blocklist.add("+86 138 0013 8009", "反复骚扰", now + 30 * DAY, "sup", now=now)
        await poller.refresh()
        blocked = await call(ivr.port, ["1"], callerid="13800138009")
        assert blocked.variables["HOTLINE_BLOCKED"] == str(entry["id"])
        assert f'STREAM FILE {NOTICE} ""' in blocked.commands
        # Removed in the database: the next poll lets the number through again.
        await blocklist.remove(entry["id"], "sup", "误判", now=dt.datetime.now(dt.UTC))
        await poller.refresh()
        free = await call(ivr.port, ["1"], callerid="13800138009")
        assert "HOTLINE_BLOCKED" not in free.variables and free.variables["HOTLINE_QUEUE"]
        assert poller.status()["ok"] is True
    finally:
        await store.close()
