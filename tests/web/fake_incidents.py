"""A test double of OUR IncidentSink protocol (hotline.web.api_incidents): a dict of incidents."""

from __future__ import annotations

from typing import Any

from ivr.incidents import Incident


class FakeIncidents:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    async def create(self, data: dict[str, Any]) -> dict[str, Any]:
        incident = Incident.from_json(data)
        if incident.id in self.items:
            raise ValueError(f"id: incident {incident.id!r} exists already")
        self.items[incident.id] = incident.to_json()
        return self.items[incident.id]

    async def end(self, incident_id: str) -> bool:
        item = self.items.get(incident_id)
        if item is None or item["status"] != "active":
            return False
        item["status"] = "ended"
        return True

    async def list(self) -> list[dict[str, Any]]:
        return list(self.items.values())


def incident_body(incident_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": incident_id,
        "title": "停水 water outage",
        "text": "玄武区停水，预计18点恢复。",
        "prompt": "incidents/water",
        "start": "2026-11-25T08:00:00+08:00",
        "prefixes": ["025"],
        **changes,
    }
