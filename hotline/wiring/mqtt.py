"""MQTT: the bridge that forwards every domain event to the broker (outbox, QoS 1)."""

from __future__ import annotations

from events.topics import EVERY_TOPIC
from hotline.bus import Bus
from hotline.mqtt import MqttBridge
from hotline.settings import Settings


async def start_bridge(settings: Settings, bus: Bus) -> MqttBridge:
    bridge = MqttBridge.from_settings(settings.mqtt)
    bridge.attach(bus, EVERY_TOPIC)
    await bridge.start()
    return bridge
