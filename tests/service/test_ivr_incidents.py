"""IncidentDesk (board + store + the degraded path's announcements file), the MQTT/JSON
incidents input against a real Mosquitto, and IVR events through a database outage."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest

from acd.kpi import LiveKpi
from agi_scripts.announcements import load_active
from hotline.bus import Bus
from hotline.incident_desk import IncidentDesk
from hotline.ivr_build import IvrStartError
from hotline.ivr_wiring import IvrSide
from hotline.service import HotlineService
from hotline.settings import Settings
from hotline.sim.agi_client import FastAgiClient, Phone, agi_environment
from hotline.sim.ami_server import AmiServer
from ivr.incidents import IncidentBoard, IncidentError
from tests.mosquitto import Mosquitto
from tests.pg import PostgresServer
from tests.service.helpers import answer_as_idle_pbx, service_settings, wait_for
from tests.web.auth_helpers import bearer
from ticketing.store import TicketStore

NOW = datetime.now(UTC)


def incident(incident_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": incident_id,
        "title": "东区停水",
        "text": "东区因管道抢修停水。",
        "prompt": f"hotline/incidents/{incident_id}",
        "start": (NOW - timedelta(minutes=5)).isoformat(),
        "prefixes": ["1390"],
        **extra,
    }


def announced(path: Path) -> list[str]:
    return [a.id for a in load_active(path, datetime.now(UTC))]


async def test_desk_stores_announces_ends_and_reloads(tmp_path: Path, db_url: str) -> None:
    file = tmp_path / "announcements.json"
    store = await TicketStore.open(db_url)
    events: list[tuple[str, dict[str, Any]]] = []
    try:
        desk = IncidentDesk(
            IncidentBoard(),
            store=store,
            announcements_file=file,
            publish=lambda t, p: events.append((t, p)),
        )
        assert await desk.load() == 0
        assert announced(file) == []
        created = await desk.create(incident("water-1"))
        await desk.create(incident("power-2", expected_end=(NOW + timedelta(hours=2)).isoformat()))
        assert created["status"] == "active"
        assert sorted(announced(file)) == ["power-2", "water-1"]
        with pytest.raises(IncidentError, match="already exists"):
            await desk.create(incident("water-1"))
        with pytest.raises(IncidentError, match="start: required"):
            await desk.create({**incident("bad-3"), "start": None})
        with pytest.raises(IncidentError, match="prompt: must be a sound name"):
            await desk.create({**incident("bad-4"), "prompt": 'hotline/停 水 "x"'})
        assert await desk.end("water-1")
        assert not await desk.end("water-1")
        assert not await desk.end("no-such")
        assert announced(file) == ["power-2"]
        stored = {i["id"]: i["status"] for i in await desk.list()}
        assert stored == {"water-1": "ended", "power-2": "active"}
        assert [t for t, _ in events] == ["incident.created", "incident.created", "incident.ended"]
        # A restart: a new board gets the stored incidents back, the file is rewritten.
        file.unlink()
        board = IncidentBoard()
        again = IncidentDesk(board, store=store, announcements_file=file)
        assert await again.load() == 2
        assert [i.id for i in board.active()] == ["power-2"]
        assert announced(file) == ["power-2"]
    finally:
        await store.close()


async def test_incident_is_announced_through_a_database_outage_and_stored_after(
    tmp_path: Path,
    postgres_server: PostgresServer,
    postgres_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    file = tmp_path / "announcements.json"
    store = await TicketStore.open(postgres_url)
    try:
        desk = IncidentDesk(IncidentBoard(), store=store, announcements_file=file)
        with postgres_server.stopped():
            await desk.create(incident("gas-1"))
            assert announced(file) == ["gas-1"]
            assert list(desk.unsaved) == ["gas-1"]
            assert "not stored yet" in caplog.text
        await desk.create(incident("gas-2"))  # the next change stores both
        assert not desk.unsaved
        assert {i["id"] for i in await store.incidents()} == {"gas-1", "gas-2"}
    finally:
        await store.close()


def side_settings(tmp_path: Path, db_url: str, **mqtt: Any) -> Settings:
    return Settings.model_validate(
        {
            "database": {"url": db_url, "retry_interval": 0.1},
            "ivr": {"enabled": False},
            "mqtt": mqtt or {"enabled": False},
            "pbx": {"announcements_file": str(tmp_path / "announcements.json")},
        }
    )


async def test_incidents_from_mqtt_json(
    tmp_path: Path, mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hotline.incident_mqtt")
    url = f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}"
    settings = side_settings(
        tmp_path, url, enabled=True, host=mosquitto.host, port=mosquitto.port, topic_prefix="city"
    )
    store = await TicketStore.open(url)
    bus = Bus()
    await bus.start()
    side = IvrSide(settings, bus=bus, kpi=LiveKpi())
    try:
        await side.start(store)
        inbox = side.mqtt_input
        assert inbox is not None and inbox.topic == "city/incidents/in"
        await asyncio.wait_for(inbox.subscribed.wait(), 10)
        messages: list[bytes] = [
            b"\xff\xfe not json",
            b"[1, 2]",
            json.dumps({"action": "explode"}).encode(),
            json.dumps({"action": "create", **incident("x"), "prefixes": ["13a"]}).encode(),
            json.dumps({"action": "end", "id": "nope"}).encode(),
            json.dumps({"action": "create", **incident("water-7")}).encode(),
            json.dumps({"action": "create", "incident": incident("power-8")}).encode(),
            json.dumps({"action": "end", "id": "water-7"}).encode(),
        ]
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
            for payload in messages:
                await client.publish("city/incidents/in", payload, qos=1)
        await wait_for(lambda: inbox.applied + inbox.rejected == len(messages))
        assert (inbox.applied, inbox.rejected) == (3, 5)
        for reason in (
            "not JSON",
            "not a JSON object",
            "action: must be",
            "prefixes:",
            "no active incident 'nope'",
        ):
            assert reason in caplog.text
        assert {i.id: i.status for i in side.board.all()} == {
            "water-7": "ended",
            "power-8": "active",
        }
        assert {i["id"]: i["status"] for i in await store.incidents()} == {
            "water-7": "ended",
            "power-8": "active",
        }
        assert announced(tmp_path / "announcements.json") == ["power-8"]
        # Sent while the input is down (a service restart): delivered when it is back.
        await inbox.stop()
        inbox.subscribed.clear()
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
            await client.publish(
                "city/incidents/in", json.dumps({"action": "end", "id": "power-8"}).encode(), qos=1
            )
        await inbox.start()
        await wait_for(lambda: inbox.applied == 4)
        assert announced(tmp_path / "announcements.json") == []
    finally:
        await side.stop()
        await bus.stop()
        await store.close()


async def test_survey_and_report_wait_out_a_database_outage(
    tmp_path: Path,
    postgres_server: PostgresServer,
    postgres_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = await TicketStore.open(postgres_url)
    bus = Bus()
    await bus.start()
    side = IvrSide(side_settings(tmp_path, postgres_url), bus=bus, kpi=LiveKpi())
    try:
        await side.start(store)
        await side.desk.create(incident("water-9"))
        with postgres_server.stopped():
            # What the call tracker publishes from the HOTLINE_SURVEY / HOTLINE_INCIDENT VarSets.
            bus.publish(
                "call.survey",
                {"linkedid": "1795445274.0", "answer": "satisfied", "at": NOW.timestamp()},
            )
            bus.publish(
                "call.incident_reported",
                {
                    "linkedid": "1795445274.5",
                    "incident_id": "water-9",
                    "caller_num": "13900001111",
                    "at": NOW.timestamp(),
                },
            )
            bus.publish("call.survey", {"answer": "satisfied"})  # no linkedid: skipped
            # Both writes fail against the stopped server and are retried, not dropped.
            await wait_for(lambda: caplog.text.count("retrying") >= 2)
            assert (side.surveys, side.reports) == (0, 0)
        await wait_for(lambda: side.surveys == 1 and side.reports == 1, timeout=20)
        (stored,) = await store.incidents()
        assert stored["merged_callers"] == 1 and stored["ticket_number"]
    finally:
        await side.stop()
        await bus.stop()
        await store.close()


async def test_incidents_through_the_service_api_reach_the_running_ivr(tmp_path: Path) -> None:
    async with AmiServer(secret="hotline-secret") as server:
        answer_as_idle_pbx(server)
        service = HotlineService(service_settings(tmp_path, server.port))
        await service.start()
        try:
            assert service.store is not None and service.ivr.port is not None
            assert service.health()["ivr"]["port"] == service.ivr.port
            headers = await bearer(service.store, "duty-officer", "supervisor")
            base = f"http://127.0.0.1:{service.web_port}"
            async with aiohttp.ClientSession(base, headers=headers) as http:
                async with http.post("/api/incidents", json=incident("water-1")) as created:
                    assert created.status == 201, await created.text()
                async with http.post(
                    "/api/incidents", json={**incident("w2"), "start": "x"}
                ) as bad:
                    assert bad.status == 400
                    assert (await bad.json())["error"]["field"] == "start"
                # A caller from the affected prefix hears it on the service's own IVR.
                heard = await ivr_commands(service.ivr.port, "13900001111")
                assert 'STREAM FILE hotline/incidents/water-1 "10"' in heard
                assert announced(tmp_path / "announcements.json") == ["water-1"]
                async with http.post("/api/incidents/water-1/end") as ended:
                    assert ended.status == 200
                async with http.get("/api/incidents") as listed:
                    (only,) = (await listed.json())["incidents"]
                    assert (only["id"], only["status"]) == ("water-1", "ended")
                heard = await ivr_commands(service.ivr.port, "13900001111")
                assert not any("incidents/water-1" in line for line in heard)
                assert announced(tmp_path / "announcements.json") == []
        finally:
            await service.stop()
        assert service.ivr.server is not None and service.ivr.server.active_sessions == 0


async def ivr_commands(port: int, caller: str) -> list[str]:
    client = FastAgiClient(
        "127.0.0.1", port, speed=1000.0, channel_vars={"CHANNEL(linkedid)": f"L-{caller}"}
    )
    env = agi_environment(
        channel="PJSIP/trunk-00000001",
        uniqueid=f"U-{caller}",
        caller_num=caller,
        caller_name="",
        request=f"agi://127.0.0.1:{port}/ivr",
    )
    result = await asyncio.wait_for(client.run(env, Phone(keys=["1"])), timeout=10)
    return [line for way, line in result.transcript if way == "app->asterisk"]


async def test_a_taken_fastagi_port_is_a_clear_error(tmp_path: Path) -> None:
    taken = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = taken.sockets[0].getsockname()[1]
    url = f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}"
    settings = side_settings(tmp_path, url).model_copy(
        update={"ivr": Settings().ivr.model_copy(update={"enabled": True, "port": port})}
    )
    store = await TicketStore.open(url)
    side = IvrSide(settings, bus=Bus(), kpi=LiveKpi())
    try:
        expected = f"ivr.port: cannot serve FastAGI on 127.0.0.1:{port}"
        with pytest.raises(IvrStartError, match=expected):
            await side.start(store)
        assert side.port is None
    finally:
        taken.close()
        await taken.wait_closed()
        await store.close()


async def test_announcements_file_holds_scheduled_incidents_until_due(tmp_path: Path) -> None:
    file = tmp_path / "announcements.json"
    desk = IncidentDesk(IncidentBoard(), announcements_file=file)
    later = datetime.now(UTC) + timedelta(hours=1)
    await desk.create(incident("now-1", expected_end=(NOW + timedelta(hours=3)).isoformat()))
    await desk.create(
        incident(
            "later-2",
            start=later.isoformat(),
            expected_end=(later + timedelta(hours=1)).isoformat(),
        )
    )
    entries = {e["id"]: e for e in json.loads(file.read_text(encoding="utf-8"))["announcements"]}
    assert sorted(entries) == ["later-2", "now-1"]
    assert entries["later-2"]["starts_at"] == later.isoformat()
    assert entries["now-1"]["ends_at"] == (NOW + timedelta(hours=3)).isoformat()
    # The degraded path plays the scheduled one when it is due, without another rewrite.
    assert [a.id for a in load_active(file, datetime.now(UTC))] == ["now-1"]
    assert sorted(a.id for a in load_active(file, later + timedelta(minutes=1))) == [
        "later-2",
        "now-1",
    ]
    assert [a.id for a in load_active(file, later + timedelta(hours=3))] == []
    await desk.end("later-2")
    assert [a.id for a in load_active(file, later + timedelta(minutes=1))] == ["now-1"]


async def test_incident_text_is_synthesised_into_the_sounds_dir(tmp_path: Path) -> None:
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    desk = IncidentDesk(IncidentBoard(), sounds_dir=sounds)
    created = await desk.create(incident("water-9"))
    assert created["prompt"] == "hotline/incidents/water-9"
    wav = sounds / "hotline" / "incidents" / "water-9.wav"
    assert wav.read_bytes()[:4] == b"RIFF" and wav.stat().st_size > 8000
    # A recording of the incident's sound is kept as it is.
    (sounds / "hotline" / "incidents" / "gas-3.g722").write_bytes(b"\x00" * 100)
    kept = await desk.create(incident("gas-3"))
    assert kept["prompt"] == "hotline/incidents/gas-3"
    assert not (sounds / "hotline" / "incidents" / "gas-3.wav").exists()


async def test_without_tts_tools_the_generic_announcement_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))  # espeak-ng and sox not found
    file = tmp_path / "announcements.json"
    desk = IncidentDesk(IncidentBoard(), sounds_dir=sounds, announcements_file=file)
    with caplog.at_level(logging.WARNING, logger="hotline.incident_desk"):
        created = await desk.create(incident("power-4"))
    assert created["prompt"] == "hotline/incident-generic"
    assert "not installed: espeak-ng, sox" in caplog.text
    assert desk.board.get("power-4") is not None
    assert [a.sound for a in load_active(file, datetime.now(UTC))] == ["hotline/incident-generic"]


async def test_a_menu_queue_missing_from_pbx_queues_stops_the_ivr_start(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}"
    base = side_settings(tmp_path, url)
    pbx = base.pbx.model_copy(
        update={"queues": [q for q in base.pbx.queues if q.name != "hotline-complaint"]}
    )
    settings = base.model_copy(
        update={"ivr": Settings().ivr.model_copy(update={"enabled": True, "port": 0}), "pbx": pbx}
    )
    store = await TicketStore.open(url)
    side = IvrSide(settings, bus=Bus(), kpi=LiveKpi())
    try:
        with pytest.raises(IvrStartError) as refused:
            await side.start(store)
        message = str(refused.value)
        assert "\n" not in message
        assert message.startswith("setting ivr.menu_file: ")
        assert "hotline-complaint not in pbx.queues" in message
        assert side.port is None
    finally:
        await side.stop()
        await store.close()
