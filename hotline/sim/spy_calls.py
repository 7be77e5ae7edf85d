"""A supervisor's phone rung into ChanSpy (``Originate Channel=<phone> Application=ChanSpy
Data=<agent channel>,<options>``), as the spy_and_record capture shows Asterisk 22 doing it:

``Originate successfully queued`` at once; the phone's channel appears (a Local pair for a
``Local/supN@supervisor-robot/n`` robot, one channel for a SIP phone), answers after
``SUPERVISOR_ANSWERS_S``, ``OriginateResponse`` Success Reason 4, then ``ChanSpyStart`` with
the Spyer… and Spyee… channel blocks. When the spied-on channel hangs up (option ``E``) or the
phone is hung up (AMI ``Hangup``): ``ChanSpyStop``, then the phone's ``Hangup``. DTMF mode
keys are not simulated (no phone to press them); an unknown spyee never starts spying, and the
phone hangs up after ``NOTHING_TO_SPY_S``. ``spies`` holds what the tests check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .channels import DOWN, UP, Channel, channel_block
from .emitter import CALL

if TYPE_CHECKING:
    from .pbx import Pbx

SUPERVISOR_ANSWERS_S = 1.0
SPY_STARTS_S = 0.1  # ChanSpy's start after the answer (0.1 s in the capture)
NOTHING_TO_SPY_S = 5.0


@dataclass(slots=True)
class SpyCall:
    phone: Channel
    other: Channel | None  # the ;2 half of a Local robot phone
    target: str
    options: str
    action_id: str
    spyee: Channel | None = None
    spying: bool = False


def originate_spy(
    pbx: Pbx, phone: str, data: str, caller_id: tuple[str, str], timeout_s: float, action_id: str
) -> None:
    target, _, options = data.partition(",")
    tech, _, rest = phone.partition("/")
    if tech == "Local":
        exten, _, context = rest.split("/", 1)[0].partition("@")
        ch, other = pbx._local_pair(exten, context, None)
        pbx.ch_event("Newchannel", CALL, ch)
        pbx.ch_event("Newchannel", CALL, other)
    else:
        ch, _ = pbx._sip_channel(rest.split("@", 1)[0], "", "", None, DOWN)
        other = None
        pbx.ch_event("Newchannel", CALL, ch)
    ch.app, ch.appdata = "ChanSpy", data
    call = SpyCall(ch, other, target, options, action_id)
    pbx.spies[ch.name] = call
    if timeout_s <= SUPERVISOR_ANSWERS_S:
        pbx.scheduler.after(timeout_s, _not_answered, pbx, call)
        return
    pbx.scheduler.after(SUPERVISOR_ANSWERS_S, _answered, pbx, call, caller_id)


def _answered(pbx: Pbx, call: SpyCall, caller_id: tuple[str, str]) -> None:
    name, num = caller_id
    for ch in (call.other, call.phone):
        if ch is not None and ch.alive:
            ch.set_callerid(num, name)
            pbx.newstate(ch, UP)
    _response(pbx, call, True, "4")
    pbx.scheduler.after(SPY_STARTS_S, _start, pbx, call)


def _start(pbx: Pbx, call: SpyCall) -> None:
    if not call.phone.alive:
        return
    # ChanSpy takes its first argument as a channel name prefix.
    spyee = next(
        (c for n, c in pbx.channels.items() if n.startswith(call.target) and c.alive), None
    )
    if spyee is None:
        pbx.scheduler.after(NOTHING_TO_SPY_S, hang_up_spy, pbx, call.phone.name)
        return
    call.spyee, call.spying = spyee, True
    call.phone.priority = 2
    _spy_event(pbx, "ChanSpyStart", call)


def spyee_gone(pbx: Pbx, spyee: Channel) -> None:
    """The spied-on channel hung up: ChanSpy (option E) stops and the phone hangs up."""
    for call in [c for c in pbx.spies.values() if c.spyee is spyee and c.spying]:
        hang_up_spy(pbx, call.phone.name)


def hang_up_spy(pbx: Pbx, name: str) -> bool:
    call = pbx.spies.pop(name, None)
    if call is None:
        return False
    if call.spying:
        call.spying = False
        _spy_event(pbx, "ChanSpyStop", call)
    for ch in (call.phone, call.other):
        if ch is not None and ch.alive:
            pbx.hangup(ch)
    return True


def _not_answered(pbx: Pbx, call: SpyCall) -> None:
    pbx.spies.pop(call.phone.name, None)
    for ch in (call.phone, call.other):
        if ch is not None and ch.alive:
            pbx.hangup(ch, 19)
    _response(pbx, call, False, "3")


def _spy_event(pbx: Pbx, name: str, call: SpyCall) -> None:
    assert call.spyee is not None
    pbx.send(
        name,
        CALL,
        channel_block(call.phone, "Spyer"),
        channel_block(call.spyee, "Spyee"),
    )


def _response(pbx: Pbx, call: SpyCall, ok: bool, reason: str) -> None:
    ch = call.phone
    pbx.send(
        "OriginateResponse",
        CALL,
        [
            ("ActionID", call.action_id),
            ("Response", "Success" if ok else "Failure"),
            ("Channel", ch.name),
            ("Context", ""),
            ("Exten", ""),
            ("Reason", reason),
            ("Uniqueid", ch.uniqueid),
            ("CallerIDNum", ch.cid_num),
            ("CallerIDName", ch.cid_name),
        ],
    )
