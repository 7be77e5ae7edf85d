"""The AMI actions an agent's desk sends, each awaited with a timeout.

Every action is sent on the PBX's one AMI link and waits for its response; a refusal
(``Response: Error``), a silence past the timeout or a link that is down raises
`AgentActionFailed` with one line meant for the person who clicked (the desk shows it as
is). Nothing here is a silent no-op.

What each sends, as Asterisk 22 takes it (the member_ops capture):

- login: ``QueueAdd`` per skill queue (Interface, Penalty, MemberName, StateInterface,
  Paused/Reason); "Already there" counts as done (a static member, a second click).
- logout: ``QueueRemove`` per queue it is a dynamic member of; "Not there" counts as done.
- pause / unpause: one ``QueuePause`` without Queue (every queue: queue_log gets PAUSEALL
  and a PAUSE per queue, with the reason verbatim).
- originate: ``Originate`` (Async) of the agent's phone into a dialplan context and exten;
  returns the ``OriginateResponse`` (Success with Reason 4 = the agent answered).
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from acd.ami.link import AmiActionTimeout, AmiError, AmiLink
from acd.ami.message import AmiMessage

LinkOf = Callable[[], AmiLink | None]

# Asterisk's OriginateResponse Reason codes (AST_CONTROL_*): what became of the first leg.
ORIGINATE_REASONS = {
    "0": "failed (no such channel or device)",
    "1": "hung up",
    "3": "not answered",
    "4": "answered",
    "5": "busy",
    "8": "congestion",
}


class AgentActionFailed(Exception):
    """One line for the person who clicked: what failed and why."""

    def __init__(self, message: str, *, kind: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        # refused (the PBX said no), timeout (no answer in time), unavailable (link down)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Skill:
    queue: str
    penalty: int = 0


@dataclass(frozen=True, slots=True)
class Member:
    """How the agent's phone sits in the queues."""

    interface: str
    name: str
    state_interface: str | None = None


@dataclass(frozen=True, slots=True)
class OriginateResult:
    ok: bool
    reason: str  # the Reason code
    text: str  # ORIGINATE_REASONS' words
    uniqueid: str | None
    channel: str | None


