"""The PBX's core: its state, ids and channels, queue figures, and ending a call's books.

Every other part of the PBX (``queue_members``, ``queue_engine``, ``queue_waiting``,
``conversation``, ``transfers``, ``caller_path``) is a mixin over ``PbxCore``; ``pbx.Pbx``
puts them together and sets the state declared here.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from .channels import DOWN, RING, Channel
from .emitter import AGENT, ChannelEvents
from .model import CallTruth, PbxConfig
from .pbx_state import Call, Device, QueueState
from .queue_log_writer import QueueLogMemory, QueueLogWriter
from .scheduler import Timer

TRANSFER_CONTEXT = "hotline-transfer"


class PbxCore(ChannelEvents):
    config: PbxConfig
    queue_log: QueueLogWriter | QueueLogMemory | None
    seed: int
    rng: random.Random
    truths: list[CallTruth]
    queues: dict[str, QueueState]
    devices: dict[str, Device]
    on_call_end: list[Callable[[CallTruth], None]]
    # Calls in conversation with an agent (what a transfer can act on).
    _talking: set[Call]
    _uid_seq: int
    # Asterisk's systemname (asterisk.conf): when set, every uniqueid starts "<name>-".
    systemname: str | None
    _local_seq: int
    _entry_seq: int

    # ---- small helpers -------------------------------------------------------------------

    def log(self, callid: str, queue: str, agent: str, event: str, *data: object) -> None:
        if self.queue_log is not None:
            self.queue_log.write(self.now, callid, queue, agent, event, *data)

    def _uniqueid(self) -> str:
        uid = f"{int(self.now)}.{self._uid_seq}"
        self._uid_seq += 1
        return uid if self.systemname is None else f"{self.systemname}-{uid}"

    def _sip_channel(
        self, endpoint: str, context: str, exten: str, linkedid: str | None, state: int
    ) -> tuple[Channel, Channel]:
        """A PJSIP channel, with a ghost for the robot half a Local pair would have."""
        name = f"PJSIP/{endpoint}-{self._local_seq:08x}"
        self._local_seq += 1
        uid = self._uniqueid()
        ch = Channel(name, uid, linkedid or uid, context, exten, self.now, state=state)
        self.channels[name] = ch
        ghost = Channel("", uid, linkedid or uid, context, exten, self.now, ghost=True)
        return ch, ghost

    def _local_pair(
        self,
        exten: str,
        context: str,
        linkedid: str | None,
    ) -> tuple[Channel, Channel]:
        base = f"Local/{exten}@{context}-{self._local_seq:08x}"
        self._local_seq += 1
        uid1 = self._uniqueid()
        link = linkedid or uid1
        ch1 = Channel(f"{base};1", uid1, link, context, exten, self.now, state=DOWN)
        ch2 = Channel(f"{base};2", self._uniqueid(), link, context, exten, self.now, state=RING)
        self.channels[ch1.name] = ch1
        self.channels[ch2.name] = ch2
        return ch1, ch2

    def _after(
        self, owner: list[Timer], delay: float, fn: Callable[..., object], *args: object
    ) -> Timer:
        timer = self.scheduler.after(delay, fn, *args)
        owner.append(timer)
        return timer

    # ---- event shapes (field order as captured) ------------------------------------------

    def queue_vars(self, ch: Channel, q: QueueState) -> None:
        """setqueuevar=yes: the queue's figures as channel variables."""
        done = q.completed
        perf = 100.0 * q.within_sl / done if done else 0.0
        for var, value in (
            ("QUEUENAME", q.name),
            ("QUEUEMAX", "0"),
            ("QUEUESTRATEGY", q.config.strategy),
            ("QUEUECALLS", str(len(q.waiting))),
            ("QUEUEHOLDTIME", str(q.holdtime_total // done if done else 0)),
            ("QUEUETALKTIME", str(q.talktime_total // done if done else 0)),
            ("QUEUECOMPLETED", str(done)),
            ("QUEUEABANDONED", str(q.abandoned)),
            ("QUEUESRVLEVEL", str(q.config.servicelevel)),
            ("QUEUESRVLEVELPERF", f"{perf:.1f}"),
        ):
            self.varset(ch, var, value)

    def caller_device(self, state: str) -> None:
        if self.config.sip:
            # The trunk endpoint has no AOR: idle reads UNAVAILABLE, as in sip_call.
            self.device_state("PJSIP/pstn-trunk", "UNAVAILABLE" if state == "NOT_INUSE" else state)
        else:
            self.device_state("Local/12345@hotline-ivr", state)

    # ---- bookkeeping ---------------------------------------------------------------------

    @staticmethod
    def _cancel(timers: list[Timer]) -> None:
        for timer in timers:
            timer.cancel()
        timers.clear()

    def _finish(self, call: Call) -> None:
        self._cancel(call.timers)
        if call.hangup_timer is not None:
            call.hangup_timer.cancel()
            call.hangup_timer = None
        call.phase = "gone"
        self._close_redirected(call)
        self._leg_done(call.truth)
        self.counters.count_call(call.legs)

    def _leg_done(self, truth: CallTruth) -> None:
        truth.ended_at = self.now
        for callback in self.on_call_end:
            callback(truth)

    def _close_redirected(self, call: Call) -> None:
        for q, m, hold, connected_at, origpos in call.pending:
            talk = int(self.now) - int(connected_at)
            self.send(
                "AgentComplete",
                AGENT,
                [
                    ("Queue", q.name),
                    ("Interface", m.interface),
                    ("MemberName", m.name),
                    ("HoldTime", str(hold)),
                    ("TalkTime", str(talk)),
                    ("Reason", "caller"),
                ],
            )
            self.log(call.ch2.uniqueid, q.name, m.name, "COMPLETECALLER", hold, talk, origpos)
            q.completed += 1
            q.talktime_total += talk
        call.pending.clear()

    def active_calls(self) -> int:
        return sum(1 for t in self.truths if t.ended_at is None)
