"""app_queue's engine: which member rings next for which caller, ringing, no answer, retry.

rrmemory (one member rung at a time, rotating, lower penalty first), member ring timeout and
retry from the queue config, ringinuse=no (a member ringing or talking anywhere is not rung),
autofill (every waiting caller may ring a free member).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from .channels import DOWN, RINGING
from .emitter import AGENT, CALL, DIALPLAN
from .pbx_state import Entry, Member, QueueState, Ring, exten_of
from .queue_members import QueueMembers

RECHECK_S = 1.0  # app_queue's RECHECK


class QueueEngine(QueueMembers):
    if TYPE_CHECKING:
        # A ring ends in an answer (``conversation``), which frees the queue to ring again:
        # app_queue's own cycle, declared here for the type checker.
        def _answer(self, entry: Entry) -> None: ...

    def _dispatch(self, q: QueueState) -> None:
        """Give free members to waiting callers, head of the queue first (autofill)."""
        for entry in list(q.waiting):
            if entry.ring is not None or entry.retry_timer is not None:
                continue
            member = self._pick(q)
            if member is None:
                return
            self._ring(entry, member)

    def _dispatch_all(self) -> None:
        for q in self.queues.values():
            if q.waiting:
                self._dispatch(q)

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
        exten, context = exten_of(m.interface)
        if m.interface.startswith("PJSIP/"):
            a1, a2 = self._sip_channel(exten, caller.context, "s", caller.linkedid, DOWN)
        else:
            a1, a2 = self._local_pair(exten, context, caller.linkedid)
        entry.rings += 1
        # Each ring draws from its own stream, keyed by caller, queue, member and attempt, not
        # from the PBX's one stream: when a real IVR's timing reorders the rings, every other
        # call must keep its answer and talk times, or runs of one seed stop being comparable.
        rng = random.Random(
            f"{self.seed}:{caller.uniqueid}:{entry.queue.config.name}:{m.name}:{entry.rings}"
        )
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