class MemberActions:
    """Member actions on one PBX's link (``link_of()``: the feed's current link or None)."""

    def __init__(self, link_of: LinkOf, *, timeout: float = 10.0) -> None:
        self._link_of = link_of
        self.timeout = timeout
        self._originates: dict[str, asyncio.Future[AmiMessage]] = {}
        # Agent channel uniqueid → the DialStatus of its Dial to the citizen (call-backs).
        self._dials: dict[str, asyncio.Future[str]] = {}
        self._ids = itertools.count(1)
        self._prefix = f"orig-{secrets.token_hex(3)}-"

    def _link(self, what: str) -> AmiLink:
        link = self._link_of()
        if link is None or not link.connected:
            raise AgentActionFailed(f"{what}: the PBX is not connected", kind="unavailable")
        return link

    async def _send(self, what: str, fields: list[tuple[str, str]], *ok: str) -> AmiMessage:
        link = self._link(what)
        try:
            response = await link.send_action(fields, timeout=self.timeout)
        except AmiActionTimeout:
            raise AgentActionFailed(
                f"{what}: no answer from the PBX within {self.timeout:g} s", kind="timeout"
            ) from None
        except AmiError as error:
            raise AgentActionFailed(f"{what}: {error}", kind="unavailable") from None
        message = response.get("Message") or response.name
        if response.name != "Success" and not any(word in message for word in ok):
            raise AgentActionFailed(f"{what}: {message}")
        return response

    async def login(
        self, member: Member, skills: Iterable[Skill], *, paused: bool = False, reason: str = ""
    ) -> None:
        for skill in skills:
            fields = [
                ("Action", "QueueAdd"),
                ("Queue", skill.queue),
                ("Interface", member.interface),
                ("Penalty", str(skill.penalty)),
                ("Paused", "true" if paused else "false"),
            ]
            if paused and reason:
                fields.append(("Reason", reason))
            fields.append(("MemberName", member.name))
            if member.state_interface:
                fields.append(("StateInterface", member.state_interface))
            await self._send(f"log in to {skill.queue}", fields, "Already there")

    async def logout(self, member: Member, queues: Iterable[str]) -> None:
        for queue in queues:
            fields = [("Action", "QueueRemove"), ("Queue", queue), ("Interface", member.interface)]
            await self._send(f"log out of {queue}", fields, "Not there")

    async def pause(self, member: Member, reason: str) -> None:
        await self._send(
            f"pause ({reason})",
            [
                ("Action", "QueuePause"),
                ("Interface", member.interface),
                ("Paused", "true"),
                ("Reason", reason),
            ],
        )

    async def unpause(self, member: Member, reason: str = "") -> None:
        fields = [("Action", "QueuePause"), ("Interface", member.interface), ("Paused", "false")]
        if reason:
            fields.append(("Reason", reason))
        await self._send("ready", fields)

    async def originate(
        self,
        member: Member,
        *,
        context: str,
        exten: str,
        caller_id: str,
        ring_s: float,
        variables: dict[str, str] | None = None,
    ) -> OriginateResult:
        """Ring the agent's phone; once answered, Asterisk runs ``exten@context`` on it.

        Waits for the OriginateResponse (up to ring time + the action timeout), which the
        feed hands to `on_call_event` (wired as the agent board's ``on_call_event``).
        """
        what = f"call {exten}"
        action_id = f"{self._prefix}{next(self._ids)}"
        waiter: asyncio.Future[AmiMessage] = asyncio.get_running_loop().create_future()
        self._originates[action_id] = waiter
        fields = [
            ("Action", "Originate"),
            ("ActionID", action_id),
            ("Channel", member.interface),
            ("Context", context),
            ("Exten", exten),
            ("Priority", "1"),
            ("CallerID", caller_id),
            ("Timeout", str(int(ring_s * 1000))),
            ("Async", "true"),
        ]
        fields += [("Variable", f"{k}={v}") for k, v in (variables or {}).items()]
        try:
            await self._send(what, fields)
            try:
                async with asyncio.timeout(ring_s + self.timeout):
                    event = await waiter
            except TimeoutError:
                raise AgentActionFailed(
                    f"{what}: the PBX did not report the call within {ring_s + self.timeout:g} s",
                    kind="timeout",
                ) from None
        finally:
            self._originates.pop(action_id, None)
        reason = event.get("Reason") or ""
        return OriginateResult(
            ok=event.get("Response") == "Success",
            reason=reason,
            text=ORIGINATE_REASONS.get(reason, f"reason {reason}"),
            uniqueid=event.get("Uniqueid") or None,
            channel=event.get("Channel") or None,
        )

    def on_call_event(self, msg: AmiMessage) -> None:
        """OriginateResponse and DialEnd events of the PBX (every DialEnd: keep it cheap)."""
        if msg.name == "DialEnd":
            dial = self._dials.get(msg.get("Uniqueid") or "")
            if dial is not None and not dial.done():
                dial.set_result(msg.get("DialStatus") or "")
            return
        waiter = self._originates.get(msg.get("ActionID") or "")
        if waiter is None or waiter.done():
            return
        waiter.set_result(msg)
        uniqueid = msg.get("Uniqueid")
        if msg.get("Response") == "Success" and uniqueid:
            # The agent answered: its channel now dials the citizen; watch for how that ends
            # from this moment on, so a quick DialEnd is not missed.
            self._dials[uniqueid] = asyncio.get_running_loop().create_future()

    async def dial_outcome(self, uniqueid: str, timeout: float) -> str | None:  # noqa: ASYNC109
        """The DialStatus (ANSWER, BUSY, NOANSWER, CONGESTION, CHANUNAVAIL…) of the citizen's
        leg of an originated call; None if no DialEnd came within ``timeout``."""
        dial = self._dials.get(uniqueid)
        if dial is None:
            return None
        try:
            async with asyncio.timeout(timeout):
                return await dial
        except TimeoutError:
            return None
        finally:
            self._dials.pop(uniqueid, None)


__all__ = [
    "ORIGINATE_REASONS",
    "AgentActionFailed",
    "Member",
    "MemberActions",
    "OriginateResult",
    "Skill",
]
