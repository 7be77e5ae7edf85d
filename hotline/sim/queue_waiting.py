"""A caller in Queue() without an agent: joining, abandoning, Queue()'s timeout, joinempty.

Queue() timeout (QUEUE_MAX_WAIT) -> EXITWITHTIMEOUT and the dialplan's callback step;
joinempty=no on a queue without unpaused members -> JOINEMPTY (logged by the dialplan).
"""

from __future__ import annotations

from .emitter import AGENT, CALL, USER
from .model import INFINITY
from .pbx_core import TRANSFER_CONTEXT
from .pbx_state import Call, Entry
from .queue_engine import QueueEngine

BUSY_PROMPT_S = 1.82
CALLBACK_STEPS_S = (5.67, 5.44, 0.88)  # vm-intro, Record(…,5), vm-goodbye


class QueueWaiting(QueueEngine):
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
        self.ch_event("MusicOnHoldStart", CALL, ch2, [("Class", self.config.moh_class)])
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
        # the rendered dialplan names the message in the UserEvent; the captures' did not
        message = (
            f"{self.config.recordings_dir}/callback-{ch2.uniqueid}.wav"
            if self.config.callback_message_event
            else ""
        )
        self.newexten(
            ch2,
            13,
            "UserEvent",
            f"HotlineCallbackRequest,Queue: {q.name},Uniqueid: {ch2.uniqueid},CallerIDNum: {num}"
            + (f",Message: {message}" if message else ""),
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
                *([("Message", message)] if message else []),
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
            f"{self.config.recordings_dir}/callback-{ch2.uniqueid}.wav,0,5,k",
        )
        self._after(call.timers, intro + record, self.newexten, ch2, 17, "Playback", "vm-goodbye")
        self._after(call.timers, intro + record + goodbye, self._dialplan_hangup, call, 18)
        self._dispatch_all()
