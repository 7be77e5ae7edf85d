"""Faults on a real Asterisk 22: the service down while calls arrive (the dialplan's degraded
path runs the classic pyst2 AGI script from the instance's agi-bin), the service started
again, the AMI connection cut mid-call and Asterisk restarted mid-traffic. Every call must be
stored exactly once, as Asterisk's own queue_log and CDR tell it.

One Asterisk for the module; each test has its own database, kept across the service's
restarts within the test.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from hotline.service import HotlineService
from hotline.settings import Settings
from tests.pbx.asterisk import Asterisk
from tests.pbx.conftest import pbx_settings
from tests.pbx.pbx_logs import channel_var
from tests.pbx.test_calls import (
    audio_bytes,
    cdr_rows,
    cli,
    close,
    entered,
    lines_of,
    until,
)

pytestmark = pytest.mark.pbx

AGENT = "Local/1@robot-agent/n"
QUEUE = "hotline-general"


class Service:
    """The real service in-process, on one database that outlives its restarts."""

    def __init__(self, settings: dict[str, Any], data: Path) -> None:
        self.settings = {**settings, "database": pbx_settings(Path("/"), 0, 0, data)["database"]}
        self.running: HotlineService | None = None

    async def start(self) -> HotlineService:
        svc = self.running = HotlineService(Settings.model_validate(self.settings))
        await svc.start(web_enabled=False)
        assert svc.link is not None
        await svc.link.wait_connected(timeout=20)
        await until(lambda: not svc.catching_up, 20, "the first resync")
        return svc

    async def stop(self) -> None:
        if self.running is not None:
            await self.running.stop()
            self.running = None

    async def records(self) -> list[dict[str, Any]]:
        """Every stored record (a fresh store on the same database: as an operator sees it)."""
        from datetime import UTC, datetime

        from ticketing.store import TicketStore

        svc = self.running
        assert svc is not None and svc.store is not None and svc.writer is not None
        await svc.writer.flush(timeout=10)
        store: TicketStore = svc.store
        return await store.calls_between(
            datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
        )

    async def record_of(self, uniqueid: str, timeout: float = 30) -> dict[str, Any]:  # noqa: ASYNC109
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = [r for r in await self.records() if r["uniqueid"] == uniqueid]
            if found:
                assert len(found) == 1, f"{uniqueid} stored {len(found)} times"
                return found[0]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no stored record for {uniqueid}")
            await asyncio.sleep(0.1)


@pytest.fixture
async def service(pbx: tuple[Asterisk, dict[str, Any]], tmp_path: Path) -> Any:
    _, settings = pbx
    svc = Service(settings, tmp_path)
    try:
        yield svc
    finally:
        await svc.stop()


def channels(text: str) -> list[list[str]]:
    """`core show channels concise`: channel!context!exten!prio!state!app!data!…!uniqueid."""
    return [line.split("!") for line in text.splitlines() if "!" in line]


async def hotline_side(ast: Asterisk, caller: str, app: str) -> list[str] | None:
    """The caller's hotline-side channel (Local ;2 half) while it runs ``app``, answered."""
    for chan in channels(await cli(ast, "core show channels concise")):
        if chan[0].startswith(f"Local/{caller}@robot-dial-") and chan[0].endswith(";2"):
            if chan[5] == app and chan[4] == "Up":
                return chan
    return None


