"""The IVR outcome fields of a call record: stored, returned, and checked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.ticketing.conftest import make_record
from ticketing.store import TicketStore

EVERYTHING = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


async def test_ivr_outcome_fields_round_trip(store: TicketStore) -> None:
    deflected = make_record(incident_id="INC-7", outcome="ivr_hangup", queue=None, language="zh")
    callback = make_record(callback_requested=True, language="en")
    plain = make_record()
    await store.save_calls([deflected, callback, plain])
    stored = {r["key"]: r for r in await store.calls_between(*EVERYTHING)}
    for record in (deflected, callback, plain):
        assert stored[record["key"]] == {**record, "survey": None}
    assert stored[deflected["key"]]["incident_id"] == "INC-7"
    assert stored[callback["key"]]["callback_requested"] is True


@pytest.mark.parametrize(
    "fields",
    [
        {"callback_requested": "yes"},
        {"incident_id": 7},
        {"language": "x" * 17},
        {"callback_message": 3},
        {"recording_audio": "no"},
    ],
)
async def test_bad_ivr_fields_refuse_the_batch(
    store: TicketStore, fields: dict[str, object]
) -> None:
    good = make_record()
    bad = {**make_record(), **fields}
    with pytest.raises(ValueError, match=bad["key"]):
        await store.save_calls([good, bad])
    assert await store.count_calls() == 0


async def test_callback_message_and_recording_audio_round_trip(store: TicketStore) -> None:
    """Issue 8: a Queue() timeout's callback request names the caller's message; a recording
    of a call nobody answered is marked as holding no conversation."""
    timeout = make_record(
        outcome="timeout",
        callback_requested=True,
        callback_message="/var/spool/asterisk/monitor/callback-1.2.wav",
        recording="/var/spool/asterisk/monitor/hotline-1.2.wav",
        recording_audio=False,
    )
    answered = make_record(recording="/var/spool/asterisk/monitor/hotline-1.3.wav",
                           recording_audio=True)  # fmt: skip
    await store.save_calls([timeout, answered])
    stored = {r["key"]: r for r in await store.calls_between(*EVERYTHING)}
    for record in (timeout, answered):
        assert stored[record["key"]] == {**record, "survey": None}
