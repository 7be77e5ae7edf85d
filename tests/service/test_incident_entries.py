"""Incident ids and fields checked at every entry (issue 7 items 1 and 4): the service API's
desk, the MQTT/JSON input and the loader from the database; and one incident the store cannot
hold never blocks the ones after it (SQLite and the real PostgreSQL)."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hotline.incident_desk import IncidentDesk
from hotline.incident_mqtt import IncidentMqttInput
from hotline.settings import MqttSettings
from ivr.incidents import Incident, IncidentBoard, IncidentError
from ticketing.store import TicketStore

NOW = datetime.now(UTC)
INJECTED = "inc-1\nEXEC System touch /tmp/hotline-pwned"


def incident(incident_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": incident_id,
        "title": "东区停水",
        "text": "东区因管道抢修停水。",
        "prompt": f"hotline/incidents/{incident_id}",
        "start": (NOW - timedelta(minutes=5)).isoformat(),
        **extra,
    }


async def test_every_entry_refuses_an_id_with_a_line_break(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = await TicketStore.open(f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}")
    try:
        desk = IncidentDesk(IncidentBoard(), store=store)
        # The service API and the MQTT input both create through the desk.
        with pytest.raises(IncidentError, match="id:"):
            await desk.create(incident(INJECTED))
        mqtt = IncidentMqttInput(MqttSettings(), desk)
        raw = json.dumps({"action": "create", **incident(INJECTED)}).encode()
        assert await mqtt.handle(raw) is False
        assert mqtt.rejected == 1
        assert desk.board.all() == []
        # A row written before this check existed is skipped by the loader, with a log line.
        await store.save_incident(incident(INJECTED))
        await store.save_incident(incident("water-1"))
        fresh = IncidentDesk(IncidentBoard(), store=store)
        with caplog.at_level(logging.ERROR):
            assert await fresh.load() == 1
        assert [i.id for i in fresh.board.all()] == ["water-1"]
        assert "skipped" in caplog.text and "id:" in caplog.text
    finally:
        await store.close()


UNSTORABLE = [
    ("start", "0001-01-01T00:00:00+14:00"),
    ("expected_end", "9999-12-31T23:00:00-05:00"),
    ("id", "x" * 65),
    ("title", "停水\x00"),
    ("title", "t" * 256),
    ("text", "停水\x00"),
    ("prompt", "p" * 256),
    ("branch", "b" * 65),
    ("districts", ["越秀\x00"]),
]


@pytest.mark.parametrize(("field", "value"), UNSTORABLE, ids=[f for f, _ in UNSTORABLE])
async def test_what_the_store_cannot_hold_is_refused_at_the_entry(
    db_url: str, field: str, value: Any
) -> None:
    store = await TicketStore.open(db_url)
    try:
        desk = IncidentDesk(IncidentBoard(), store=store)
        with pytest.raises(IncidentError, match=f"{field}:"):
            await desk.create(incident("bad-1", **{field: value}))
        await desk.create(incident("water-2"))
        assert not desk.unsaved
        assert [i["id"] for i in await store.incidents()] == ["water-2"]
    finally:
        await store.close()


async def test_a_row_the_store_refuses_is_set_aside_not_a_blocker(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = await TicketStore.open(db_url)
    try:
        desk = IncidentDesk(IncidentBoard(), store=store)
        # As if it came in by a path that checked less (or from an older version).
        good = Incident.from_json(incident("bad-2"))
        bad = dataclasses.replace(good, title="t" * 300, text="a\x00b")
        desk.board.create(bad)
        desk.unsaved[bad.id] = bad
        with caplog.at_level(logging.ERROR):
            await desk.create(incident("water-3"))
            await desk.create(incident("water-4"))
        assert not desk.unsaved
        assert sorted(i["id"] for i in await store.incidents()) == ["water-3", "water-4"]
        assert "bad-2 cannot be stored" in caplog.text
        assert desk.board.get("bad-2") is not None  # still announced from memory
    finally:
        await store.close()
