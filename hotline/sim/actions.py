"""The AMI actions the simulated PBX answers, with the texts and shapes of the captures.

``PbxActions(pbx).handle(msg)`` answers one action synchronously (tests, replay);
``attach(pbx, server)`` registers every action on an ``AmiServer`` and pipes the PBX's events
to the server's clients in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from acd.ami.message import AmiMessage

from .channels import channel_block
from .emitter import AGENT, CALL
from .model import CallerScript, MemberConfig
from .pbx import Member, Pbx, QueueState
from .phone_calls import originate_from_phone
from .spy_calls import hang_up_spy, originate_spy

# SendDTMF + the first Playtones of the caller robot before its ROBOT_HOLD wait starts.
ROBOT_SENDDTMF_S = 0.45

Handler = Callable[[AmiMessage], list[AmiMessage]]

log = logging.getLogger(__name__)


class ActionServer(Protocol):
    def register_action(
        self, name: str, handler: Callable[[AmiMessage], Awaitable[list[AmiMessage]]]
    ) -> None: ...

    async def broadcast(self, msg: AmiMessage) -> None: ...


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _response(status: str, **headers: str) -> AmiMessage:
    return AmiMessage([("Response", status), ("ActionID", ""), *headers.items()])


def _list_start(message: str) -> AmiMessage:
    return AmiMessage(
        [("Response", "Success"), ("ActionID", ""), ("EventList", "start"), ("Message", message)]
    )


def _list_complete(name: str, items: int) -> AmiMessage:
    return AmiMessage(
        [("Event", name), ("ActionID", ""), ("EventList", "Complete"), ("ListItems", str(items))]
    )


def _hms(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class PbxActions:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.handlers: dict[str, Handler] = {
            "Ping": self.ping,
            "CoreShowChannels": self.core_show_channels,
            "QueueStatus": self.queue_status,
            "QueueSummary": self.queue_summary,
            "QueuePause": self.queue_pause,
            "QueueAdd": self.queue_add,
            "QueueRemove": self.queue_remove,
            "QueuePenalty": self.queue_penalty,
            "BlindTransfer": self.blind_transfer,
            "Originate": self.originate,
            "Redirect": self.redirect,
            "Getvar": self.getvar,
            "Hangup": self.hangup,
        }

    def handle(self, msg: AmiMessage) -> list[AmiMessage]:
        name = msg.get("Action") or ""
        for key, handler in self.handlers.items():
            if key.lower() == name.lower():
                return handler(msg)
        return [
            _response(
                "Error",
                Message=f"Invalid/unknown command: {name}. "
                "Use Action: ListCommands to show available commands.",
            )
        ]

    # ---- status --------------------------------------------------------------------------

    def ping(self, msg: AmiMessage) -> list[AmiMessage]:
        return [_response("Success", Ping="Pong", Timestamp=f"{self.pbx.now:.6f}")]

    def core_show_channels(self, msg: AmiMessage) -> list[AmiMessage]:
        now = self.pbx.now
        items = []
        # Asterisk lists the newest channels first.
        for ch in reversed(list(self.pbx.channels.values())):
            items.append(
                AmiMessage(
                    [
                        ("Event", "CoreShowChannel"),
                        ("ActionID", ""),
                        *channel_block(ch),
                        ("Application", ch.app),
                        ("ApplicationData", ch.appdata),
                        ("Duration", _hms(now - ch.created)),
                        ("BridgeId", ch.bridge_id),
                    ]
                )
            )
        return [
            _list_start("Channels will follow"),
            *items,
            _list_complete("CoreShowChannelsComplete", len(items)),
        ]

    def getvar(self, msg: AmiMessage) -> list[AmiMessage]:
        """A channel's variable, answered as Asterisk 22's manager.c action_getvar does:
        ``Variable``/``Value`` after Success (an unset one has an empty Value); the channel
        by name or uniqueid; a function (``CHANNEL(language)``) read, not looked up."""
        name = msg.get("Variable") or ""
        if not name:
            return [_response("Error", Message="No variable specified")]
        wanted = msg.get("Channel") or ""
        ch = None
        if wanted:
            ch = self.pbx.channels.get(wanted) or next(
                (c for c in self.pbx.channels.values() if c.uniqueid == wanted), None
            )
            if ch is None or not ch.alive:
                return [_response("Error", Message="No such channel")]
        value = ""
        if ch is not None:
            if name == "CHANNEL(language)":
                value = ch.language
            elif not name.endswith(")"):
                value = ch.variables.get(name, "")
        return [_response("Success", Variable=name, Value=value)]

    def _queue_params(self, q: QueueState) -> AmiMessage:
        done = q.completed
        answered = done
        offered = done + q.abandoned
        perf = 100.0 * q.within_sl / answered if answered else 0.0
        perf2 = 100.0 * q.within_sl / offered if offered else 0.0
        return AmiMessage(
            [
                ("Event", "QueueParams"),
                ("Queue", q.name),
                ("Max", "0"),
                ("Strategy", q.config.strategy),
                ("Calls", str(len(q.waiting))),
                ("Holdtime", str(q.holdtime_total // done if done else 0)),
                ("TalkTime", str(q.talktime_total // done if done else 0)),
                ("Completed", str(done)),
                ("Abandoned", str(q.abandoned)),
                ("ServiceLevel", str(q.config.servicelevel)),
                ("ServicelevelPerf", f"{perf:.1f}"),
                ("ServicelevelPerf2", f"{perf2:.1f}"),
                ("Weight", "0"),
                ("ActionID", ""),
            ]
        )

    def _queue_member(self, q: QueueState, m: Member) -> AmiMessage:
        block = dict(self.pbx.member_block(q, m))
        return AmiMessage(
            [
                ("Event", "QueueMember"),
                ("Queue", q.name),
                ("Name", m.name),
                ("Location", m.interface),
                ("StateInterface", m.state_interface),
                ("Membership", m.membership),
                ("Penalty", str(m.penalty)),
                ("CallsTaken", str(m.calls_taken)),
                ("LastCall", str(m.last_call)),
                ("LastPause", str(m.last_pause)),
                ("LoginTime", str(m.login_time)),
                ("InCall", "0"),
                ("Status", block["Status"]),
                ("Paused", block["Paused"]),
                ("PausedReason", m.paused_reason),
                ("Wrapuptime", "0"),
                ("ActionID", ""),
            ]
        )

    def queue_status(self, msg: AmiMessage) -> list[AmiMessage]:
        wanted_queue = msg.get("Queue")
        wanted_member = msg.get("Member")
        now = self.pbx.now
        items: list[AmiMessage] = []
        for name in sorted(self.pbx.queues):
            if wanted_queue and name != wanted_queue:
                continue
            q = self.pbx.queues[name]
            items.append(self._queue_params(q))
            for m in q.members:
                if wanted_member and m.interface != wanted_member:
                    continue
                items.append(self._queue_member(q, m))
            for pos, entry in enumerate(q.waiting, start=1):
                ch = entry.call.ch2
                items.append(
                    AmiMessage(
                        [
                            ("Event", "QueueEntry"),
                            ("Queue", q.name),
                            ("Position", str(pos)),
                            ("Channel", ch.name),
                            ("Uniqueid", ch.uniqueid),
                            ("CallerIDNum", ch.cid_num),
                            ("CallerIDName", ch.cid_name),
                            ("ConnectedLineNum", ch.conn_num),
                            ("ConnectedLineName", ch.conn_name),
                            ("Wait", str(int(now) - int(entry.joined))),
                            ("Priority", str(entry.prio)),
                            ("ActionID", ""),
                        ]
                    )
                )
        return [
            _list_start("Queue status will follow"),
            *items,
            _list_complete("QueueStatusComplete", len(items)),
        ]

    def queue_summary(self, msg: AmiMessage) -> list[AmiMessage]:
        wanted = msg.get("Queue")
        now = self.pbx.now
        items: list[AmiMessage] = []
        for name in sorted(self.pbx.queues):
            if wanted and name != wanted:
                continue
            q = self.pbx.queues[name]
            done = q.completed
            longest = max((int(now) - int(e.joined) for e in q.waiting), default=0)
            items.append(
                AmiMessage(
                    [
                        ("Event", "QueueSummary"),
                        ("Queue", name),
                        ("LoggedIn", str(len(q.members))),
                        ("Available", str(sum(1 for m in q.members if self.pbx._is_free(m)))),
                        ("Callers", str(len(q.waiting))),
                        ("HoldTime", str(q.holdtime_total // done if done else 0)),
                        ("TalkTime", str(q.talktime_total // done if done else 0)),
                        ("LongestHoldTime", str(longest)),
                        ("ActionID", ""),
                    ]
                )
            )
        return [
            _list_start("Queue summary will follow"),
            *items,
            _list_complete("QueueSummaryComplete", len(items)),
        ]

    # ---- member operations ---------------------------------------------------------------

    def queue_pause(self, msg: AmiMessage) -> list[AmiMessage]:
        pbx = self.pbx
        interface = msg.get("Interface") or ""
        queue = msg.get("Queue")
        paused = _truthy(msg.get("Paused"))
        reason = msg.get("Reason") or ""
        targets = [(q, m) for q, m in pbx.members_of(interface) if not queue or q.name == queue]
        if not interface or not targets:
            return [_response("Error", Message="Interface not found")]
        word = "PAUSE" if paused else "UNPAUSE"
        if not queue:
            pbx.log("NONE", "NONE", targets[0][1].name, f"{word}ALL", reason)
        for q, m in targets:
            m.paused = paused
            m.paused_reason = reason
            if paused:
                m.last_pause = int(pbx.now)
            pbx.log("NONE", q.name, m.name, word, reason)
            pbx.queue_member_event("QueueMemberPause", q, m)
        if not paused:
            pbx.recheck_soon()
        text = "Interface paused successfully" if paused else "Interface unpaused successfully"
        return [_response("Success", Message=text)]

    def queue_add(self, msg: AmiMessage) -> list[AmiMessage]:
        pbx = self.pbx
        qname = msg.get("Queue") or ""
        interface = msg.get("Interface") or ""
        q = pbx.queues.get(qname)
        if q is None:
            return [_response("Error", Message="Unable to add interface to queue: No such queue")]
        if any(m.interface == interface for m in q.members):
            return [_response("Error", Message="Unable to add interface: Already there")]
        paused = _truthy(msg.get("Paused"))
        name = msg.get("MemberName") or interface
        config = MemberConfig(
            name=name,
            interface=interface,
            state_interface=msg.get("StateInterface") or interface,
            queues=[qname],
            penalty=int(msg.get("Penalty") or 0),
            behaviour=pbx.config.default_behaviour,
        )
        existing = pbx.members_of(interface)
        if existing:
            config.behaviour = existing[0][1].behaviour
        member = pbx._add_member(
            q, config, "dynamic", int(pbx.now), paused=paused, reason=msg.get("Reason") or ""
        )
        pbx.log("MANAGER", qname, member.name, "ADDMEMBER", "PAUSED" if paused else "")
        pbx.send("QueueMemberAdded", AGENT, pbx.member_block(q, member))
        pbx.recheck_soon()
        return [_response("Success", Message="Added interface to queue")]

    def queue_remove(self, msg: AmiMessage) -> list[AmiMessage]:
        pbx = self.pbx
        qname = msg.get("Queue") or ""
        interface = msg.get("Interface") or ""
        q = pbx.queues.get(qname)
        if q is None:
            return [
                _response("Error", Message="Unable to remove interface from queue: No such queue")
            ]
        member = next((m for m in q.members if m.interface == interface), None)
        if member is None:
            return [_response("Error", Message="Unable to remove interface: Not there")]
        if member.membership != "dynamic":
            # app_queue.c manager_remove_queue_member: RES_NOT_DYNAMIC.
            return [_response("Error", Message="Member not dynamic")]
        q.members.remove(member)
        pbx.log("MANAGER", qname, member.name, "REMOVEMEMBER", "")
        pbx.send("QueueMemberRemoved", AGENT, pbx.member_block(q, member))
        return [_response("Success", Message="Removed interface from queue")]

    def queue_penalty(self, msg: AmiMessage) -> list[AmiMessage]:
        pbx = self.pbx
        interface = msg.get("Interface") or ""
        queue = msg.get("Queue")
        targets = [(q, m) for q, m in pbx.members_of(interface) if not queue or q.name == queue]
        try:
            penalty = int(msg.get("Penalty") or "")
        except ValueError:
            return [_response("Error", Message="Invalid penalty")]
        if not targets:
            return [_response("Error", Message="Invalid interface, queuename or penalty")]
        for q, m in targets:
            m.penalty = penalty
            # app_queue logs PENALTY with the interface, not the member name.
            pbx.log("NONE", q.name, m.interface, "PENALTY", penalty)
            pbx.send("QueueMemberPenalty", AGENT, pbx.member_block(q, m))
        pbx.recheck_soon()
        return [_response("Success", Message="Interface penalty set successfully")]

    def blind_transfer(self, msg: AmiMessage) -> list[AmiMessage]:
        done = self.pbx.blind_transfer(
            msg.get("Channel") or "", msg.get("Context") or "", msg.get("Exten") or ""
        )
        if not done:
            return [_response("Error", Message="No such channel")]
        return [_response("Success", Message="Transfer succeeded")]

    def redirect(self, msg: AmiMessage) -> list[AmiMessage]:
        done = self.pbx.redirect(
            msg.get("Channel") or "", msg.get("Context") or "", msg.get("Exten") or ""
        )
        if not done:
            return [_response("Error", Message="Redirect failed")]
        return [_response("Success", Message="Redirect successful")]

    def originate(self, msg: AmiMessage) -> list[AmiMessage]:
        """The capture script's call: ``Originate Channel=Local/12345@hotline-ivr/n``.

        The robot variables become the caller's behaviour: ROBOT_DTMF (the key, empty for
        none), ROBOT_DTMF_DELAY (seconds after answer the key is sent), ROBOT_HOLD (seconds
        the phone then stays up before hanging up).
        """
        channel = msg.get("Channel") or ""
        if (msg.get("Application") or "").lower() == "chanspy":
            return self._originate_spy(msg, channel)
        if not channel.startswith("Local/12345@hotline-ivr"):
            return self._originate_phone(msg, channel)
        name, num = parse_callerid(msg.get("CallerID") or "")
        robot = dict(v.split("=", 1) for v in msg.getall("Variable") if "=" in v)
        try:
            delay = float(robot.get("ROBOT_DTMF_DELAY") or 2.5)
            hold = float(robot.get("ROBOT_HOLD") or 60.0)
        except ValueError:
            return [_response("Error", Message="Originate failed")]
        script = CallerScript(
            num or "unknown",
            name or num or "unknown",
            dtmf=robot.get("ROBOT_DTMF") or None,
            # The key lands in GET DATA: the prompt ends ~1.93 s after the answer.
            dtmf_delay=max(0.05, delay + 0.1 - 1.93),
            hangup_after=delay + ROBOT_SENDDTMF_S + hold,
        )
        action_id = msg.get("ActionID") or ""
        self.pbx.scheduler.after(0.0, self._originated, script, action_id)
        return [_response("Success", Message="Originate successfully queued")]

    def _originate_spy(self, msg: AmiMessage, channel: str) -> list[AmiMessage]:
        """A supervisor's phone into ChanSpy (listen / whisper / barge): hotline.sim.spy_calls."""
        try:
            timeout_s = int(msg.get("Timeout") or 30000) / 1000
        except ValueError:
            return [_response("Error", Message="Invalid timeout")]
        data = msg.get("Data") or ""
        if "/" not in channel or not data:
            return [_response("Error", Message="Channel or Data not specified")]
        self.pbx.scheduler.after(
            0.0,
            originate_spy,
            self.pbx,
            channel,
            data,
            parse_callerid(msg.get("CallerID") or ""),
            timeout_s,
            msg.get("ActionID") or "",
        )
        return [_response("Success", Message="Originate successfully queued")]

    def hangup(self, msg: AmiMessage) -> list[AmiMessage]:
        """AMI Hangup of a supervisor's phone in ChanSpy (other channels: not simulated)."""
        if not hang_up_spy(self.pbx, msg.get("Channel") or ""):
            return [_response("Error", Message="No such channel")]
        return [_response("Success", Message="Channel Hungup")]

    def _originate_phone(self, msg: AmiMessage, channel: str) -> list[AmiMessage]:
        """A call from an agent's phone (the call-back list): hotline.sim.phone_calls."""
        try:
            timeout_s = int(msg.get("Timeout") or 30000) / 1000
        except ValueError:
            return [_response("Error", Message="Invalid timeout")]
        if not channel or not msg.get("Context") or not msg.get("Exten"):
            return [_response("Error", Message="Exten not specified")]
        self.pbx.scheduler.after(
            0.0,
            originate_from_phone,
            self.pbx,
            channel,
            msg.get("Context") or "",
            msg.get("Exten") or "",
            timeout_s,
            msg.get("ActionID") or "",
        )
        return [_response("Success", Message="Originate successfully queued")]

    def _originated(self, script: CallerScript, action_id: str) -> None:
        pbx = self.pbx
        truth = pbx.place_call(script)
        ch1 = next((c for c in pbx.channels.values() if c.uniqueid == truth.linkedid), None)
        pbx.send(
            "OriginateResponse",
            CALL,
            [
                ("ActionID", action_id),
                ("Response", "Success"),
                ("Channel", ch1.name if ch1 else ""),
                ("Context", "caller-robot"),
                ("Exten", "s"),
                ("Reason", "4"),
                ("Uniqueid", truth.linkedid),
                ("CallerIDNum", script.caller_num),
                ("CallerIDName", script.caller_name),
            ],
        )


