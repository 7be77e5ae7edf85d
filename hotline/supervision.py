"""Listen / whisper / barge for the web routes (hotline/web/api_spy.py): who the supervisor
is (their phone, from the agent table), which call the agent is on (the PBX's call tracker)
and the spy session on that PBX (acd.spy). Failures are `DeskError`s with a stable id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from acd.agents.actions import AgentActionFailed
from acd.calls import CallTracker
from acd.spy import OPTIONS, Spy, SpyTarget
from hotline.agent_desk import DeskError
from ticketing.agents import AgentDirectory
from ticketing.spy_log import SpyLog

_ACTION_STATUS = {"refused": 409, "timeout": 504, "unavailable": 503}

AgentName = Callable[[str, str | None], str]


class SpyDesk:
    def __init__(
        self,
        directory: AgentDirectory,
        spy_log: SpyLog,
        spies: Mapping[str, Spy],
        trackers: Mapping[str, CallTracker],
        agent_name: AgentName,
    ) -> None:
        self.directory = directory
        self.log = spy_log
        self.spies = spies
        self.trackers = trackers
        # interface, MemberName → the display name (the wall screen's names)
        self.agent_name = agent_name

    def _call_of(self, pbx: str, interface: str) -> dict[str, Any] | None:
        for call in self.trackers[pbx].active_calls():
            if call.get("interface") == interface and call.get("stage") == "talking":
                return call
        return None

    async def start(self, supervisor: str, agent: str, mode: str) -> dict[str, Any]:
        """``agent`` is the wall screen's agent id ``pbx|interface``."""
        if mode not in OPTIONS:
            raise DeskError("input.out_of_range", "mode: listen, whisper or barge", 400, "mode")
        pbx, _, interface = agent.partition("|")
        if pbx not in self.spies or not interface:
            raise DeskError("spy.unknown_agent", f"no agent {agent!r} on a followed PBX", 404)
        phone = await self.directory.for_user(supervisor)
        if phone is None:
            raise DeskError(
                "spy.no_phone",
                f"{supervisor} is not tied to a phone: hotline user phone {supervisor} "
                "--extension EXT",
                409,
            )
        if phone["pbx"] != pbx:
            raise DeskError(
                "spy.no_phone", f"{supervisor}'s phone is on {phone['pbx']}, not {pbx}", 409
            )
        if self.spies[pbx].active(supervisor):
            # One phone, one spy call: modes switch on the phone (ChanSpy's d option).
            raise DeskError(
                "spy.in_session",
                "already on a spy call: press 4 listen / 5 whisper / 6 barge on your phone "
                "(按 4 监听 / 5 密语 / 6 强插), or stop it first",
                409,
            )
        call = self._call_of(pbx, interface)
        if call is None or not call.get("agent_channel"):
            raise DeskError("spy.not_in_call", "the agent is not talking on a call now", 409)
        name = self.agent_name(interface, call.get("member"))
        target = SpyTarget(interface, name, str(call["agent_channel"]), call.get("linkedid"))
        caller_id = f'"{_MODE_ZH[mode]} {name}" <{phone["extension"]}>'
        try:
            session = await self.spies[pbx].start(
                supervisor, phone["interface"], caller_id, target, mode
            )
        except AgentActionFailed as error:
            raise DeskError(
                f"agent.pbx_{error.kind}", error.message, _ACTION_STATUS[error.kind]
            ) from None
        return {
            **session,
            # ChanSpy's d option: the keys that switch modes on the phone.
            "keys": {"4": "listen", "5": "whisper", "6": "barge"},
        }

    async def stop(self, supervisor: str) -> dict[str, Any]:
        """End the supervisor's spy calls on every PBX (their phone is hung up)."""
        stopped = 0
        for spy in self.spies.values():
            try:
                stopped += await spy.stop(supervisor)
            except AgentActionFailed as error:
                raise DeskError(
                    f"agent.pbx_{error.kind}", error.message, _ACTION_STATUS[error.kind]
                ) from None
        return {"stopped": stopped}

    async def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        return await self.log.recent(limit)


_MODE_ZH = {"listen": "监听", "whisper": "密语", "barge": "强插"}
