"""Let a real FastAGI IVR server run the simulated calls' IVR.

With ``pbx.ivr_driver = FastAgiDriver(host, port, speed)`` each call reaching ``AGI()`` opens a
FastAGI session (``agi_client``) and the PBX emits the AGIExecStart/End, DTMF and VarSet events
of what the server really does, then goes on with the server's HOTLINE_* variables. Needs a
running event loop: use it with ``Simulation.run_realtime`` (the same ``speed``), not with
``generate``/``run_until``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from .agi_client import FastAgiClient, Phone, agi_environment
from .caller_path import CallerPath
from .pbx_state import Call

log = logging.getLogger(__name__)


class FastAgiDriver:
    def __init__(self, host: str, port: int, *, speed: float = 1.0) -> None:
        self.host, self.port, self.speed = host, port, speed
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, pbx: CallerPath, call: Call) -> None:
        self._spawn(self._run(pbx, call))

    def survey(self, pbx: CallerPath, call: Call) -> None:
        """The post-call survey: AGI(agi://…/survey) on the caller's channel after Queue()."""
        phone = Phone(keys=[call.script.survey], key_delay=call.script.dtmf_delay)
        self._spawn(self._run(pbx, call, phone=phone, request=pbx.config.survey_url))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def sessions(self) -> int:
        return len(self._tasks)

    async def _run(
        self, pbx: CallerPath, call: Call, *, phone: Phone | None = None, request: str = ""
    ) -> None:
        script, ch2 = call.script, call.ch2
        if phone is None:
            hangups = [t for t in (script.ivr_hangup_after, script.hangup_after) if t is not None]
            phone = Phone(
                keys=[script.dtmf],
                key_delay=script.dtmf_delay,
                hangup_after=min(hangups) if hangups else None,
            )
        client = FastAgiClient(
            self.host,
            self.port,
            speed=self.speed,
            channel_vars={
                "UNIQUEID": ch2.uniqueid,
                "CHANNEL(linkedid)": ch2.linkedid,
                "CALLERID(num)": ch2.cid_num,
                "CALLERID(name)": ch2.cid_name,
            },
            on_command=lambda command, reply: pbx.agi_command(call, command, reply),
        )
        env = agi_environment(
            channel=ch2.name,
            uniqueid=ch2.uniqueid,
            caller_num=ch2.cid_num,
            caller_name=ch2.cid_name,
            request=request or pbx.config.agi_url,
        )
        try:
            result = await client.run(env, phone)
            status = "HANGUP" if result.hung_up else "SUCCESS"
        except OSError as error:
            # Asterisk's AGISTATUS=FAILURE: the dialplan's degraded path takes over.
            log.warning(
                "FastAGI %s:%s unreachable for %s: %s", self.host, self.port, ch2.uniqueid, error
            )
            status = "FAILURE"
        pbx.agi_done(call, status)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except asyncio.CancelledError:
                pass
