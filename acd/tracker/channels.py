"""Channel lifecycle events: which channels exist, which of them are hotline calls (entered
the IVR or a queue), and what a hangup closes."""

from __future__ import annotations

from acd.tracker.core import TrackerCore
from acd.tracker.state import OUTGOING_APPS, Channel, caller_id, whole_seconds


class ChannelEvents(TrackerCore):
    """Newchannel / NewCallerid / Newexten / Hangup handlers."""

    def _on_newchannel(self, h: dict[str, str]) -> None:
        uid = h.get("Uniqueid")
        if not uid:
            return
        self.channels[uid] = Channel(
            name=h.get("Channel", ""),
            uniqueid=uid,
            linkedid=h.get("Linkedid") or uid,
            created_at=self.clock,
            caller_num=caller_id(h.get("CallerIDNum")),
            caller_name=caller_id(h.get("CallerIDName")),
        )

    def _on_newcallerid(self, h: dict[str, str]) -> None:
        uid = h.get("Uniqueid", "")
        num, name = caller_id(h.get("CallerIDNum")), caller_id(h.get("CallerIDName"))
        chan = self.channels.get(uid)
        if chan is not None:
            chan.caller_num = num or chan.caller_num
            chan.caller_name = name or chan.caller_name
        call = self.calls.get(uid)
        if call is not None:
            call.caller_num = num or call.caller_num
            call.caller_name = name or call.caller_name

    def _on_newexten(self, h: dict[str, str]) -> None:
        uid = h.get("Uniqueid", "")
        app = h.get("Application", "")
        call = self.calls.get(uid)
        if call is None:
            if app in OUTGOING_APPS:
                return
            if app in ("AGI", "Queue") or h.get("Context") in self._entry_contexts:
                call = self._start_call(uid, h)
            else:
                return
        if app == "Queue":
            queue = h.get("AppData", "").split(",", 1)[0].strip()
            call.queue_app = (queue, self.clock)
            self._finish_ivr(call, None)

    def _on_hangup(self, h: dict[str, str]) -> None:
        uid = h.get("Uniqueid", "")
        self.channels.pop(uid, None)
        call = self.calls.pop(uid, None)
        if call is None:
            self._on_agent_hangup(uid, h.get("Channel", ""))
            return
        now = self.clock
        leg = call.leg
        if leg is not None:
            if leg.answered_by is not None:
                end = call.talk_end or now
                leg.talk_s = whole_seconds(leg.answered_at or end, end)
                self._close(call, "answered", "agent" if call.agent_gone else "caller", end)
            else:
                if leg.wait_s is None:
                    leg.wait_s = whole_seconds(leg.queue_entered_at or now, now)
                self._close(call, "abandoned", "caller", call.abandon_at or now)
        elif call.legs_done == 0:
            self._finish_ivr(call, None)
            record = self._new_leg(call)
            self._close(call, "ivr_hangup", "caller", now, record=record)
        self._forget_agents(call)

    def _on_agent_hangup(self, uid: str, name: str) -> None:
        caller = self._agent_calls.pop(uid, None)
        self._agent_calls.pop(name, None)
        call = self.calls.get(caller) if caller else None
        if call is None:
            return
        call.ringing.pop(uid, None)
        if call.leg is not None and call.agent_uid == uid:
            call.agent_gone = True
            if call.talk_end is None:
                call.talk_end = self.clock
