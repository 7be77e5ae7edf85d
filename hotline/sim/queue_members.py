"""Queue members and their phones: member fields, device states, who is free to ring."""

from __future__ import annotations

from .channels import Channel
from .emitter import AGENT
from .model import MemberConfig
from .pbx_core import PbxCore
from .pbx_state import Device, Member, QueueState, exten_of

MEMBER_STATUS = {"NOT_INUSE": 1, "INUSE": 2, "RINGING": 6}


class QueueMembers(PbxCore):
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

    def member_local_device(self, m: Member, state: str) -> None:
        """The Local channel device of a robot member (a PJSIP member has none)."""
        exten, context = exten_of(m.interface)
        if m.interface.startswith("Local/"):
            self.device_state(f"Local/{exten}@{context}", state)

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
