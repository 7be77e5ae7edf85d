"""A blocklisted nuisance number calls the simulated PBX: the service's IVR, which read the
blocklist from the database, plays the notice, starts MixMonitor and hangs up, and the stored
call record is marked (ivr_choice blocked, HOTLINE_BLOCKED) with its recording as evidence."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hotline.sim.agi_driver import FastAgiDriver
from hotline.sim.model import CallerScript
from tests.service.test_agent_desk import SPEED, desk
from ticketing.blocklist import NumberBlocklist

NUISANCE = "13700137000"


async def test_a_blocked_caller_is_turned_away_and_the_record_marks_it(tmp_path: Path) -> None:
    async with desk(tmp_path, {"hotline-general": 0}) as d:
        store = d.service.store
        assert store is not None and d.service.ivr.blocklist is not None
        now = datetime.now(UTC)
        entry = await NumberBlocklist(store.engine).add(
            NUISANCE, "一天内骚扰来电40次", now + timedelta(days=7), "zhao", now=now
        )
        await d.service.ivr.blocklist.refresh()  # the next poll, now
        # Callers walk the service's own FastAGI IVR (not the simulator's scripted one).
        assert d.service.ivr.port is not None
        driver = FastAgiDriver("127.0.0.1", d.service.ivr.port, speed=SPEED)
        d.sim.pbx.ivr_driver = driver
        d.sim.place_call(CallerScript(NUISANCE, "骚扰", "1", patience=30.0))

        async def stored() -> dict[str, object]:
            while True:
                found = await store.calls_between(
                    datetime(2000, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
                )
                for call in found:
                    if call["caller_num"] == NUISANCE:
                        return call
                await asyncio.sleep(0.05)  # the writer flushes soon; wait_for bounds it

        try:
            call = await asyncio.wait_for(stored(), 20)
        finally:
            await driver.close()
        assert call["ivr_choice"] == "blocked"
        assert call["vars"]["HOTLINE_BLOCKED"] == str(entry["id"])
        assert call["queue"] is None and call["outcome"] == "ivr_hangup"
        assert str(call["recording"]).endswith(f"hotline-{call['uniqueid']}.wav")