async def await_side(ast: Asterisk, caller: str, app: str, timeout: float = 30) -> list[str]:  # noqa: ASYNC109
    """The caller's hotline side once it is answered and runs ``app`` (an unanswered channel
    leaves no CDR: cdr.conf's unanswered = no)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (chan := await hotline_side(ast, caller, app)) is None:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{caller} never ran {app}")
        await asyncio.sleep(0.05)
    return chan


async def dial(ast: Asterisk, caller: str, robot: str = "wait") -> None:
    await cli(ast, f"channel originate Local/{caller}@robot-dial/n extension {robot}@robot-caller")


async def hang_up(ast: Asterisk, caller: str) -> None:
    for chan in channels(await cli(ast, "core show channels concise")):
        if chan[0].startswith(f"Local/{caller}@robot-dial-") and chan[0].endswith(";1"):
            await cli(ast, f"channel request hangup {chan[0]}")


async def add_agent(ast: Asterisk) -> None:
    await cli(ast, "devstate change Custom:agent1 NOT_INUSE")
    await cli(
        ast,
        f"queue add member {AGENT} to {QUEUE} penalty 0 as agent1 state_interface Custom:agent1",
    )


async def remove_agent(ast: Asterisk) -> None:
    if "agent1" in await cli(ast, f"queue show {QUEUE}"):
        await cli(ast, f"queue remove member {AGENT} from {QUEUE}")


def ended(ast: Asterisk, callid: str) -> str | None:
    """The queue_log event that closed a call's queue visit, once there is one."""
    for event in ("COMPLETEAGENT", "COMPLETECALLER", "ABANDON", "EXITWITHTIMEOUT"):
        if event in lines_of(ast, callid):
            return event
    return None


async def test_calls_while_the_service_is_down_are_recorded_once_when_it_starts(
    pbx: tuple[Asterisk, dict[str, Any]], service: Service
) -> None:
    """The service is down (an empty store: it never stored a call): the fallback script
    routes the calls; started again, it records each call of the gap exactly once, marked
    recovered, with what Asterisk left: queue_log, CDR and the recording."""
    ast, _ = pbx
    await remove_agent(ast)
    await add_agent(ast)
    try:
        # 1. hangs up during the fallback greeting: only its CDR tells of it
        await dial(ast, "13900003001")
        gone = await await_side(ast, "13900003001", "AGI")
        assert "hotline_fallback.py" in gone[6]
        await hang_up(ast, "13900003001")
        # 2. routed by the fallback script, answered by agent1, recorded, over while down
        await dial(ast, "13900003002")
        answered = await until(lambda: entered(ast, "13900003002"), 60, "2nd call queued")
        await until(lambda: ended(ast, answered), 60, "the 2nd call's end")
        # 3. routed while down, still waiting in the queue when the service starts
        await remove_agent(ast)
        await dial(ast, "13900003003")
        waiting = await until(lambda: entered(ast, "13900003003"), 60, "3rd call queued")
        cdr_gone = await until(lambda: cdr_rows(ast, gone[13]), 30, "1st call's CDR")
        await until(lambda: cdr_rows(ast, answered), 30, "2nd call's CDR")

        svc = await service.start()
        # the waiting caller is answered now that the service follows again
        await add_agent(ast)
        await until(lambda: ended(ast, waiting), 60, "the 3rd call's end")
        await hang_up(ast, "13900003003")  # rather than sit through the survey
        await until(lambda: cdr_rows(ast, waiting), 30, "3rd call's CDR")

        hung_up = await service.record_of(gone[13])
        first = await service.record_of(answered)
        third = await service.record_of(waiting)
    finally:
        await remove_agent(ast)
    assert svc.link is not None

    # 1: hang-up in the IVR, from its CDR
    assert hung_up["outcome"] == "ivr_hangup"
    assert hung_up["recovered"] is True
    assert hung_up["caller_num"] == "13900003001"
    assert hung_up["linkedid"] == cdr_gone[0]["linkedid"]

    # 2 and 3: queue_log's numbers, CDR's linkedid, the fallback route, the recording
    for record, callid in ((first, answered), (third, waiting)):
        log = lines_of(ast, callid)
        end = ended(ast, callid)
        assert end is not None
        connect = log["CONNECT"]
        assert record["outcome"] == "answered"
        assert record["queue"] == QUEUE
        assert record["answered_by"] == connect[3] == "agent1"
        assert record["hangup_by"] == {"COMPLETEAGENT": "agent", "COMPLETECALLER": "caller"}[end]
        close(record["wait_s"], int(connect[5]), "wait")
        close(record["talk_s"], int(log[end][6]), "talk")
        assert record["caller_num"] == record["caller_num"]
        assert record["caller_name"] == "robot"
        assert record["ivr_choice"] == "fallback"
        assert record["priority"] == 0
        assert record["linkedid"] == cdr_rows(ast, callid)[0]["linkedid"] != callid
        recording = ast.monitor_dir / f"hotline-{callid}.wav"
        assert record["recording"] == str(recording)
        assert audio_bytes(recording) > 0
    assert first["recovered"] is True
    assert first["caller_num"] == "13900003002"
    assert third["caller_num"] == "13900003003"


