"""Calls through a real Asterisk 22 with the project's rendered dialplan, the FastAGI IVR and
the service following AMI: the stored record must say what Asterisk's own queue_log and CDR
say.

Callers and agents are Local-channel robots (tests/pbx/asterisk.py ROBOTS): the caller presses
1 at the main menu (SendDTMF), agent1 answers after 2 s and hangs up after 3 s of talk.
"""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hotline.service import HotlineService
from tests.pbx.asterisk import Asterisk
from tests.pbx.pbx_logs import CDR_COLUMNS, queue_log, until

pytestmark = pytest.mark.pbx

AGENT = "Local/1@robot-agent/n"


def lines_of(ast: Asterisk, callid: str) -> dict[str, list[str]]:
    """queue_log lines of one call by event (time|callid|queue|agent|event|data…)."""
    return {line[4]: line for line in queue_log(ast) if line[1] == callid}


def entered(ast: Asterisk, caller: str) -> str | None:
    for line in queue_log(ast):
        if line[4] == "ENTERQUEUE" and len(line) > 6 and line[6] == caller:
            return line[1]
    return None


def cdr_rows(ast: Asterisk, uniqueid: str) -> list[dict[str, str]]:
    if not ast.cdr_csv.exists():
        return []
    with ast.cdr_csv.open(newline="") as handle:
        rows = [dict(zip(CDR_COLUMNS, row, strict=False)) for row in csv.reader(handle)]
    return [row for row in rows if row["uniqueid"] == uniqueid]


async def cli(ast: Asterisk, command: str) -> str:
    # Off the loop: the service's AMI feed and FastAGI IVR run on it.
    return await asyncio.to_thread(ast.cli, command)


async def call(ast: Asterisk, caller: str, robot: str) -> str:
    """Place a robot call to the hotline; the queue_log callid once it entered a queue."""
    await cli(ast, f"channel originate Local/{caller}@robot-dial/n extension {robot}@robot-caller")
    callid: str = await until(lambda: entered(ast, caller), 60, f"{caller} in a queue")
    return callid


async def hang_up_caller(ast: Asterisk, caller: str) -> None:
    channels = (await cli(ast, "core show channels concise")).splitlines()
    names = [c.split("!")[0] for c in channels if c.startswith(f"Local/{caller}@robot-dial-")]
    for name in names:
        if name.endswith(";1"):
            await cli(ast, f"channel request hangup {name}")


async def stored(service: HotlineService, uniqueid: str) -> dict[str, Any]:
    assert service.store is not None and service.writer is not None

    async def fetch() -> dict[str, Any] | None:
        assert service.store is not None and service.writer is not None
        await service.writer.flush(timeout=10)
        records = await service.store.calls_between(
            datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
        )
        return next((r for r in records if r["uniqueid"] == uniqueid), None)

    deadline = asyncio.get_running_loop().time() + 30
    while (record := await fetch()) is None:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no stored record for {uniqueid}")
        await asyncio.sleep(0.1)
    return record


def audio_bytes(wav: Path) -> int:
    """Bytes after the 44-byte WAV header: MixMonitor writes only the frames it saw."""
    return wav.stat().st_size - 44 if wav.is_file() else -1


def close(a: float | None, b: float, what: str) -> None:
    assert a is not None and abs(a - b) <= 1, f"{what}: record {a}, Asterisk {b}"


async def test_answered_call_record_equals_queue_log_and_cdr(
    pbx: tuple[Asterisk, dict[str, Any]], service: HotlineService
) -> None:
    ast, _ = pbx
    await cli(ast, "devstate change Custom:agent1 NOT_INUSE")
    await cli(
        ast,
        f"queue add member {AGENT} to hotline-general penalty 0 as agent1 "
        "state_interface Custom:agent1",
    )
    try:
        callid = await call(ast, "13900001111", "press-1")
        done = await until(
            lambda: {"COMPLETEAGENT", "COMPLETECALLER"} & set(lines_of(ast, callid)),
            60,
            "the answered call to end",
        )
        await hang_up_caller(ast, "13900001111")
        cdr = await until(lambda: cdr_rows(ast, callid), 30, "the caller's CDR")
        record = await stored(service, callid)
    finally:
        await cli(ast, f"queue remove member {AGENT} from hotline-general")

    log = lines_of(ast, callid)
    connect, end = log["CONNECT"], log[done.pop()]
    # queue_log: CONNECT|holdtime|bridged uniqueid|ringtime; COMPLETE*|holdtime|calltime|pos
    assert record["queue"] == "hotline-general" == connect[2]
    assert record["outcome"] == "answered"
    assert record["answered_by"] == connect[3] == "agent1"
    assert record["member_interface"] == AGENT
    # COMPLETEAGENT: the agent hung up (COMPLETECALLER would be the caller)
    assert record["hangup_by"] == {"COMPLETEAGENT": "agent", "COMPLETECALLER": "caller"}[end[4]]
    close(record["wait_s"], int(connect[5]), "wait")
    close(record["talk_s"], int(end[6]), "talk")
    assert record["ivr_choice"] == "1"
    assert record["ivr_digits"] == "1"
    assert record["ivr_path"] == ["welcome", "main"]
    assert record["caller_num"] == "13900001111"
    assert record["linkedid"] == cdr[0]["linkedid"]
    recording = ast.monitor_dir / f"hotline-{callid}.wav"
    assert record["recording"] == str(recording)
    assert audio_bytes(recording) > 0


async def test_abandoned_in_queue_record_equals_queue_log(
    pbx: tuple[Asterisk, dict[str, Any]], service: HotlineService
) -> None:
    ast, _ = pbx
    # No agent in the queue (joinempty = yes): the caller waits until they hang up.
    callid = await call(ast, "13900002222", "press-1")
    await hang_up_caller(ast, "13900002222")
    abandon = await until(lambda: lines_of(ast, callid).get("ABANDON"), 30, "ABANDON")
    cdr = await until(lambda: cdr_rows(ast, callid), 30, "the caller's CDR")
    record = await stored(service, callid)

    # ABANDON|position|origposition|waittime
    assert record["outcome"] == "abandoned"
    assert record["queue"] == "hotline-general" == abandon[2]
    close(record["wait_s"], int(abandon[7]), "wait")
    assert record["answered_by"] is None
    assert record["hangup_by"] == "caller"
    assert record["talk_s"] in (None, 0)
    assert record["ivr_choice"] == "1"
    assert record["linkedid"] == cdr[0]["linkedid"]
    assert cdr[0]["disposition"] == "ANSWERED"  # the IVR answered it