def parse_callerid(value: str) -> tuple[str, str]:
    """``"张三" <13800138001>`` -> (``张三``, ``13800138001``)."""
    value = value.strip()
    if "<" in value and value.endswith(">"):
        name, _, num = value[:-1].rpartition("<")
        return name.strip().strip('"'), num.strip()
    return "", value


class EventPump:
    """Turns the PBX's synchronous ``emit`` into ordered ``await server.broadcast`` calls."""

    def __init__(self, server: ActionServer) -> None:
        self.server = server
        self._queue: asyncio.Queue[AmiMessage] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.failed = 0

    def emit(self, msg: AmiMessage) -> None:
        self._queue.put_nowait(msg)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            msg = await self._queue.get()
            try:
                await self.server.broadcast(msg)
            except Exception:
                # One failed write (a client vanishing mid-drain) must not stop the stream.
                self.failed += 1
                log.exception("could not broadcast %s; going on", msg.name)
            finally:
                self._queue.task_done()

    async def flush(self) -> None:
        """Wait until every emitted event has been written to the clients."""
        await self._queue.join()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def attach(pbx: Pbx, server: ActionServer) -> EventPump:
    """Serve the PBX over ``server``: its actions answered, its events broadcast in order.

    Must be called from a running event loop. Returns the pump (``await pump.flush()`` to wait
    for delivery, ``await pump.close()`` on shutdown).
    """
    actions = PbxActions(pbx)
    pump = EventPump(server)
    pbx.emit = pump.emit
    for name, handler in actions.handlers.items():
        server.register_action(name, _async(handler))
    pump.start()
    return pump


def _async(handler: Handler) -> Callable[[AmiMessage], Awaitable[list[AmiMessage]]]:
    async def run(msg: AmiMessage) -> list[AmiMessage]:
        return handler(msg)

    return run
