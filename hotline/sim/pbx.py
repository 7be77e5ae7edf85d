"""A simulated Asterisk 22 running the hotline dialplan with app_queue (default capture mode).

Callers are Local channel pairs (``Local/12345@hotline-ivr-XXXXXXXX;1``/``;2``), members are
``Local/agentN@agent-robot-XXXXXXXX;1``/``;2`` with a ``Custom:agentN`` state interface, as in
the real captures in ../shared/fixtures/asterisk. For each call the PBX emits the captures'
events, with their field names and order (channel robots' own dialplan noise, LocalBridge,
HangupHandler* and most queue VarSets are left out), and writes queue_log lines.

app_queue behaviour modelled: rrmemory (one member rung at a time, rotating, lower penalty
first), member ring timeout and retry from the queue config, ringinuse=no (a member ringing or
talking anywhere is not rung), callers ordered by priority then arrival, autofill (every waiting
caller may ring a free member), wrap-up 0, Queue() timeout (QUEUE_MAX_WAIT) -> EXITWITHTIMEOUT,
joinempty=no on a queue without unpaused members -> JOINEMPTY (logged by the dialplan).

Times are simulated epoch seconds from the scheduler; app_queue's whole-second figures
(HoldTime, TalkTime, RingTime) are differences of whole epoch seconds, as app_queue computes
them from ``time(NULL)``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .cdr_writer import CdrCsvWriter
from .channels import DOWN, RING, RINGING, UP, Channel, bridge_block, channel_block
from .emitter import AGENT, AGI, CALL, DIALPLAN, DTMF, USER, ChannelEvents, Emit
from .model import (
    INFINITY,
    AgentBehaviour,
    CallerScript,
    CallTruth,
    Counters,
    MemberConfig,
    PbxConfig,
    QueueConfig,
    menu_choice,
)
from .queue_log_writer import QueueLogMemory, QueueLogWriter
from .scheduler import Scheduler, Timer

# Measured in the captures (Local-channel callers).
AGI_ANSWER_S = 0.5
SIP_AGI_ANSWER_S = 0.005
PROMPT_S = 1.42
GET_DATA_TIMEOUT_S = 5.44
DTMF_LENGTH_S = 0.1
AGI_CLOSE_AFTER_HANGUP_S = 1.04
BUSY_PROMPT_S = 1.82
CALLBACK_STEPS_S = (5.67, 5.44, 0.88)  # vm-intro, Record(…,5), vm-goodbye
RECHECK_S = 1.0  # app_queue's RECHECK
DEFAULT_QUEUE = "hotline-general"  # the dialplan's degraded path
TRANSFER_CONTEXT = "hotline-transfer"
# [hotline-transfer] extensions and the queue each one runs.
TRANSFER_TARGETS = {"complaint": "hotline-complaint"}

MEMBER_STATUS = {"NOT_INUSE": 1, "INUSE": 2, "RINGING": 6}


class IvrDriver(Protocol):
    """Runs a call's IVR outside the PBX (a real FastAGI server, see ``agi_driver``)."""

    def start(self, pbx: Pbx, call: Call) -> None: ...


@dataclass(slots=True)
class Member:
    name: str
    interface: str
    state_interface: str
    penalty: int
    paused: bool
    paused_reason: str
    membership: str
    login_time: int
    behaviour: AgentBehaviour
    calls_taken: int = 0
    last_call: int = 0
    last_pause: int = 0


@dataclass(slots=True)
class Device:
    """The member's phone (its state interface), shared by all its queues."""

    name: str
    state: str = "NOT_INUSE"


@dataclass(slots=True)
class Ring:
    member: Member
    ch1: Channel
    ch2: Channel
    started: float
    talk_s: float
    timer: Timer | None = None


@dataclass(slots=True)
class Entry:
    """A caller waiting in a queue."""

    call: Call
    queue: QueueState
    joined: float
    orig_pos: int
    prio: int
    seq: int
    ring: Ring | None = None
    retry_timer: Timer | None = None
    poll_timer: Timer | None = None
    timers: list[Timer] = field(default_factory=list)


@dataclass(slots=True)
class QueueState:
    config: QueueConfig
    members: list[Member] = field(default_factory=list)
    waiting: list[Entry] = field(default_factory=list)
    rr_pos: int = 0
    completed: int = 0
    abandoned: int = 0
    holdtime_total: int = 0
    talktime_total: int = 0
    within_sl: int = 0

    @property
    def name(self) -> str:
        return self.config.name


@dataclass(slots=True, eq=False)
class Call:
    script: CallerScript
    ch1: Channel
    ch2: Channel
    truth: CallTruth
    phase: str = "answer"
    timers: list[Timer] = field(default_factory=list)
    queue_name: str = ""
    prio: int = 0
    entry: Entry | None = None
    connected: Ring | None = None
    connected_at: float = 0.0
    hold_s: int = 0
    bridge_id: str = ""
    command_id: str = ""
    hangup_timer: Timer | None = None
    ivr_vars: dict[str, str] = field(default_factory=dict)
    legs: list[CallTruth] = field(default_factory=list)
    # Queue legs left by AMI Redirect: app_queue closes them only when the call ends.
    pending: list[tuple[QueueState, Member, int, float, int]] = field(default_factory=list)
    transferred: bool = False


def _exten_of(interface: str) -> tuple[str, str]:
    """``Local/agent1@agent-robot/n`` -> (``agent1``, ``agent-robot``)."""
    body = interface.split("/", 1)[1].rsplit("/", 1)[0]
    exten, _, context = body.partition("@")
    return exten, context


