"""Shared pieces for the service tests: an idle PBX's list answers and settings on free ports."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiomqtt

from acd.ami.message import AmiMessage
from hotline.settings import Settings
from hotline.sim.ami_server import AmiServer
from tests.mosquitto import Mosquitto


def _list(message: str, complete: str) -> list[AmiMessage]:
    return [
        AmiMessage(
            [
                ("Response", "Success"),
                ("ActionID", ""),
                ("EventList", "start"),
                ("Message", message),
            ]
        ),
        AmiMessage(
            [("Event", complete), ("ActionID", ""), ("EventList", "Complete"), ("ListItems", "0")]
        ),
    ]


def answer_as_idle_pbx(server: AmiServer, on_status: Callable[[], None] | None = None) -> None:
    """CoreShowChannels and QueueStatus as an idle Asterisk answers them (shapes: member_ops).

    ``on_status`` is called at each QueueStatus: the last action of the service's resync.
    """

    async def channels(msg: AmiMessage) -> list[AmiMessage]:
        return _list("Channels will follow", "CoreShowChannelsComplete")

    async def status(msg: AmiMessage) -> list[AmiMessage]:
        if on_status is not None:
            on_status()
        return _list("Queue status will follow", "QueueStatusComplete")

    server.register_action("CoreShowChannels", channels)
    server.register_action("QueueStatus", status)


def service_settings(
    tmp_path: Path, ami_port: int, db_url: str | None = None, **sections: dict[str, Any]
) -> Settings:
    """The service on free ports and ``tmp_path`` files; ``sections`` add to or override a
    section's keys (``mqtt={...}``, ``cases={...}``)."""
    base: dict[str, dict[str, Any]] = {
        "ami": {
            "port": ami_port,
            "secret": "hotline-secret",
            "reconnect_min": 0.05,
            "reconnect_max": 0.2,
            "ping_interval": 30,
        },
        "database": {
            "url": db_url or f"sqlite+aiosqlite:///{tmp_path / 'hotline.sqlite3'}",
            "retry_interval": 0.1,
            "spill_path": str(tmp_path / "spill.jsonl"),
        },
        "web": {"port": 0},
        "asterisk": {"queue_log": str(tmp_path / "queue_log")},
        "ivr": {"port": 0},
        "pbx": {"announcements_file": str(tmp_path / "announcements.json")},
    }
    for name, keys in sections.items():
        base[name] = {**base.get(name, {}), **keys}
    return Settings.model_validate(base)


def mqtt_on(broker: Mosquitto) -> dict[str, Any]:
    """The ``mqtt`` settings section of a service publishing to ``broker``."""
    return {"enabled": True, "host": broker.host, "port": broker.port}


class MqttMessages:
    """What an MQTT client subscribed to ``topics`` on a real broker got: (topic, payload)."""

    def __init__(self, topics: str) -> None:
        self.topics = topics
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.subscribed = asyncio.Event()

    async def run(self, broker: Mosquitto) -> None:
        async with aiomqtt.Client(broker.host, broker.port) as client:
            await client.subscribe(self.topics, qos=1)
            self.subscribed.set()
            async for message in client.messages:
                assert isinstance(message.payload, bytes)
                self.messages.append((str(message.topic), json.loads(message.payload)))


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Await a condition without sleeping blindly: poll on the loop's own turns, bounded."""

    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110 -- a condition of several parts, bounded below
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)
