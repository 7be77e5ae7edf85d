"""Calls the service places from an agent's phone (the call-back list's ``Originate``).

As Asterisk 22 does for ``Originate Channel=<member interface> Context=… Exten=<number>
Async=true``: the answer is ``Originate successfully queued`` at once; the phone rings
(device RINGING: QueueMemberStatus 6 in every queue it is in); when the agent answers
(its behaviour's ring time, within the Timeout) the channel is Up, the device INUSE and an
``OriginateResponse`` with Response Success, Reason 4 follows; the dialplan then dials the
citizen (not simulated beyond the agent's channel) and the phone hangs up after the
behaviour's talk time. A phone that does not answer within Timeout gives Response Failure,
Reason 3; an interface the PBX does not know, Failure with Reason 0 (no channel).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .channels import DOWN, UP, Channel
from .emitter import CALL

# Seconds the citizen's phone rings before they answer a call-back.
CITIZEN_ANSWERS_S = 4.0

if TYPE_CHECKING:
    from .pbx import Pbx
    from .pbx_state import Member


def originate_from_phone(
    pbx: Pbx, interface: str, context: str, exten: str, timeout_s: float, action_id: str
) -> None:
    members = pbx.members_of(interface)
    if not members:
        _response(pbx, action_id, False, "0", "", "", context, exten)
        return
    member = members[0][1]
    endpoint = interface.split("/", 1)[1] if "/" in interface else interface
    ch, _ = pbx._sip_channel(endpoint.split("@", 1)[0], context, exten, None, DOWN)
    ch.set_callerid(exten, exten)
    pbx.ch_event("Newchannel", CALL, ch)
    pbx._set_device(member, "RINGING")
    ring = member.behaviour.ring_time(pbx.rng)
    if ring >= timeout_s:
        pbx.scheduler.after(timeout_s, _no_answer, pbx, member, ch, action_id, context, exten)
        return
    pbx.scheduler.after(ring, _answered, pbx, member, ch, action_id, context, exten)


def _answered(
    pbx: Pbx, member: Member, ch: Channel, action_id: str, context: str, exten: str
) -> None:
    pbx.newstate(ch, UP)
    pbx._set_device(member, "INUSE")
    _response(pbx, action_id, True, "4", ch.name, ch.uniqueid, context, exten)
    # The outbound route dials the citizen through the trunk; they answer after a while.
    trunk, _ = pbx._sip_channel("pstn-trunk", context, exten, ch.linkedid, DOWN)
    trunk.set_callerid(exten, exten)
    pbx.dial_event("DialBegin", ch, trunk, [("DialString", f"{exten}@pstn-trunk")])
    pbx.scheduler.after(CITIZEN_ANSWERS_S, _citizen_answers, pbx, ch, trunk)
    talk = member.behaviour.talk_time(pbx.rng)
    pbx.scheduler.after(CITIZEN_ANSWERS_S + talk, _hang_up, pbx, member, ch, trunk)


def _citizen_answers(pbx: Pbx, ch: Channel, trunk: Channel) -> None:
    pbx.newstate(trunk, UP)
    pbx.dial_event("DialEnd", ch, trunk, [("DialStatus", "ANSWER")])


def _no_answer(
    pbx: Pbx, member: Member, ch: Channel, action_id: str, context: str, exten: str
) -> None:
    pbx.hangup(ch, 19)
    pbx._set_device(member, "NOT_INUSE")
    _response(pbx, action_id, False, "3", ch.name, ch.uniqueid, context, exten)


def _hang_up(pbx: Pbx, member: Member, ch: Channel, trunk: Channel) -> None:
    pbx.hangup(trunk)
    pbx.hangup(ch)
    pbx._set_device(member, "NOT_INUSE")


def _response(
    pbx: Pbx,
    action_id: str,
    ok: bool,
    reason: str,
    channel: str,
    uniqueid: str,
    context: str,
    exten: str,
) -> None:
    pbx.send(
        "OriginateResponse",
        CALL,
        [
            ("ActionID", action_id),
            ("Response", "Success" if ok else "Failure"),
            ("Channel", channel),
            ("Context", context),
            ("Exten", exten),
            ("Reason", reason),
            ("Uniqueid", uniqueid),
            ("CallerIDNum", "<unknown>"),
            ("CallerIDName", "<unknown>"),
        ],
    )
