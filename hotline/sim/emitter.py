"""AMI event emission for the simulated PBX: field blocks in Asterisk's order, timestamps.

Everything channel-level lives here (Newexten, VarSet, Newstate, Hangup, Cdr, Dial*…); the
PBX (``pbx``) decides what happens and when. Events on a ghost channel (the robot half of a
Local pair that a PJSIP call does not have) are never sent.
"""

from __future__ import annotations

from collections.abc import Callable

from acd.ami.message import AmiMessage

from .cdr_writer import CdrCsvWriter, CdrLine, cdr_time
from .channels import UP, Channel, channel_block
from .model import Counters
from .scheduler import Scheduler

Emit = Callable[[AmiMessage], None]

CALL, AGENT, AGI, DIALPLAN, DTMF, CDR, USER = (
    "call,all",
    "agent,all",
    "agi,all",
    "dialplan,all",
    "dtmf,all",
    "cdr,all",
    "user,all",
)


class ChannelEvents:
    """Base of the PBX: sends channel events stamped with the simulated clock."""

    scheduler: Scheduler
    emit: Emit
    counters: Counters
    channels: dict[str, Channel]
    _last_ts: float
    # Where the Cdr events are also written as cdr_csv lines (None: nowhere).
    cdr_csv: CdrCsvWriter | None = None
    _cdr_sequence = 0

    @property
    def now(self) -> float:
        return self.scheduler.now

    def _stamp(self) -> float:
        # Several events in one instant get increasing microsecond timestamps, as on the wire.
        ts = max(self.now, self._last_ts + 0.000007)
        self._last_ts = ts
        return ts

    def send(self, name: str, privilege: str, *blocks: list[tuple[str, str]]) -> float:
        ts = self._stamp()
        fields: list[tuple[str, str]] = [
            ("Event", name),
            ("Privilege", privilege),
            ("Timestamp", f"{ts:.6f}"),
        ]
        for block in blocks:
            fields.extend(block)
        self.counters.events += 1
        self.emit(AmiMessage(fields))
        return ts

    def ch_event(
        self, name: str, privilege: str, ch: Channel, extra: list[tuple[str, str]] | None = None
    ) -> float:
        if ch.ghost:
            return self._last_ts
        return self.send(name, privilege, channel_block(ch), extra or [])

    def newexten(
        self,
        ch: Channel,
        priority: int,
        app: str,
        data: str,
        context: str | None = None,
        exten: str | None = None,
    ) -> float:
        ch.priority = priority
        if context is not None:
            ch.context = context
        if exten is not None:
            ch.exten = exten
        ch.app, ch.appdata = app, data
        if ch.ghost:
            return self._last_ts
        return self.ch_event(
            "Newexten",
            DIALPLAN,
            ch,
            [
                ("Extension", ch.exten),
                ("Application", app),
                ("AppData", data),
            ],
        )

    def varset(self, ch: Channel, variable: str, value: str) -> float:
        ch.variables[variable] = value
        return self.ch_event("VarSet", DIALPLAN, ch, [("Variable", variable), ("Value", value)])

    def local_bridge(self, one: Channel, two: Channel) -> None:
        if one.ghost or two.ghost:
            return
        self.send(
            "LocalBridge",
            CALL,
            channel_block(one, "LocalOne"),
            channel_block(two, "LocalTwo"),
            [("Context", two.context), ("Exten", two.exten), ("LocalOptimization", "No")],
        )

    def newstate(self, ch: Channel, state: int) -> None:
        ch.state = state
        if state == UP and ch.answered is None:
            ch.answered = self.now
        self.ch_event("Newstate", CALL, ch)

    def device_state(self, device: str, state: str) -> None:
        self.send("DeviceStateChange", CALL, [("Device", device), ("State", state)])

    def dial_event(
        self,
        name: str,
        caller: Channel | None,
        dest: Channel,
        extra: list[tuple[str, str]],
        privilege: str = CALL,
    ) -> float:
        if dest.ghost:
            return self._last_ts
        blocks = [channel_block(caller)] if caller is not None else []
        return self.send(name, privilege, *blocks, channel_block(dest, "Dest"), extra)

    def hangup(self, ch: Channel, cause: int = 16) -> None:
        ch.alive = False
        if ch.ghost:
            return
        self.channels.pop(ch.name, None)
        text = "Normal Clearing" if cause == 16 else "Unknown"
        self.ch_event("Hangup", CALL, ch, [("Cause", str(cause)), ("Cause-txt", text)])

    def cdr(
        self,
        ch: Channel,
        last_app: str,
        last_data: str,
        dest_channel: str = "",
        destination: str | None = None,
    ) -> None:
        if ch.ghost:
            return
        end = self.now
        answered = ch.answered
        billsec = int(end - answered) if answered is not None else 0
        dst = destination if destination is not None else ch.exten
        clid = f'"{ch.cid_name}" <{ch.cid_num}>'
        disposition = "ANSWERED" if answered is not None else "NO ANSWER"
        if self.cdr_csv is not None:
            self.cdr_csv.write(
                CdrLine(
                    src=ch.cid_num,
                    dst=dst,
                    dcontext=ch.context,
                    clid=clid,
                    channel=ch.name,
                    dstchannel=dest_channel,
                    lastapp=last_app,
                    lastdata=last_data,
                    start=ch.created,
                    answer=answered,
                    end=end,
                    disposition=disposition,
                    uniqueid=ch.uniqueid,
                    linkedid=ch.linkedid,
                    sequence=self._cdr_sequence,
                    accountcode=ch.accountcode,
                )
            )
            self._cdr_sequence += 1
        self.send(
            "Cdr",
            CDR,
            [
                ("AccountCode", ch.accountcode),
                ("Source", ch.cid_num),
                ("Destination", dst),
                ("DestinationContext", ch.context),
                ("CallerID", clid),
                ("Channel", ch.name),
                ("DestinationChannel", dest_channel),
                ("LastApplication", last_app),
                ("LastData", last_data),
                ("StartTime", cdr_time(ch.created)),
                ("AnswerTime", cdr_time(answered)),
                ("EndTime", cdr_time(end)),
                ("Duration", str(int(end - ch.created))),
                ("BillableSeconds", str(billsec)),
                ("Disposition", disposition),
                ("AMAFlags", "DOCUMENTATION"),
                ("UniqueID", ch.uniqueid),
                ("UserField", ""),
            ],
        )
