"""Incidents from MQTT: JSON messages on ``<prefix>/incidents/in`` to the incident desk."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiomqtt

from hotline.incident_desk import IncidentDesk
from hotline.settings import MqttSettings
from ivr.incidents import IncidentError
from retry_policy import Backoff

log = logging.getLogger(__name__)

INCIDENTS_IN = "incidents/in"


class IncidentMqttInput:
    """Incidents from MQTT: JSON on ``<prefix>/incidents/in``.

    ``{"action": "create", <incident fields>}`` (or ``"incident": {…}``) and
    ``{"action": "end", "id": "…"}``. A message that is not such JSON, or names bad fields, is
    logged with the reason and skipped (``rejected``); the input keeps reconnecting.
    """

    def __init__(
        self,
        settings: MqttSettings,
        desk: IncidentDesk,
        *,
        reconnect_min: float = 0.2,
        reconnect_max: float = 30.0,
    ) -> None:
        self.settings = settings
        self.desk = desk
        self.topic = f"{settings.topic_prefix.rstrip('/')}/{INCIDENTS_IN}"
        self.identifier = f"{settings.topic_prefix.strip('/').replace('/', '-')}-incidents-in"
        self.reconnect_min, self.reconnect_max = reconnect_min, reconnect_max
        self.applied = 0
        self.rejected = 0
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mqtt-incidents-in")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def status(self) -> dict[str, Any]:
        return {
            "ok": self.subscribed.is_set(),
            "topic": self.topic,
            "applied": self.applied,
            "rejected": self.rejected,
        }

    async def _run(self) -> None:
        backoff = Backoff(self.reconnect_min, self.reconnect_max)
        password = self.settings.password
        while True:
            try:
                # A fixed identifier and a persistent session: incidents sent while the
                # service restarts wait at the broker (QoS 1) instead of being lost.
                async with aiomqtt.Client(
                    self.settings.host,
                    self.settings.port,
                    username=self.settings.username,
                    password=password.get_secret_value() if password else None,
                    identifier=self.identifier,
                    clean_session=False,
                ) as client:
                    await client.subscribe(self.topic, qos=1)
                    self.subscribed.set()
                    backoff.connected()
                    async for message in client.messages:
                        payload = message.payload
                        raw = (
                            bytes(payload)
                            if isinstance(payload, bytes | bytearray)
                            else str(payload).encode()
                        )
                        try:
                            await self.handle(raw)
                        except Exception as error:  # one message must not end the input
                            log.exception("mqtt incidents input: message %r failed", raw[:80])
                            self._reject(f"failed: {error}")
            except aiomqtt.MqttError as error:
                reason = str(error)
            else:
                reason = "connection closed"
            self.subscribed.clear()
            delay = backoff.next_delay()
            log.warning("mqtt incidents input: %s; reconnecting in %.1f s", reason, delay)
            await asyncio.sleep(delay)

    async def handle(self, raw: bytes) -> bool:
        """Apply one message; False (logged) when it is skipped."""
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as error:
            return self._reject(f"not JSON ({error}): {raw[:80]!r}")
        if not isinstance(data, dict):
            return self._reject("not a JSON object")
        action = data.get("action")
        try:
            if action == "create":
                fields = data.get("incident")
                if fields is None:
                    fields = {k: v for k, v in data.items() if k != "action"}
                if not isinstance(fields, dict):
                    return self._reject("incident: must be an object")
                await self.desk.create(fields)
            elif action == "end":
                incident_id = data.get("id")
                if not isinstance(incident_id, str) or not incident_id:
                    return self._reject("id: required")
                if not await self.desk.end(incident_id):
                    return self._reject(f"no active incident {incident_id!r}")
            else:
                return self._reject(f"action: must be 'create' or 'end', got {action!r}")
        except IncidentError as error:
            return self._reject(str(error))
        self.applied += 1
        return True

    def _reject(self, reason: str) -> bool:
        self.rejected += 1
        log.warning("mqtt incidents input: message skipped: %s", reason)
        return False