class Pbx(ChannelEvents):
    def __init__(
        self,
        scheduler: Scheduler,
        emit: Emit,
        config: PbxConfig | None = None,
        *,
        queue_log: QueueLogWriter | QueueLogMemory | None = None,
        cdr_csv: CdrCsvWriter | None = None,
        seed: int = 0,
    ) -> None:
        self.scheduler = scheduler
        self.emit = emit
        self.config = config or PbxConfig()
        self.queue_log = queue_log
        self.cdr_csv = cdr_csv
        self.rng = random.Random(seed)
        self.counters = Counters()
        self.truths: list[CallTruth] = []
        self.queues: dict[str, QueueState] = {q.name: QueueState(q) for q in self.config.queues}
        self.devices: dict[str, Device] = {}
        self.channels: dict[str, Channel] = {}
        self.on_call_end: list[Callable[[CallTruth], None]] = []
        self.ivr_driver: IvrDriver | None = None
        self._talking: set[Call] = set()
        self._uid_seq = 0
        self._local_seq = 0
        self._entry_seq = 0
        self._last_ts = 0.0
        boot = int(scheduler.now)
        for mc in self.config.members:
            for qname in mc.queues:
                self._add_member(
                    self.queues[qname], mc, "static", boot, paused=mc.paused, reason=""
                )

    # ---- small helpers -------------------------------------------------------------------

    def log(self, callid: str, queue: str, agent: str, event: str, *data: object) -> None:
        if self.queue_log is not None:
            self.queue_log.write(self.now, callid, queue, agent, event, *data)

    def _uniqueid(self) -> str:
        uid = f"{int(self.now)}.{self._uid_seq}"
        self._uid_seq += 1
        return uid

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

    # ---- event shapes (field order as captured) -----------------------------------------

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

    def member_vars(self, ch: Channel, m: Member) -> None:
        """setinterfacevar=yes: the answering member as channel variables."""
        for var, value in (
            ("MEMBERINTERFACE", m.interface),
            ("MEMBERNAME", m.name),
            ("MEMBERCALLS", str(m.calls_taken)),
            ("MEMBERLASTCALL", str(m.last_call)),
            ("MEMBERPENALTY", str(m.penalty)),
            ("MEMBERDYNAMIC", "1" if m.membership == "dynamic" else "0"),
            ("MEMBERREALTIME", "0"),
        ):
            self.varset(ch, var, value)

    def caller_device(self, state: str) -> None:
        if self.config.sip:
            # The trunk endpoint has no AOR: idle reads UNAVAILABLE, as in sip_call.
            self.device_state("PJSIP/pstn-trunk", "UNAVAILABLE" if state == "NOT_INUSE" else state)
        else:
            self.device_state("Local/12345@hotline-ivr", state)

    def member_local_device(self, m: Member, state: str) -> None:
        """The Local channel device of a robot member (a PJSIP member has none)."""
        exten, context = _exten_of(m.interface)
        if m.interface.startswith("Local/"):
            self.device_state(f"Local/{exten}@{context}", state)

    def agi_start(self, call: Call, command: str) -> None:
        call.command_id = str(self.rng.randrange(1, 2**31))
        self.ch_event(
            "AGIExecStart",
            AGI,
            call.ch2,
            [
                ("CommandId", call.command_id),
                ("Command", command),
            ],
        )

    def agi_end(self, call: Call, command: str, code: str = "200", result: str = "Success") -> None:
        self.ch_event(
            "AGIExecEnd",
            AGI,
            call.ch2,
            [
                ("CommandId", call.command_id),
                ("Command", command),
                ("ResultCode", code),
                ("Result", result),
            ],
        )

    def member_block(self, q: QueueState, m: Member) -> list[tuple[str, str]]:
        status = MEMBER_STATUS.get(self._device(m).state, 1)
        return [
            ("Queue", q.name),
            ("MemberName", m.name),
            ("Interface", m.interface),
            ("StateInterface", m.state_interface),
            ("Membership", m.membership),
            ("Penalty", str(m.penalty)),
            ("CallsTaken", str(m.calls_taken)),
            ("LastCall", str(m.last_call)),
            ("LastPause", str(m.last_pause)),
            ("LoginTime", str(m.login_time)),
            ("InCall", "0"),
            ("Status", str(status)),
            ("Paused", "1" if m.paused else "0"),
            ("PausedReason", m.paused_reason),
            ("Ringinuse", "0"),
            ("Wrapuptime", "0"),
        ]

    def queue_member_event(self, name: str, q: QueueState, m: Member) -> None:
        self.send(name, AGENT, self.member_block(q, m))

    # ---- members and devices -------------------------------------------------------------

    def _device(self, m: Member) -> Device:
        dev = self.devices.get(m.state_interface)
        if dev is None:
            dev = self.devices[m.state_interface] = Device(m.state_interface)
        return dev

    def _add_member(
        self,
        q: QueueState,
        mc: MemberConfig,
        membership: str,
        login: int,
        *,
        paused: bool,
        reason: str,
    ) -> Member:
        member = Member(
            name=mc.name,
            interface=mc.interface,
            state_interface=mc.state_interface,
            penalty=mc.penalty,
            paused=paused,
            paused_reason=reason if paused else "",
            membership=membership,
            login_time=login,
            behaviour=mc.behaviour,
            last_pause=login if paused else 0,
        )
        q.members.append(member)
        self._device(member)
        return member

    def members_of(self, interface: str) -> list[tuple[QueueState, Member]]:
        return [(q, m) for q in self.queues.values() for m in q.members if m.interface == interface]

    def _set_device(self, m: Member, state: str) -> None:
        """Custom:agentN changes state: QueueMemberStatus for every queue it is in."""
        dev = self._device(m)
        dev.state = state
        for q, qm in self.members_of(m.interface):
            self.queue_member_event("QueueMemberStatus", q, qm)
        self.device_state(m.state_interface, state)

    def _is_free(self, m: Member) -> bool:
        return not m.paused and self._device(m).state == "NOT_INUSE"

    # ---- a call arrives ------------------------------------------------------------------

    def place_call(self, script: CallerScript) -> CallTruth:
        """An inbound call to 12345 now (the capture script's Originate, default mode)."""
        if self.config.sip:
            ch2, ch1 = self._sip_channel("pstn-trunk", "hotline-ivr", "12345", None, RING)
            ch2.set_callerid(script.caller_num, script.caller_name)
        else:
            ch1, ch2 = self._local_pair("12345", "hotline-ivr", None)
        truth = CallTruth(
            ch1.linkedid, ch2.uniqueid, script.caller_num, script.caller_name, started_at=self.now
        )
        call = Call(script, ch1, ch2, truth, legs=[truth])
        self.truths.append(truth)
        self.counters.calls += 1
        self.ch_event("Newchannel", CALL, ch1)
        self.ch_event("Newchannel", CALL, ch2)
        self.newexten(ch1, 1, "AppDial2", "(Outgoing Line)")
        ch1.set_callerid(script.caller_num, script.caller_name)
        self.ch_event(
            "NewCallerid",
            CALL,
            ch1,
            [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")],
        )
        self.ch_event("NewConnectedLine", CALL, ch1)
        if not self.config.sip:
            ch2.set_callerid(script.caller_num, script.caller_name)
            self.ch_event(
                "NewCallerid",
                CALL,
                ch2,
                [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")],
            )
            self.ch_event("NewConnectedLine", CALL, ch2)
        self.local_bridge(ch1, ch2)
        self.dial_event("DialBegin", None, ch1, [("DialString", "12345@hotline-ivr/n")])
        self.newexten(
            ch2, 1, "NoOp", f'Hotline call from "{script.caller_name}" <{script.caller_num}>'
        )
        self.newexten(ch2, 2, "AGI", self.config.agi_url)
        if self.ivr_driver is not None:
            # A real FastAGI server runs the IVR; it reports back through agi_command/agi_done.
            call.phase = "agi"
            self.ivr_driver.start(self, call)
        else:
            self.agi_start(call, "ANSWER")
            self._answer_caller(call)
            # Asterisk waits for a first media frame on Local channels only (README #15).
            answer_s = SIP_AGI_ANSWER_S if self.config.sip else AGI_ANSWER_S
            self._after(call.timers, answer_s, self._agi_answered, call)
            if script.ivr_hangup_after is not None:
                self._after(call.timers, script.ivr_hangup_after, self._ivr_hangup, call)
        if script.hangup_after is not None:
            # Not in call.timers: it must survive the IVR's and the queue's own timers.
            call.hangup_timer = self.scheduler.after(script.hangup_after, self._caller_gone, call)
        return truth

    def _answer_caller(self, call: Call) -> None:
        ch1, ch2 = call.ch1, call.ch2
        self.newstate(ch2, UP)
        self.newstate(ch1, UP)
        self.dial_event("DialEnd", None, ch1, [("DialStatus", "ANSWER")])
        ch1.context, ch1.exten, ch1.priority = "caller-robot", "s", 5
        ch1.app, ch1.appdata = "Wait", ""
        self.caller_device("INUSE")
        self.caller_device("INUSE")

    # ---- an external FastAGI IVR (see agi_driver) ----------------------------------------

    def agi_command(self, call: Call, command: str, reply: str | None) -> None:
        """A command of the external IVR starts (reply None) or ends."""
        if call.phase != "agi":
            return
        ch2 = call.ch2
        if reply is None:
            self.agi_start(call, command)
            if command.upper().startswith("ANSWER") and ch2.answered is None:
                self._answer_caller(call)
            return
        upper = command.upper()
        code = reply[:3]
        if reply.startswith("200 result=-1") and not upper.startswith("HANGUP"):
            self._ivr_caller_hung_up(call, command)
            return
        if upper.startswith("GET DATA") and "result=" in reply:
            digits = reply.split("result=", 1)[1].split(" ", 1)[0]
            for digit in digits:
                self.ch_event("DTMFBegin", DTMF, ch2, [("Digit", digit), ("Direction", "Received")])
                self.ch_event(
                    "DTMFEnd",
                    DTMF,
                    ch2,
                    [
                        ("Digit", digit),
                        ("DurationMs", str(int(DTMF_LENGTH_S * 1000))),
                        ("Direction", "Received"),
                    ],
                )
            if digits and call.truth.ivr_digits is None:
                call.truth.ivr_digits = digits
        elif upper.startswith("STREAM FILE"):
            self.varset(ch2, "PLAYBACKSTATUS", "SUCCESS")
        elif upper.startswith("SET VARIABLE"):
            parts = command.split(" ", 3)
            if len(parts) >= 3:
                value = parts[3] if len(parts) > 3 else ""
                if len(value) >= 2 and value[0] == value[-1] == '"':
                    value = value[1:-1]
                call.ivr_vars[parts[2]] = value
                self.varset(ch2, parts[2], value)
        self.agi_end(call, command, code, "Success" if code == "200" else "Failure")

    def _ivr_caller_hung_up(self, call: Call, command: str) -> None:
        ch1, ch2 = call.ch1, call.ch2
        self.cdr(ch1, "Hangup", "", destination="s")
        self.ch_event("SoftHangupRequest", CALL, ch1, [("Cause", "16")])
        self.ch_event("HangupRequest", CALL, ch2, [("Cause", "16")])
        self.hangup(ch1)
        if command.upper().startswith("GET DATA"):
            self.agi_end(call, command)
        else:
            self.agi_end(call, command, "-1", "Failure")
        self.caller_device("NOT_INUSE")
        call.phase = "ivr_gone"
        call.truth.outcome, call.truth.hangup_by = "ivr_hangup", "caller"

    def agi_done(self, call: Call, status: str) -> None:
        """The external IVR closed its socket (or could not be reached: status FAILURE)."""
        if call.phase == "ivr_gone":
            self._ivr_hangup_done(call)
            return
        if call.phase != "agi":
            return
        if call.ch2.answered is None:
            # The IVR never answered (server down): the call goes on unanswered until the
            # queue; the events a tracker needs come all the same.
            self._answer_caller(call)
        queue = call.ivr_vars.get("HOTLINE_QUEUE", "")
        choice = call.ivr_vars.get("HOTLINE_CHOICE", "")
        try:
            prio = int(call.ivr_vars.get("HOTLINE_PRIORITY", "") or 0)
        except ValueError:
            prio = 0
        self._after_ivr(call, status, queue, choice, prio)

    def _caller_gone(self, call: Call) -> None:
        """The caller's phone hangs up now, in whatever state the call is."""
        call.hangup_timer = None
        if call.phase in ("answer", "stream", "getdata"):
            self._ivr_hangup(call)
        elif call.phase == "queue" and call.entry is not None:
            self._abandon(call.entry)
        elif call.phase == "talk":
            self._caller_hangs_up(call)

    def _agi_answered(self, call: Call) -> None:
        self.agi_end(call, "ANSWER")
        call.phase = "stream"
        self.agi_start(call, 'STREAM FILE hello-world ""')
        self._after(call.timers, PROMPT_S, self._prompt_done, call)

    def _prompt_done(self, call: Call) -> None:
        self.varset(call.ch2, "PLAYBACKSTATUS", "SUCCESS")
        self.agi_end(call, 'STREAM FILE hello-world ""')
        call.phase = "getdata"
        self.agi_start(call, "GET DATA beep 5000 1")
        script = call.script
        if script.dtmf is not None and script.dtmf_delay < GET_DATA_TIMEOUT_S:
            self._after(call.timers, script.dtmf_delay, self._dtmf_begin, call)
        else:
            self._after(call.timers, GET_DATA_TIMEOUT_S, self._got_data, call, None)

    def _dtmf_begin(self, call: Call) -> None:
        digit = call.script.dtmf or ""
        self.ch_event("DTMFBegin", DTMF, call.ch2, [("Digit", digit), ("Direction", "Received")])
        self._after(call.timers, DTMF_LENGTH_S, self._dtmf_end, call)

    def _dtmf_end(self, call: Call) -> None:
        digit = call.script.dtmf or ""
        self.ch_event(
            "DTMFEnd",
            DTMF,
            call.ch2,
            [
                ("Digit", digit),
                ("DurationMs", str(int(DTMF_LENGTH_S * 1000))),
                ("Direction", "Received"),
            ],
        )
        self._got_data(call, digit)

    def _got_data(self, call: Call, digit: str | None) -> None:
        ch2 = call.ch2
        self.agi_end(call, "GET DATA beep 5000 1")
        self._cancel(call.timers)
        queue, choice, prio = menu_choice(digit)
        call.truth.ivr_digits = digit
        for var, value in (
            ("HOTLINE_QUEUE", queue),
            ("HOTLINE_CHOICE", choice),
            ("HOTLINE_PRIORITY", str(prio)),
        ):
            command = f"SET VARIABLE {var} {value}"
            self.agi_start(call, command)
            self.varset(ch2, var, value)
            self.agi_end(call, command)
        self._after_ivr(call, "SUCCESS", queue, choice, prio)

    def _after_ivr(self, call: Call, status: str, queue: str, choice: str, prio: int) -> None:
        """The dialplan after AGI(): degraded default queue, MixMonitor, Queue()."""
        ch2 = call.ch2
        call.phase = "dialplan"
        self.varset(ch2, "AGISTATUS", status)
        self.newexten(
            ch2, 3, "NoOp", f"AGISTATUS={status} queue={queue} choice={choice} prio={prio}"
        )
        empty = queue == ""
        self.newexten(ch2, 4, "ExecIf", f"{int(empty)}?Set(HOTLINE_QUEUE={DEFAULT_QUEUE})")
        if empty:
            queue = DEFAULT_QUEUE
            self.varset(ch2, "HOTLINE_QUEUE", queue)
        record = self.config.record_calls
        self.newexten(ch2, 5, "GotoIf", "0?queue" if record else "1?queue")
        if record:
            self.newexten(ch2, 6, "MixMonitor", f"hotline-{ch2.uniqueid}.wav,b")
            path = f"/var/spool/asterisk/monitor/hotline-{ch2.uniqueid}.wav"
            self.varset(ch2, "MIXMONITOR_FILENAME", path)
            self.ch_event("MixMonitorStart", CALL, ch2)
            call.truth.recording = path
        self.newexten(ch2, 7, "Set", f"QUEUE_PRIO={prio}")
        self.varset(ch2, "QUEUE_PRIO", str(prio))
        call.queue_name, call.prio = queue, prio
        self._queue(call)

    def _ivr_hangup(self, call: Call) -> None:
        """The caller hangs up while the FastAGI IVR still holds the channel."""
        if call.phase not in ("answer", "stream", "getdata"):
            return
        self._cancel(call.timers)
        ch1, ch2 = call.ch1, call.ch2
        self.cdr(ch1, "Hangup", "", destination="s")
        self.ch_event("SoftHangupRequest", CALL, ch1, [("Cause", "16")])
        self.ch_event("HangupRequest", CALL, ch2, [("Cause", "16")])
        self.hangup(ch1)
        command = {
            "answer": "ANSWER",
            "stream": 'STREAM FILE hello-world ""',
            "getdata": "GET DATA beep 5000 1",
        }[call.phase]
        if call.phase == "getdata":
            self.agi_end(call, command)
        else:
            self.agi_end(call, command, "-1", "Failure")
        self.caller_device("NOT_INUSE")
        call.phase = "ivr_gone"
        truth = call.truth
        truth.outcome, truth.hangup_by = "ivr_hangup", "caller"
        # The channel only goes once the FastAGI server has closed its socket.
        self._after(call.timers, AGI_CLOSE_AFTER_HANGUP_S, self._ivr_hangup_done, call)

    def _ivr_hangup_done(self, call: Call) -> None:
        ch2 = call.ch2
        self.cdr(ch2, "AGI", self.config.agi_url)
        self.varset(ch2, "AGISTATUS", "HANGUP")
        self.ch_event("SoftHangupRequest", CALL, ch2, [("Cause", "16")])
        self.hangup(ch2)
        self.caller_device("NOT_INUSE")
        self._finish(call)

    # ---- Queue() -------------------------------------------------------------------------

    def _queue(self, call: Call, priority: int = 8) -> None:
        ch2 = call.ch2
        max_wait = self.config.queue_max_wait
        queue_ts = self.newexten(ch2, priority, "Queue", f"{call.queue_name},t,,,{max_wait}")
        for var in (
            "ANSWEREDTIME",
            "ANSWEREDTIME_MS",
            "DIALEDTIME",
            "DIALEDTIME_MS",
            "QUEUEWAIT",
            "QUEUEWAIT_MS",
        ):
            self.varset(ch2, var, "")
        q = self.queues.get(call.queue_name)
        truth = call.truth
        truth.queue = call.queue_name
        if q is None or (not q.config.joinempty and not any(not m.paused for m in q.members)):
            truth.queue_entered_at = round(queue_ts, 6)
            self._joinempty(call)
            return
        pos = 1 + sum(1 for e in q.waiting if e.prio >= call.prio)
        self._entry_seq += 1
        entry = Entry(call, q, self.now, pos, call.prio, self._entry_seq)
        q.waiting.insert(pos - 1, entry)
        call.entry = entry
        call.phase = "queue"
        if len(q.waiting) == 1:
            self.device_state(f"Queue:{q.name}", "RINGING")
        join_ts = self.ch_event(
            "QueueCallerJoin",
            AGENT,
            ch2,
            [
                ("Queue", q.name),
                ("Position", str(pos)),
                ("Count", str(len(q.waiting))),
            ],
        )
        truth.queue_entered_at = round(join_ts, 6)
        self.ch_event("MusicOnHoldStart", CALL, ch2, [("Class", "default")])
        self.log(ch2.uniqueid, q.name, "NONE", "ENTERQUEUE", "", call.script.caller_num, pos)
        if call.script.patience < INFINITY:
            self._after(entry.timers, call.script.patience, self._abandon, entry)
        self._after(entry.timers, float(max_wait), self._timeout, entry)
        self._dispatch(q)

    def _joinempty(self, call: Call) -> None:
        ch2, qname = call.ch2, call.queue_name
        self.varset(ch2, "QUEUESTATUS", "JOINEMPTY")
        self.newexten(ch2, 9, "NoOp", "QUEUESTATUS=JOINEMPTY")
        self.newexten(ch2, 10, "GotoIf", "0?callback")
        self.newexten(ch2, 11, "GotoIf", "1?joinempty")
        num = call.script.caller_num
        self.newexten(ch2, 19, "QueueLog", f"{qname},{ch2.uniqueid},NONE,ENTERQUEUE,|{num}|1")
        self.log(ch2.uniqueid, qname, "NONE", "ENTERQUEUE", "", num, 1)
        self.newexten(ch2, 20, "QueueLog", f"{qname},{ch2.uniqueid},NONE,EXITEMPTY,1|1|0")
        self.log(ch2.uniqueid, qname, "NONE", "EXITEMPTY", 1, 1, 0)
        self.newexten(ch2, 21, "Playback", "all-circuits-busy-now")
        call.phase = "joinempty"
        truth = call.truth
        truth.outcome, truth.wait_s = "joinempty", 0
        self._after(call.timers, BUSY_PROMPT_S, self._dialplan_hangup, call, 22)

    def _dialplan_hangup(self, call: Call, priority: int) -> None:
        """Hangup() in the dialplan: the hotline side ends the call."""
        ch1, ch2 = call.ch1, call.ch2
        self.newexten(ch2, priority, "Hangup", "")
        self.ch_event("SoftHangupRequest", CALL, ch2, [("Cause", "16")])
        self.ch_event("HangupRequest", CALL, ch1, [("Cause", "16")])
        self.cdr(ch2, "Hangup", "")
        self.hangup(ch2)
        self.hangup(ch1)
        self.caller_device("NOT_INUSE")
        self.caller_device("NOT_INUSE")
        self.cdr(ch1, "Wait", "", destination="s")
        self._finish(call)

    def _dispatch(self, q: QueueState) -> None:
        """Give free members to waiting callers, head of the queue first (autofill)."""
        for entry in list(q.waiting):
            if entry.ring is not None or entry.retry_timer is not None:
                continue
            member = self._pick(q)
            if member is None:
                return
            self._ring(entry, member)

    def recheck_soon(self) -> None:
        """A member became available without a device change (unpause, QueueAdd, penalty).

        app_queue re-checks a waiting caller nobody could be rung for once a second
        (RECHECK); a member's phone going idle wakes the queue at once, but these changes
        are only seen at the caller's next re-check. Scheduling that re-check only when such
        a change happens gives the same instants without polling every waiting caller.
        """
        for q in self.queues.values():
            self._poll_later(q)

    def _poll_later(self, q: QueueState) -> None:
        for entry in q.waiting:
            if entry.ring is None and entry.retry_timer is None and entry.poll_timer is None:
                entry.poll_timer = self.scheduler.at(
                    entry.joined + (int(self.now - entry.joined) + 1) * RECHECK_S, self._poll, entry
                )
                entry.timers.append(entry.poll_timer)

    def _poll(self, entry: Entry) -> None:
        entry.poll_timer = None
        if entry in entry.queue.waiting:
            self._dispatch(entry.queue)

    def _pick(self, q: QueueState) -> Member | None:
        n = len(q.members)
        if n == 0:
            return None
        best: tuple[int, int] | None = None
        for k in range(n):
            idx = (q.rr_pos + k) % n
            m = q.members[idx]
            if self._is_free(m) and (best is None or m.penalty < best[0]):
                best = (m.penalty, idx)
        if best is None:
            return None
        q.rr_pos = best[1] + 1
        return q.members[best[1]]

    def _ring(self, entry: Entry, m: Member) -> None:
        caller = entry.call.ch2
        exten, context = _exten_of(m.interface)
        if m.interface.startswith("PJSIP/"):
            a1, a2 = self._sip_channel(exten, caller.context, "s", caller.linkedid, DOWN)
        else:
            a1, a2 = self._local_pair(exten, context, caller.linkedid)
        rng = self.rng
        ring_s = m.behaviour.ring_time(rng)
        talk_s = m.behaviour.talk_time(rng)
        ring = Ring(m, a1, a2, self.now, talk_s)
        entry.ring = ring
        if entry.poll_timer is not None:
            entry.poll_timer.cancel()
            entry.poll_timer = None
        self._device(m).state = "RINGING"  # reserved at once: ringinuse=no
        self.ch_event("Newchannel", CALL, a1)
        self.ch_event("Newchannel", CALL, a2)
        a1.set_callerid(caller.cid_num, caller.cid_name)
        self.newexten(a1, 1, "AppQueue", "(Outgoing Line)")
        self.ch_event(
            "NewCallerid", CALL, a1, [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")]
        )
        a2.set_callerid(caller.cid_num, caller.cid_name)
        self.ch_event(
            "NewCallerid", CALL, a2, [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")]
        )
        self.ch_event("NewConnectedLine", CALL, a2)
        self.local_bridge(a1, a2)
        dialed = m.interface.split("/", 1)[1]
        self.varset(a1, "DIALEDPEERNUMBER", dialed)
        self.varset(a2, "DIALEDPEERNUMBER", dialed)
        member_fields = [
            ("Queue", entry.queue.name),
            ("Interface", m.interface),
            ("MemberName", m.name),
        ]
        self.dial_event("AgentCalled", caller, a1, member_fields, AGENT)
        self.dial_event("DialBegin", caller, a1, [("DialString", m.interface)])
        self.newexten(a2, 1, "NoOp", f"agent robot {exten}")
        self.newexten(a2, 2, "Set", f"RING={ring_s:g}")
        self.varset(a2, "RING", f"{ring_s:g}")
        self.newexten(a2, 3, "Set", f"TALK={talk_s:g}")
        self.varset(a2, "TALK", f"{talk_s:g}")
        handler = f"agent-robot-hangup,s,1({exten})"
        self.newexten(a2, 4, "Set", f"CHANNEL(hangup_handler_push)={handler}")
        self.ch_event("HangupHandlerPush", DIALPLAN, a2, [("Handler", handler)])
        self.newexten(a2, 5, "Set", f"DEVICE_STATE({m.state_interface})=RINGING")
        self._set_device(m, "RINGING")
        self.newexten(a2, 6, "Ringing", "")
        a1.exten = caller.exten
        self.newstate(a1, RINGING)
        self.ch_event("NewConnectedLine", CALL, a1)
        self.dial_event("DialState", caller, a1, [("DialStatus", "RINGING")])
        self.newexten(a2, 7, "Wait", f"{ring_s:g}")
        self.member_local_device(m, "INUSE")
        timeout = entry.queue.config.timeout
        if ring_s < timeout:
            ring.timer = self.scheduler.after(ring_s, self._answer, entry)
        else:
            ring.timer = self.scheduler.after(timeout, self._ring_no_answer, entry)

    def _drop_ring(self, entry: Entry, *, no_answer: bool) -> None:
        """End the current ring attempt (no answer, or the caller left the queue)."""
        ring = entry.ring
        assert ring is not None
        entry.ring = None
        if ring.timer is not None:
            ring.timer.cancel()
        m, caller = ring.member, entry.call.ch2
        ms = round((self.now - ring.started) * 1000)
        member_fields = [
            ("Queue", entry.queue.name),
            ("Interface", m.interface),
            ("MemberName", m.name),
        ]
        if no_answer:
            self.dial_event(
                "AgentRingNoAnswer",
                caller,
                ring.ch1,
                [*member_fields, ("RingTime", str(ms))],
                AGENT,
            )
            self.dial_event("DialEnd", caller, ring.ch1, [("DialStatus", "NOANSWER")])
            self.log(caller.uniqueid, entry.queue.name, m.name, "RINGNOANSWER", ms)
            entry.call.truth.ring_no_answer.append(m.name)
        else:
            self.dial_event("DialEnd", caller, ring.ch1, [("DialStatus", "CANCEL")])
            self.log(caller.uniqueid, entry.queue.name, m.name, "RINGCANCELED", ms)
        self.dial_event("DialEnd", caller, ring.ch1, [("DialStatus", "CANCEL")])
        self.ch_event("HangupRequest", CALL, ring.ch2, [("Cause", "0")])
        self.ch_event("SoftHangupRequest", CALL, ring.ch2, [("Cause", "16")])
        self.newexten(
            ring.ch2,
            1,
            "Set",
            f"DEVICE_STATE({m.state_interface})=NOT_INUSE",
            context="agent-robot-hangup",
            exten="s",
        )
        self.hangup(ring.ch1, cause=0)
        self.hangup(ring.ch2, cause=0)
        self._set_device(m, "NOT_INUSE")
        self.member_local_device(m, "NOT_INUSE")

    def _ring_no_answer(self, entry: Entry) -> None:
        self._drop_ring(entry, no_answer=True)
        entry.retry_timer = self.scheduler.after(entry.queue.config.retry, self._retry, entry)
        entry.timers.append(entry.retry_timer)
        self._dispatch_all()

    def _retry(self, entry: Entry) -> None:
        entry.retry_timer = None
        if entry in entry.queue.waiting:
            self._dispatch(entry.queue)

    def _dispatch_all(self) -> None:
        for q in self.queues.values():
            if q.waiting:
                self._dispatch(q)

    def _leave(self, entry: Entry) -> int:
        """Remove the caller from the queue; returns the position it had."""
        q = entry.queue
        pos = q.waiting.index(entry) + 1
        q.waiting.remove(entry)
        self._cancel(entry.timers)
        if entry.retry_timer is not None:
            entry.retry_timer.cancel()
            entry.retry_timer = None
        return pos

    def _answer(self, entry: Entry) -> None:
        ring = entry.ring
        assert ring is not None
        ring.timer = None
        call, q, m = entry.call, entry.queue, ring.member
        caller, a1, a2 = call.ch2, ring.ch1, ring.ch2
        self.newexten(a2, 8, "Set", f"DEVICE_STATE({m.state_interface})=INUSE")
        self._set_device(m, "INUSE")
        self.newexten(a2, 9, "Answer", "")
        self.newstate(a2, UP)
        self.member_local_device(m, "INUSE")
        self.newstate(a1, UP)
        self.dial_event("DialEnd", caller, a1, [("DialStatus", "ANSWER")])
        self.ch_event("MusicOnHoldStop", CALL, caller)
        self.member_vars(caller, m)
        self.member_vars(a1, m)
        hold = int(self.now) - int(entry.joined)
        for ch in (caller, a1):
            self.varset(ch, "QEHOLDTIME", str(hold))
            self.varset(ch, "QEORIGINALPOS", str(entry.orig_pos))
        self.queue_vars(caller, q)
        self.queue_vars(a1, q)
        pos = q.waiting.index(entry) + 1
        self.varset(caller, "QUEUEPOSITION", str(pos))
        self.varset(caller, "QUEUEWAIT", str(hold))
        self.varset(caller, "QUEUEWAIT_MS", str(round((self.now - entry.joined) * 1000)))
        entry.ring = None
        pos = self._leave(entry)
        if not q.waiting:
            self.device_state(f"Queue:{q.name}", "NOT_INUSE")
        self.ch_event(
            "QueueCallerLeave",
            AGENT,
            caller,
            [
                ("Queue", q.name),
                ("Position", str(pos)),
                ("Count", str(len(q.waiting))),
            ],
        )
        ring_time = int(self.now) - int(ring.started)
        self.dial_event(
            "AgentConnect",
            caller,
            a1,
            [
                ("Queue", q.name),
                ("Interface", m.interface),
                ("MemberName", m.name),
                ("HoldTime", str(hold)),
                ("RingTime", str(ring_time)),
            ],
            AGENT,
        )
        self.log(caller.uniqueid, q.name, m.name, "CONNECT", hold, a1.uniqueid, ring_time)
        call.bridge_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self.send("BridgeCreate", CALL, bridge_block(call.bridge_id, 0))
        a1.bridge_id = caller.bridge_id = call.bridge_id
        self.send("BridgeEnter", CALL, bridge_block(call.bridge_id, 1), channel_block(a1))
        self.send("BridgeEnter", CALL, bridge_block(call.bridge_id, 2), channel_block(caller))
        self.varset(a1, "BRIDGEPEER", caller.name)
        self.varset(caller, "BRIDGEPEER", a1.name)
        self.newexten(a2, 10, "PlayTones", "660/400,0/600")
        self.newexten(a2, 11, "Wait", f"{ring.talk_s:g}")
        call.connected, call.connected_at, call.hold_s = ring, self.now, hold
        call.phase = "talk"
        self._talking.add(call)
        truth = call.truth
        truth.wait_s, truth.answered_by, truth.member_interface = hold, m.name, m.interface
        q.holdtime_total += hold
        if hold <= q.config.servicelevel:
            q.within_sl += 1
        transfer_after = call.script.transfer_after
        if (
            transfer_after is not None
            and not call.transferred
            and q.name in call.script.transfer_from
            and transfer_after < min(ring.talk_s, call.script.talk_limit)
        ):
            self._after(call.timers, transfer_after, self._agent_transfers, call)
        elif call.script.talk_limit < ring.talk_s:
            self._after(call.timers, call.script.talk_limit, self._caller_hangs_up, call)
        else:
            self._after(call.timers, ring.talk_s, self._agent_hangs_up, call)
        self._dispatch_all()

    def _complete(self, call: Call, reason: str, *, context: str = "", exten: str = "") -> None:
        ring = call.connected
        assert ring is not None and call.entry is not None
        q, m = call.entry.queue, ring.member
        talk = int(self.now) - int(call.connected_at)
        self.dial_event(
            "AgentComplete",
            call.ch2,
            ring.ch1,
            [
                ("Queue", q.name),
                ("Interface", m.interface),
                ("MemberName", m.name),
                ("HoldTime", str(call.hold_s)),
                ("TalkTime", str(talk)),
                ("Reason", reason),
            ],
            AGENT,
        )
        if reason == "transfer":
            self.log(
                call.ch2.uniqueid,
                q.name,
                m.name,
                "BLINDTRANSFER",
                exten,
                context,
                call.hold_s,
                talk,
                call.entry.orig_pos,
            )
        else:
            event = "COMPLETECALLER" if reason == "caller" else "COMPLETEAGENT"
            self.log(
                call.ch2.uniqueid, q.name, m.name, event, call.hold_s, talk, call.entry.orig_pos
            )
        m.calls_taken += 1
        m.last_call = int(self.now)
        q.completed += 1
        q.talktime_total += talk
        truth = call.truth
        if reason == "transfer":
            truth.outcome, truth.talk_s, truth.hangup_by = "transferred", talk, None
        else:
            truth.outcome, truth.talk_s, truth.hangup_by = "answered", talk, reason
            self._close_redirected(call)
        self._talking.discard(call)

    def _agent_transfers(self, call: Call) -> None:
        ring = call.connected
        if ring is None:
            return
        # Transferred once: the second leg is not transferred again.
        call.transferred = True
        if call.script.transfer_by_redirect:
            self.redirect(call.ch2.name, TRANSFER_CONTEXT, "complaint")
        else:
            self.blind_transfer(ring.ch1.name, TRANSFER_CONTEXT, "complaint")

    def _caller_hangs_up(self, call: Call) -> None:
        ring = call.connected
        assert ring is not None
        ch1, ch2, a1, a2 = call.ch1, call.ch2, ring.ch1, ring.ch2
        self.cdr(ch1, "Hangup", "", destination="s")
        self.ch_event("SoftHangupRequest", CALL, ch1, [("Cause", "16")])
        self.ch_event("HangupRequest", CALL, ch2, [("Cause", "16")])
        self.hangup(ch1)
        self._complete(call, "caller")
        self.caller_device("NOT_INUSE")
        self.send("BridgeLeave", CALL, bridge_block(call.bridge_id, 1), channel_block(ch2))
        self._after_bridge_vars(call)
        self.cdr(ch2, "Queue", ch2.appdata, dest_channel=a1.name)
        self.ch_event("SoftHangupRequest", CALL, ch2, [("Cause", "16")])
        self.hangup(ch2)
        self.send("BridgeLeave", CALL, bridge_block(call.bridge_id, 0), channel_block(a1))
        self.ch_event("HangupRequest", CALL, a2, [("Cause", "16")])
        self.hangup(a1)
        self._agent_side_down(ring)
        self.send("BridgeDestroy", CALL, bridge_block(call.bridge_id, 0))
        self.hangup(a2)
        self.cdr(a2, "Wait", f"{ring.talk_s:g}")
        self._finish(call)
        self._dispatch_all()

    def _agent_hangs_up(self, call: Call) -> None:
        ring = call.connected
        assert ring is not None
        ch1, ch2, a1, a2 = call.ch1, call.ch2, ring.ch1, ring.ch2
        self.newexten(a2, 12, "Hangup", "")
        self.ch_event("SoftHangupRequest", CALL, a2, [("Cause", "16")])
        self._agent_side_down(ring)
        self.cdr(a2, "Hangup", "")
        self.ch_event("HangupRequest", CALL, a1, [("Cause", "16")])
        self.send("BridgeLeave", CALL, bridge_block(call.bridge_id, 1), channel_block(a1))
        self.send("BridgeLeave", CALL, bridge_block(call.bridge_id, 0), channel_block(ch2))
        self._after_bridge_vars(call)
        self.ch_event("SoftHangupRequest", CALL, ch2, [("Cause", "16")])
        self.send("BridgeDestroy", CALL, bridge_block(call.bridge_id, 0))
        self._complete(call, "agent")
        self.cdr(ch2, "Queue", ch2.appdata, dest_channel=a1.name)
        self.hangup(a1)
        self.hangup(ch2)
        self.hangup(a2)
        self.cdr(ch1, "Wait", "", destination="s")
        self.hangup(ch1)
        self.caller_device("NOT_INUSE")
        self.caller_device("NOT_INUSE")
        self._finish(call)
        self._dispatch_all()

    def _after_bridge_vars(self, call: Call) -> None:
        ring = call.connected
        assert ring is not None and call.entry is not None
        q = call.entry.queue
        self.varset(call.ch2, "BRIDGEPEER", "")
        self.varset(ring.ch1, "BRIDGEPEER", "")
        self.queue_vars(call.ch2, q)
        talked = self.now - call.connected_at
        dialed = self.now - ring.started
        for var, value in (
            ("ANSWEREDTIME", str(int(talked))),
            ("ANSWEREDTIME_MS", str(round(talked * 1000))),
            ("DIALEDTIME", str(int(dialed))),
            ("DIALEDTIME_MS", str(round(dialed * 1000))),
        ):
            self.varset(call.ch2, var, value)
        self.queue_vars(call.ch2, q)

    def _agent_side_down(self, ring: Ring) -> None:
        m = ring.member
        exten = _exten_of(m.interface)[0]
        self.ch_event(
            "HangupHandlerRun",
            DIALPLAN,
            ring.ch2,
            [("Handler", f"agent-robot-hangup,s,1({exten})")],
        )
        self.varset(ring.ch2, "LOCAL(ARG1)", exten)
        self.varset(ring.ch2, "LOCAL(ARGC)", "1")
        self.newexten(
            ring.ch2,
            1,
            "Set",
            f"DEVICE_STATE({m.state_interface})=NOT_INUSE",
            context="agent-robot-hangup",
            exten="s",
        )
        self._set_device(m, "NOT_INUSE")
        self.member_local_device(m, "NOT_INUSE")

    def _abandon(self, entry: Entry) -> None:
        """The caller hangs up while waiting in the queue."""
        call, q = entry.call, entry.queue
        ch1, ch2 = call.ch1, call.ch2
        self.ch_event("SoftHangupRequest", CALL, ch1, [("Cause", "16")])
        self.ch_event("HangupRequest", CALL, ch2, [("Cause", "16")])
        self.cdr(ch1, "Hangup", "", destination="s")
        self.hangup(ch1)
        self.ch_event("MusicOnHoldStop", CALL, ch2)
        self.caller_device("NOT_INUSE")
        if entry.ring is not None:
            self._drop_ring(entry, no_answer=False)
        wait = self._caller_leaves(entry)
        self.log(ch2.uniqueid, q.name, "NONE", "ABANDON", *wait)
        self.ch_event("SoftHangupRequest", CALL, ch2, [("Cause", "16")])
        self.cdr(ch2, "Queue", ch2.appdata)
        self.hangup(ch2)
        self.caller_device("NOT_INUSE")
        truth = call.truth
        truth.outcome, truth.wait_s, truth.hangup_by = "abandoned", wait[2], "caller"
        self._finish(call)
        self._dispatch_all()

    def _caller_leaves(self, entry: Entry) -> tuple[int, int, int]:
        """QueueCallerAbandon + QueueCallerLeave; returns (position, origpos, waittime)."""
        q, ch2 = entry.queue, entry.call.ch2
        pos = q.waiting.index(entry) + 1
        wait = int(self.now) - int(entry.joined)
        self.queue_vars(ch2, q)
        self.ch_event(
            "QueueCallerAbandon",
            AGENT,
            ch2,
            [
                ("Queue", q.name),
                ("Position", str(pos)),
                ("OriginalPosition", str(entry.orig_pos)),
                ("HoldTime", str(wait)),
            ],
        )
        q.abandoned += 1  # app_queue counts a Queue() timeout as abandoned too
        self.queue_vars(ch2, q)
        self._leave(entry)
        if not q.waiting:
            self.device_state(f"Queue:{q.name}", "NOT_INUSE")
        self.ch_event(
            "QueueCallerLeave",
            AGENT,
            ch2,
            [
                ("Queue", q.name),
                ("Position", str(pos)),
                ("Count", str(len(q.waiting))),
            ],
        )
        return pos, entry.orig_pos, wait

    def _timeout(self, entry: Entry) -> None:
        """Queue()'s own timeout (QUEUE_MAX_WAIT): EXITWITHTIMEOUT, then the callback step."""
        call, q = entry.call, entry.queue
        ch2 = call.ch2
        if entry.ring is not None:
            self._drop_ring(entry, no_answer=True)
        self.ch_event("MusicOnHoldStop", CALL, ch2)
        wait = self._caller_leaves(entry)
        self.log(ch2.uniqueid, q.name, "NONE", "EXITWITHTIMEOUT", *wait)
        self.varset(ch2, "QUEUESTATUS", "TIMEOUT")
        truth = call.truth
        truth.outcome, truth.wait_s = "timeout", wait[2]
        if ch2.context == TRANSFER_CONTEXT:
            # [hotline-transfer] has no callback step: NoOp, Hangup().
            self.newexten(ch2, 4, "NoOp", "QUEUESTATUS=TIMEOUT")
            call.phase = "callback"
            self._after(call.timers, 0.0, self._dialplan_hangup, call, 5)
            self._dispatch_all()
            return
        self.newexten(ch2, 9, "NoOp", "QUEUESTATUS=TIMEOUT")
        self.newexten(ch2, 10, "GotoIf", "1?callback")
        num = call.script.caller_num
        self.newexten(
            ch2,
            13,
            "UserEvent",
            f"HotlineCallbackRequest,Queue: {q.name},Uniqueid: {ch2.uniqueid},CallerIDNum: {num}",
        )
        self.ch_event(
            "UserEvent",
            USER,
            ch2,
            [
                ("UserEvent", "HotlineCallbackRequest"),
                ("Queue", q.name),
                ("Uniqueid", ch2.uniqueid),
                ("CallerIDNum", num),
            ],
        )
        self.newexten(ch2, 14, "QueueLog", f"{q.name},{ch2.uniqueid},NONE,CALLBACKREQ,{num}")
        self.log(ch2.uniqueid, q.name, "NONE", "CALLBACKREQ", num)
        self.newexten(ch2, 15, "Playback", "vm-intro")
        call.phase = "callback"
        intro, record, goodbye = CALLBACK_STEPS_S
        self._after(
            call.timers,
            intro,
            self.newexten,
            ch2,
            16,
            "Record",
            f"/var/spool/asterisk/monitor/callback-{ch2.uniqueid}.wav,0,5,k",
        )
        self._after(call.timers, intro + record, self.newexten, ch2, 17, "Playback", "vm-goodbye")
        self._after(call.timers, intro + record + goodbye, self._dialplan_hangup, call, 18)
        self._dispatch_all()

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

    # ---- transfers -----------------------------------------------------------------------

    def find_connected(self, channel: str) -> Call | None:
        """The call in conversation on ``channel`` (the agent's ;1 or the caller's ;2)."""
        for call in self._talking:
            ring = call.connected
            if ring is not None and channel in (ring.ch1.name, call.ch2.name):
                return call
        return None

    def redirect(self, channel: str, context: str, exten: str) -> bool:
        """AMI Redirect of a talking caller to ``[hotline-transfer]``.

        Unlike BlindTransfer nothing is logged now: no BlindTransfer event, no AgentComplete;
        the first leg's AgentComplete (without any channel fields) and COMPLETECALLER come
        when the call ends, with a talk time that runs to that end (README pitfall 7).
        """
        call = next((c for c in self._talking if c.ch2.name == channel), None)
        queue = TRANSFER_TARGETS.get(exten) if context == TRANSFER_CONTEXT else None
        if call is None or queue is None or call.entry is None or call.connected is None:
            return False
        ring, entry = call.connected, call.entry
        ch2, a1, a2, m = call.ch2, ring.ch1, ring.ch2, ring.member
        self.newexten(
            ch2,
            1,
            "NoOp",
            f"Transferred {ch2.cid_num} to the complaint queue",
            context=context,
            exten=exten,
        )
        self.send("BridgeLeave", CALL, bridge_block(call.bridge_id, 1), channel_block(ch2))
        self.varset(ch2, "QUEUENAME", "")
        m.calls_taken += 1
        m.last_call = int(self.now)
        call.pending.append((entry.queue, m, call.hold_s, call.connected_at, entry.orig_pos))
        old = call.truth
        old.outcome, old.hangup_by = "transferred", None
        old.talk_s = int(self.now) - int(call.connected_at)
        self._cancel(call.timers)
        self._talking.discard(call)
        self._next_leg(call, queue)
        self.send("BridgeLeave", CALL, bridge_block(call.bridge_id, 0), channel_block(a1))
        self.send("BridgeDestroy", CALL, bridge_block(call.bridge_id, 0))
        self.ch_event("HangupRequest", CALL, a2, [("Cause", "16")])
        self.ch_event("SoftHangupRequest", CALL, a2, [("Cause", "16")])
        self.hangup(a1)
        self._agent_side_down(ring)
        self.cdr(a2, "Wait", f"{ring.talk_s:g}")
        self.hangup(a2)
        self._dispatch_all()
        return True

    def _next_leg(self, call: Call, queue: str) -> None:
        """The caller, now in [hotline-transfer], starts a new queue leg."""
        ch2 = call.ch2
        ch2.bridge_id = ""
        old = call.truth
        self._leg_done(old)
        leg = CallTruth(
            old.linkedid,
            old.uniqueid,
            old.caller_num,
            old.caller_name,
            ivr_digits=old.ivr_digits,
            recording=old.recording,
            started_at=self.now,
        )
        self.truths.append(leg)
        call.legs.append(leg)
        call.truth = leg
        call.connected, call.entry = None, None
        self.newexten(ch2, 2, "Set", f"HOTLINE_QUEUE={queue}")
        self.varset(ch2, "HOTLINE_QUEUE", queue)
        call.queue_name = queue
        self._queue(call, priority=3)

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

    def blind_transfer(self, channel: str, context: str, exten: str) -> bool:
        """AMI BlindTransfer of a queue call to ``[hotline-transfer]`` (ends this queue leg)."""
        call = self.find_connected(channel)
        queue = TRANSFER_TARGETS.get(exten) if context == TRANSFER_CONTEXT else None
        if call is None or queue is None or call.entry is None:
            return False
        ring = call.connected
        assert ring is not None
        ch2, a1, a2 = call.ch2, ring.ch1, ring.ch2
        self.ch_event("Unhold", CALL, a1)
        self.varset(a1, "BLINDTRANSFER", ch2.name)
        self.varset(ch2, "BLINDTRANSFER", a1.name)
        self.varset(a1, "BRIDGEPEER", "")
        self.send(
            "BlindTransfer",
            CALL,
            [("Result", "Success")],
            channel_block(a1, "Transferer"),
            channel_block(ch2, "Transferee"),
            bridge_block(call.bridge_id, 2),
            [("IsExternal", "Yes"), ("Context", context), ("Extension", exten)],
        )
        self.varset(ch2, "BRIDGEPEER", "")
        self.newexten(
            ch2,
            1,
            "NoOp",
            f"Transferred {ch2.cid_num} to the complaint queue",
            context=context,
            exten=exten,
        )
        self.send("BridgeLeave", CALL, bridge_block(call.bridge_id, 1), channel_block(ch2))
        self.queue_vars(ch2, call.entry.queue)
        self._complete(call, "transfer", context=context, exten=exten)
        self.send("BridgeLeave", CALL, bridge_block(call.bridge_id, 0), channel_block(a1))
        self.ch_event("HangupRequest", CALL, a2, [("Cause", "16")])
        self.hangup(a1)
        self.send("BridgeDestroy", CALL, bridge_block(call.bridge_id, 0))
        self._agent_side_down(ring)
        self.hangup(a2)
        self.cdr(a2, "Wait", f"{ring.talk_s:g}")
        self._cancel(call.timers)
        self._talking.discard(call)
        self._next_leg(call, queue)
        self._dispatch_all()
        return True

    def active_calls(self) -> int:
        return sum(1 for t in self.truths if t.ended_at is None)
