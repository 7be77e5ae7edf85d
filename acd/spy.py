"""Listen (监听), whisper (密语) and barge (强插) on an agent's call, and the log of each use.

The supervisor's own phone is rung with ``Originate`` straight into ``ChanSpy`` on the
agent's channel (the AgentConnect DestChannel), as the spy_and_record capture does it.
ChanSpy's options (apps/app_chanspy.c of Asterisk 22):

- ``q``: no beep, no channel name spoken — the agent and caller hear nothing of it;
- ``w``: whisper, the spy talks to the spied-on channel (the agent) only;
- ``B``: barge, the spy talks to both channels of the call;
- ``E``: ChanSpy exits when the spied-on channel hangs up (the supervisor's call ends with
  the agent's);
- ``d``: DTMF switches modes inside the running ChanSpy: 4 listen, 5 whisper, 6 barge.

Switching modes is done on the phone (``d``), not by a new Originate: the supervisor is
already holding the phone, the switch is at once and nothing rings again. AMI shows the key
as a DTMFEnd on the spyer channel, so every switch ends one logged segment and opens the next.

Every use goes to the log port (``SpyLog``: ticketing's spy_sessions table in the service):
who, whom, which call, mode, start, end — the end from ``ChanSpyStop`` or, if ChanSpy never
ran, the spyer's ``Hangup`` or a failed OriginateResponse. The log is written by one worker in
event order, off the AMI path (``handle`` is synchronous and does no I/O).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from acd.agents.actions import ORIGINATE_REASONS, AgentActionFailed
from acd.ami.link import AmiActionTimeout, AmiError, AmiLink
from acd.ami.message import AmiMessage

log = logging.getLogger(__name__)

# Mode → ChanSpy options (see the module docstring).
OPTIONS: dict[str, str] = {"listen": "qEd", "whisper": "qwEd", "barge": "qBEd"}
# ChanSpy's ``d`` keys.
DTMF_MODES: dict[str, str] = {"4": "listen", "5": "whisper", "6": "barge"}

LinkOf = Callable[[], AmiLink | None]


class SpyLogPort(Protocol):
    """Where every use is recorded (ticketing.spy_log.SpyLog in the service)."""

    async def open(
        self,
        *,
        supervisor: str,
        pbx: str,
        agent_interface: str,
        agent_name: str | None,
        linkedid: str | None,
        spyee_channel: str,
        mode: str,
        at: datetime,
    ) -> int: ...

    async def set_spyer(self, session_id: int, channel: str) -> None: ...

    async def end(self, session_id: int, at: datetime, reason: str) -> bool: ...

    async def switch(self, session_id: int, mode: str, at: datetime) -> int: ...


@dataclass(frozen=True, slots=True)
class SpyTarget:
    """Whose call: the agent (interface, display name) and its channel in the call."""

    agent_interface: str
    agent_name: str | None
    channel: str  # the agent's channel (AgentConnect DestChannel): what ChanSpy spies on
    linkedid: str | None  # the spied call


@dataclass(slots=True)
class _Session:
    row: int  # the current segment's log row
    supervisor: str
    target: SpyTarget
    mode: str
    action_id: str
    spyer: str | None = None
    spying: bool = False
    ended: bool = False


class Spy:
    """Spy sessions on one PBX's link. ``handle`` takes the AMI events in ``wanted``."""

    wanted = frozenset({"OriginateResponse", "ChanSpyStart", "ChanSpyStop", "Hangup", "DTMFEnd"})

    def __init__(
        self,
        link_of: LinkOf,
        spy_log: SpyLogPort,
        *,
        pbx: str = "pbx1",
        timeout: float = 10.0,
        ring_s: float = 30.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._link_of = link_of
        self._log = spy_log
        self.pbx = pbx
        self.timeout = timeout
        self.ring_s = ring_s
        self._clock = clock or (lambda: datetime.now(UTC).timestamp())
        self._by_action: dict[str, _Session] = {}
        self._by_spyer: dict[str, _Session] = {}
        self._ids = itertools.count(1)
        self._prefix = f"spy-{secrets.token_hex(3)}-"
        self._work: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # ---- the log, in event order ---------------------------------------------------------------

    def _later(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._drain(), name="spy-log")
        self._work.put_nowait(work)

    async def _drain(self) -> None:
        while True:
            work = await self._work.get()
            try:
                await work()
            except Exception:
                # The log is the audit trail: a failed write is loud, never silent.
                log.exception("spy log: a write failed")
            finally:
                self._work.task_done()

    async def flush(self) -> None:
        """Wait until every log write so far is done (tests, shutdown)."""
        await self._work.join()

    def close(self) -> None:
        """Stop the log worker (the service is stopping; ``flush`` first to keep pending writes)."""
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None

    # ---- start ---------------------------------------------------------------------------------

    def active(self, supervisor: str) -> list[dict[str, Any]]:
        """The supervisor's sessions whose phone call is still on."""
        sessions = {id(s): s for s in (*self._by_action.values(), *self._by_spyer.values())}
        return [
            self._view(s) for s in sessions.values() if s.supervisor == supervisor and not s.ended
        ]

    async def stop(self, supervisor: str) -> int:
        """Hang up the supervisor's phone calls in ChanSpy (AMI Hangup of the spyer channel);
        the ChanSpyStop and Hangup that follow close the log rows. Returns how many."""
        sessions = {id(s): s for s in self._by_spyer.values()}.values()
        mine = [s for s in sessions if s.supervisor == supervisor and not s.ended and s.spyer]
        link = self._link_of()
        if mine and (link is None or not link.connected):
            raise AgentActionFailed("stop spying: the PBX is not connected", kind="unavailable")
        for session in mine:
            assert link is not None and session.spyer is not None
            try:
                await link.send_action(
                    [("Action", "Hangup"), ("Channel", session.spyer)], timeout=self.timeout
                )
            except (AmiActionTimeout, AmiError) as error:
                raise AgentActionFailed(f"stop spying: {error}", kind="timeout") from None
        return len(mine)

    @staticmethod
    def _view(session: _Session) -> dict[str, Any]:
        return {
            "id": session.row,
            "mode": session.mode,
            "agent": session.target.agent_name,
            "linkedid": session.target.linkedid,
            "spying": session.spying,
        }

    async def start(
        self, supervisor: str, phone: str, caller_id: str, target: SpyTarget, mode: str
    ) -> dict[str, Any]:
        """Ring ``phone`` (the supervisor's own interface) into ChanSpy on the agent's channel.

        Returns once the PBX queued the call (the phone rings); the log row is open from now.
        `AgentActionFailed` when the link is down, the PBX refuses or is silent."""
        if mode not in OPTIONS:
            raise ValueError(f"unknown spy mode {mode!r}")
        link = self._link_of()
        if link is None or not link.connected:
            raise AgentActionFailed("spy: the PBX is not connected", kind="unavailable")
        row = await self._log.open(
            supervisor=supervisor,
            pbx=self.pbx,
            agent_interface=target.agent_interface,
            agent_name=target.agent_name,
            linkedid=target.linkedid,
            spyee_channel=target.channel,
            mode=mode,
            at=self._now(),
        )
        action_id = f"{self._prefix}{next(self._ids)}"
        session = _Session(row, supervisor, target, mode, action_id)
        self._by_action[action_id] = session
        fields = [
            ("Action", "Originate"),
            ("ActionID", action_id),
            ("Channel", phone),
            ("Application", "ChanSpy"),
            ("Data", f"{target.channel},{OPTIONS[mode]}"),
            ("CallerID", caller_id),
            ("Timeout", str(int(self.ring_s * 1000))),
            ("Async", "true"),
        ]
        try:
            response = await link.send_action(fields, timeout=self.timeout)
        except (AmiActionTimeout, AmiError) as error:
            kind = "timeout" if isinstance(error, AmiActionTimeout) else "unavailable"
            await self._fail(session, f"no answer from the PBX: {error}")
            raise AgentActionFailed(f"spy: {error}", kind=kind) from None
        if response.name != "Success":
            message = response.get("Message") or response.name
            await self._fail(session, f"refused: {message}")
            raise AgentActionFailed(f"spy: {message}")
        return self._view(session)

    async def _fail(self, session: _Session, reason: str) -> None:
        session.ended = True
        self._by_action.pop(session.action_id, None)
        await self._log.end(session.row, self._now(), reason[:64])

    # ---- AMI events ----------------------------------------------------------------------------

    def handle(self, msg: AmiMessage) -> None:
        name = msg.name
        if name != "OriginateResponse" and not self._by_spyer:
            # No spy call up: a Hangup (every channel's, on the AMI ingest's hot path) or a
            # key press cannot be one of ours; looking its Channel up would index the frame.
            return
        if name == "OriginateResponse":
            self._originated(msg)
        elif name in ("ChanSpyStart", "ChanSpyStop"):
            session = self._by_spyer.get(msg.get("SpyerChannel") or "")
            if session is None:
                return
            if name == "ChanSpyStart":
                session.spying = True
            else:
                self._end(session, "ChanSpyStop")
        elif name == "DTMFEnd":
            session = self._by_spyer.get(msg.get("Channel") or "")
            mode = DTMF_MODES.get(msg.get("Digit") or "")
            if session is None or mode is None or session.ended or not session.spying:
                return
            if msg.get("Direction", "Received") != "Received" or mode == session.mode:
                return
            self._switch(session, mode)
        elif name == "Hangup":
            session = self._by_spyer.pop(msg.get("Channel") or "", None)
            if session is not None:
                self._end(session, "Hangup")

    def _switch(self, session: _Session, mode: str) -> None:
        session.mode = mode
        at = self._now()

        async def switch() -> None:
            # Runs after every earlier write: the row it closes is the current segment's.
            session.row = await self._log.switch(session.row, mode, at)

        self._later(switch)

    def _originated(self, msg: AmiMessage) -> None:
        session = self._by_action.pop(msg.get("ActionID") or "", None)
        if session is None:
            return
        channel = msg.get("Channel") or ""
        if msg.get("Response") == "Success" and channel:
            session.spyer = channel
            self._by_spyer[channel] = session
            row = session.row
            self._later(lambda: self._log.set_spyer(row, channel))
            return
        reason = msg.get("Reason") or ""
        text = ORIGINATE_REASONS.get(reason, f"reason {reason}")
        self._end(session, f"phone {text}")

    def _end(self, session: _Session, reason: str) -> None:
        if session.ended:
            return
        session.ended = True
        at = self._now()

        async def end() -> None:
            await self._log.end(session.row, at, reason)

        self._later(end)
