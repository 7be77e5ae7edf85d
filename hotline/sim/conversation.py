"""A member answers: connect and bridge, then the conversation ends (caller or agent)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from .channels import UP, bridge_block, channel_block
from .emitter import AGENT, CALL, DIALPLAN
from .pbx_state import Call, Entry, Ring, exten_of
from .queue_engine import QueueEngine


class Conversation(QueueEngine):
    if TYPE_CHECKING:
        # A scripted agent transfers the call mid-conversation (``transfers``).
        def _agent_transfers(self, call: Call) -> None: ...

        # Runs the post-call survey on a real FastAGI server (``caller_path``).
        ivr_driver: Any

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
        ch2, a1, a2 = call.ch2, ring.ch1, ring.ch2
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
        if call.script.survey is not None and self.ivr_driver is not None:
            # Queue()'s `c` option: the caller goes on in the dialplan, to the survey.
            self.hangup(a2)
            self.caller_device("NOT_INUSE")
            self.newexten(ch2, 20, "AGI", self.config.survey_url)
            call.phase = "survey"
            self.ivr_driver.survey(self, call)
            self._dispatch_all()
            return
        self.hangup(ch2)
        self.hangup(a2)
        self._local_half_gone(call)

    def _local_half_gone(self, call: Call) -> None:
        """After the conversation (and the survey): the caller's Local half goes."""
        ch1 = call.ch1
        self.cdr(ch1, "Wait", "", destination="s")
        self.hangup(ch1)
        self.caller_device("NOT_INUSE")
        if call.phase != "survey":
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
        exten = exten_of(m.interface)[0]
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
