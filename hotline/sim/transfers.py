"""Transfers of a talking caller to ``[hotline-transfer]``: AMI BlindTransfer and Redirect.

Either way the caller starts a new queue leg (a new ``CallTruth``) in the target queue.
"""

from __future__ import annotations

from .channels import bridge_block, channel_block
from .conversation import Conversation
from .emitter import CALL
from .model import CallTruth
from .pbx_core import TRANSFER_CONTEXT
from .pbx_state import Call
from .queue_waiting import QueueWaiting

# [hotline-transfer] extensions and the queue each one runs.
TRANSFER_TARGETS = {"complaint": "hotline-complaint"}


class Transfers(QueueWaiting, Conversation):
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
