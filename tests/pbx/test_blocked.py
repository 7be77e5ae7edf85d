"""A blocklisted nuisance number on a real Asterisk 22: the IVR (read from the database) marks
the call, starts MixMonitor itself (the call never reaches the dialplan's MixMonitor before
the queue) and plays the notice; the evidence is a real WAV with audio in Asterisk's
monitor folder, named as every recording, and the stored record points at it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hotline.service import HotlineService
from tests.pbx.asterisk import Asterisk
from tests.pbx.pbx_logs import until
from tests.pbx.test_calls import audio_bytes, cli
from ticketing.blocklist import NumberBlocklist

pytestmark = pytest.mark.pbx

NUISANCE = "13700137001"


async def test_a_blocked_caller_is_recorded_as_evidence_by_asterisk(
    pbx: tuple[Asterisk, dict[str, Any]], service: HotlineService
) -> None:
    ast, _ = pbx
    assert service.store is not None and service.writer is not None
    assert service.ivr.blocklist is not None
    now = datetime.now(UTC)
    entry = await NumberBlocklist(service.store.engine).add(
        NUISANCE, "一天内骚扰来电40次", now + timedelta(days=7), "zhao", now=now
    )
    await service.ivr.blocklist.refresh()  # the next poll, now
    # The caller stays on the line: the IVR ends the call after its notice.
    await cli(ast, f"channel originate Local/{NUISANCE}@robot-dial/n extension wait@robot-caller")

    async def stored() -> dict[str, Any]:
        while True:
            assert service.store is not None and service.writer is not None
            await service.writer.flush(timeout=10)
            calls = await service.store.calls_between(
                datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
            )
            found = next((c for c in calls if c["caller_num"] == NUISANCE), None)
            if found is not None:
                return found
            await asyncio.sleep(0.1)  # bounded by wait_for below

    record = await asyncio.wait_for(stored(), 60)
    assert record["ivr_choice"] == "blocked" and record["outcome"] == "ivr_hangup"
    assert record["vars"]["HOTLINE_BLOCKED"] == str(entry["id"])
    assert record["queue"] is None
    wav = ast.monitor_dir / f"hotline-{record['uniqueid']}.wav"
    assert record["recording"] == str(wav)
    # MixMonitor closes the file when the channel goes: the notice's audio is in it.
    await until(lambda: audio_bytes(wav) > 0, 30, "the evidence recording with audio")
