"""The incident desk: creates and ends major-fault incidents (重大故障) for the web API and the
MQTT input, keeping the service's incident board, the store and the degraded path's
announcements file in step. IVR processes of their own follow the store (hotline/ivr_process.py).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from agi_scripts.announcements import Announcement, write_announcements
from asterisk_conf.sounds import INCIDENT_GENERIC
from events.topics import (
    INCIDENT_CREATED,
    INCIDENT_ENDED,
)
from hotline.prompts import PromptError, PromptText, build_prompts, is_prompt_id
from ivr.incidents import Incident, IncidentBoard, IncidentError
from ticketing.store import TicketStore

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any]], None]

_SOUND_NAME = re.compile(r"^/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class IncidentDesk:
    """Creates and ends incidents for the web API and MQTT: board, store, announcements file.

    The board comes first: a new incident is announced at once even if the database is down;
    what could not be stored is kept and stored again at the next change (``unsaved``).
    """

    def __init__(
        self,
        board: IncidentBoard,
        *,
        store: TicketStore | None = None,
        announcements_file: Path | None = None,
        publish: Publish | None = None,
        sounds_dir: Path | None = None,
        language: str = "zh",
    ) -> None:
        self.board = board
        self.store = store
        self.announcements_file = announcements_file
        # Where the incident's spoken text is synthesised (Asterisk's sounds); None: never.
        self.sounds_dir = sounds_dir
        self.language = language
        self._publish = publish
        self.unsaved: dict[str, Incident] = {}
        # Incidents the store refused as data (ValueError): announced, never retried.
        self.set_aside: dict[str, Incident] = {}
        self._lock = asyncio.Lock()

    async def load(self) -> int:
        """Put the stored incidents on the board (restart continuity); return how many."""
        loaded = 0
        if self.store is not None:
            for data in await self.store.incidents():
                fields = {k: v for k, v in data.items() if k != "ticket_number"}
                try:
                    incident = Incident.from_json(fields)
                except IncidentError as error:
                    log.error("stored incident %s skipped: %s", data.get("id"), error)
                    continue
                if self.board.get(incident.id) is None:
                    self.board.create(incident)
                    loaded += 1
        await self.refresh_announcements()
        return loaded

    async def create(self, data: dict[str, Any]) -> dict[str, Any]:
        incident = Incident.from_json(data)  # IncidentError names every bad field
        if not _SOUND_NAME.match(incident.prompt) or ".." in incident.prompt.split("/"):
            # STREAM FILE and the degraded path's file both need a plain sound name.
            raise IncidentError(
                "invalid incident: prompt: must be a sound name (letters, digits, _ . - and /)"
            )
        async with self._lock:
            if self.board.get(incident.id) is not None:
                raise IncidentError(f"incident {incident.id!r} already exists")
            incident = await self._build_sound(incident)
            self.board.create(incident)
            self.unsaved[incident.id] = incident
            await self._persist()
            await self.refresh_announcements()
        log.info("incident %s created: %s", incident.id, incident.title)
        self._out(INCIDENT_CREATED, incident.to_json())
        return incident.to_json()

    async def _build_sound(self, incident: Incident) -> Incident:
        """Synthesise the incident's text as its prompt; the generic announcement if we can't.

        A recording of that name is kept. Without a sounds directory on this host (Asterisk
        elsewhere) nothing is built or replaced: the PBX may well have the recording.
        """
        folder = self.sounds_dir
        if folder is None:
            return incident
        if not folder.is_dir():
            log.warning(
                "incident %s: sounds dir %s missing here; prompt %s not synthesised",
                incident.id,
                folder,
                incident.prompt,
            )
            return incident
        if not is_prompt_id(incident.prompt):
            return incident  # a path or a name with a format: a recording, named as such
        wanted = PromptText(incident.prompt, self.language, incident.text)
        try:
            report = await asyncio.to_thread(build_prompts, [wanted], folder, self.language)
        except PromptError as error:
            reason = str(error)
        else:
            if not report.failed:
                return incident
            reason = "; ".join(report.failed.values())
        log.warning(
            "incident %s: announcement %s not synthesised (%s); announcing %s",
            incident.id,
            incident.prompt,
            reason,
            INCIDENT_GENERIC,
        )
        return replace(incident, prompt=INCIDENT_GENERIC)

    async def end(self, incident_id: str) -> bool:
        async with self._lock:
            current = self.board.get(incident_id)
            if current is None or current.status != "active":
                return False
            ended = self.board.end(incident_id)
            self.unsaved[incident_id] = ended
            await self._persist()
            await self.refresh_announcements()
        log.info("incident %s ended", incident_id)
        self._out(INCIDENT_ENDED, ended.to_json())
        return True

    async def list(self) -> list[dict[str, Any]]:
        if self.unsaved:
            async with self._lock:
                await self._persist()
        if self.store is not None and not self.unsaved:
            try:
                return await self.store.incidents()
            except Exception as error:
                log.warning("incidents from the database unavailable (%s): the board's", error)
        return [incident.to_json() for incident in self.board.all()]

    async def _persist(self) -> None:
        if self.store is None:
            self.unsaved.clear()
            return
        for incident_id, incident in list(self.unsaved.items()):
            try:
                await self.store.save_incident(incident.to_json())
                if incident.status == "ended" and incident.ended_at is not None:
                    await self.store.end_incident(incident_id, incident.ended_at)
            except ValueError as error:
                # Retrying cannot store it: one bad row must not hold back every later one.
                log.error(
                    "incident %s cannot be stored (%s); set aside: announced from memory only",
                    incident_id,
                    error,
                )
                self.set_aside[incident_id] = self.unsaved.pop(incident_id)
                continue
            except Exception as error:
                log.error(
                    "incident %s not stored yet (%s); kept, retried at the next change",
                    incident_id,
                    error,
                )
                return
            del self.unsaved[incident_id]

    async def refresh_announcements(self) -> None:
        """Rewrite the degraded path's file with every incident not ended, with its window.

        Scheduled incidents (start in the future) are in it too: the file is rewritten only
        when an incident is created or ended, and the reader plays an entry only between
        ``starts_at`` and ``ends_at`` (the expected end), the rule the IVR follows as well
        (``Incident.is_announced``).
        """
        path = self.announcements_file
        if path is None:
            return
        now = self.board.clock()
        entries = [
            Announcement(i.id, i.prompt, i.start, i.expected_end) for i in self.board.pending()
        ]
        try:
            await asyncio.to_thread(write_announcements, path, entries, now)
        except (OSError, ValueError) as error:
            log.error("announcements file %s not refreshed: %s", path, error)

    def _out(self, topic: str, payload: dict[str, Any]) -> None:
        if self._publish is not None:
            self._publish(topic, payload)