class AmiCutter:
    """A TCP relay between the service and Asterisk's AMI: ``cut()`` closes every
    connection and refuses new ones (the service's link retries meanwhile) until
    ``restore()``. A real cut of the socket, held as long as the test needs."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.open = True
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def cut(self) -> None:
        self.open = False
        for writer in list(self._writers):
            writer.transport.abort()

    def restore(self) -> None:
        self.open = True

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def test_ami_cut_mid_call_loses_nothing_the_call_did_meanwhile(
    pbx: tuple[Asterisk, dict[str, Any]], tmp_path: Path
) -> None:
    """The AMI connection is cut while the caller is in the IVR menu: the key press, the
    route, MixMonitor, the queue and the answer all happen unseen. Another caller begins
    and ends inside the cut. Back on line, both records say what Asterisk says."""
    ast, settings = pbx
    cutter = AmiCutter(settings["ami"]["port"])
    await cutter.start()
    service = Service({**settings, "ami": {**settings["ami"], "port": cutter.port}}, tmp_path)
    await remove_agent(ast)
    await add_agent(ast)
    try:
        svc = await service.start()
        assert svc.link is not None
        link = svc.link
        await cli(
            ast, "channel originate Local/13900004001@robot-dial/n extension press-1@robot-caller"
        )
        await until(
            lambda: any(c.get("caller_num") == "13900004001" for c in svc.tracker.active_calls()),
            30,
            "the service to follow the first call",
        )
        # the IVR's main menu: the caller presses 1 a moment later
        await await_side(ast, "13900004001", "AGI")
        cutter.cut()
        await until(lambda: not link.connected, 20, "the link to notice the cut")
        first = await until(lambda: entered(ast, "13900004001"), 60, "1st call queued")
        await until(lambda: "CONNECT" in lines_of(ast, first), 60, "1st call answered")
        # a second caller, wholly inside the cut: answered by agent1 once it is free
        await until(lambda: ended(ast, first), 60, "the 1st call's talk to end")
        await dial(ast, "13900004002", "press-1")
        second = await until(lambda: entered(ast, "13900004002"), 60, "2nd call queued")
        await until(lambda: ended(ast, second), 60, "the 2nd call's end")
        await hang_up(ast, "13900004002")
        await until(lambda: cdr_rows(ast, second), 30, "2nd call's CDR")
        # a third, inside the cut too, presses 2 (the help menu) and hangs up there
        await dial(ast, "13900004003", "keys-2")
        side = await await_side(ast, "13900004003", "AGI")
        third, third_uid = side[0], side[13]
        await until_async(
            lambda: channel_var(ast, third, "HOTLINE_PATH"),
            "welcome,main,help",
            30,
            "the 3rd caller in the help menu",
        )
        await hang_up(ast, "13900004003")
        await until(lambda: cdr_rows(ast, third_uid), 30, "3rd call's CDR")
        # the first caller is still on the line (in the survey) when the link comes back
        cutter.restore()
        await until(lambda: link.connected and not svc.catching_up, 30, "the link back")
        await hang_up(ast, "13900004001")
        await until(lambda: cdr_rows(ast, first), 30, "1st call's CDR")
        records = {uid: await service.record_of(uid) for uid in (first, second)}
        in_menu = await service.record_of(third_uid)
    finally:
        await remove_agent(ast)
        await service.stop()
        await cutter.close()

    for callid, record in records.items():
        log = lines_of(ast, callid)
        end = ended(ast, callid)
        assert end in ("COMPLETEAGENT", "COMPLETECALLER")
        assert record["outcome"] == "answered"
        assert record["answered_by"] == log["CONNECT"][3] == "agent1"
        close(record["wait_s"], int(log["CONNECT"][5]), "wait")
        close(record["talk_s"], int(log[end][6]), "talk")
        assert record["ivr_choice"] == "1"
        assert record["ivr_digits"] == "1"
        assert record["caller_name"] == "robot"
        assert record["linkedid"] == cdr_rows(ast, callid)[0]["linkedid"] != callid
        recording = ast.monitor_dir / f"hotline-{callid}.wav"
        assert record["recording"] == str(recording)
        assert audio_bytes(recording) > 0
        assert record["recovered"] is True
    # hung up in the IVR while nobody listened: the dialplan's h extension put the keys and
    # the path in the CDR's userfield, which is all that is left of them
    (row,) = cdr_rows(ast, third_uid)
    assert "HOTLINE_DIGITS=2&" in row["userfield"], row
    assert (in_menu["outcome"], in_menu["recovered"]) == ("ivr_hangup", True)
    assert in_menu["ivr_digits"] == "2"
    assert in_menu["ivr_path"] == ["welcome", "main", "help"]
    assert in_menu["linkedid"] == row["linkedid"]


async def until_async(
    read: Callable[[], Awaitable[str | None]],
    want: str,
    timeout: float,  # noqa: ASYNC109
    what: str,
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while await read() != want:
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def restart_asterisk(ast: Asterisk) -> None:
    """`core restart now`: every channel is hung up and Asterisk runs again in the same
    process (the test's Popen); its control socket comes back once it is up."""
    ctl = ast.root / "run" / "asterisk.ctl"
    await cli(ast, "core restart now")
    await until(lambda: not ctl.exists(), 30, "Asterisk to go down")

    async def booted() -> bool:
        try:
            await asyncio.to_thread(ast.cli, "core waitfullybooted", 5)
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            return False
        return True

    deadline = asyncio.get_running_loop().time() + 60
    while not await booted():
        assert ast.process.poll() is None, "Asterisk exited instead of restarting"
        assert asyncio.get_running_loop().time() < deadline, "Asterisk did not come back"
        await asyncio.sleep(0.2)


async def test_asterisk_restarted_mid_traffic(
    pbx: tuple[Asterisk, dict[str, Any]], service: Service
) -> None:
    """Asterisk restarts while a caller waits in the queue: the service records that call
    once, as queue_log closed it, and follows the new Asterisk's calls."""
    ast, _ = pbx
    await remove_agent(ast)
    try:
        svc = await service.start()
        assert svc.link is not None
        link = svc.link
        await dial(ast, "13900005001", "press-1")
        waiting = await until(lambda: entered(ast, "13900005001"), 60, "the caller queued")
        await until(
            lambda: any(c["uniqueid"] == waiting for c in svc.tracker.active_calls()),
            30,
            "the service to follow the caller",
        )
        await restart_asterisk(ast)
        await until(lambda: link.connected and not svc.catching_up, 60, "the link back")
        cut_off = await service.record_of(waiting)
        # the new Asterisk's calls are followed as before
        await add_agent(ast)
        await dial(ast, "13900005002", "press-1")
        after = await until(lambda: entered(ast, "13900005002"), 60, "a call after")
        await until(lambda: ended(ast, after), 60, "its end")
        await hang_up(ast, "13900005002")
        await until(lambda: cdr_rows(ast, after), 30, "its CDR")
        answered = await service.record_of(after)
    finally:
        await remove_agent(ast)

    log = lines_of(ast, waiting)
    assert "ABANDON" in log, log
    assert cut_off["outcome"] == "abandoned"
    assert cut_off["queue"] == QUEUE
    close(cut_off["wait_s"], int(log["ABANDON"][7]), "wait")
    assert cut_off["ivr_choice"] == "1"
    assert cut_off["linkedid"] == cdr_rows(ast, waiting)[0]["linkedid"]
    assert answered["outcome"] == "answered" and answered["answered_by"] == "agent1"
    assert answered["linkedid"] == cdr_rows(ast, after)[0]["linkedid"]
    assert answered["recording"] == str(ast.monitor_dir / f"hotline-{after}.wav")
