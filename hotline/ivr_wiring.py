"""The IVR side of the composition root: the FastAGI IVR, incidents and the IVR's outcome.

``IvrSide`` builds the ``IvrApplication`` and its ``FastAgiServer`` from the settings (unless
``ivr.enabled`` is false: the IVR then runs as ``hotline ivr`` elsewhere) and connects the
rest of the service to what the IVR decided. That reaches the service only as HOTLINE_*
channel variables, read by the call tracker from AMI (asterisk_conf/channel_vars.py), so it
is the same whichever process or host runs the IVR:

- ``call.incident_reported`` → ``TicketStore.merge_incident_report`` (并单: one ticket per
  incident); ``call.survey`` → ``TicketStore.record_survey`` and the live satisfaction KPI.
  The service is the one writer of both: an IVR process only reads the database.
- ``IncidentDesk`` is the ``IncidentSink`` of the web API and of the MQTT/JSON input
  (``IncidentMqttInput``): it keeps the IVR's ``IncidentBoard``, the store and the degraded
  path's announcements file in step.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiomqtt

from acd.kpi import LiveKpi
from agi_scripts.announcements import Announcement, write_announcements
from asterisk_conf.sounds import INCIDENT_GENERIC
from events.topics import (
    CALL_INCIDENT_REPORTED,
    CALL_SURVEY,
    INCIDENT_CREATED,
    INCIDENT_ENDED,
)
from hotline.bus import Bus
from hotline.prompts import PromptError, PromptText, build_prompts, is_prompt_id
from hotline.settings import MqttSettings, Settings
from ivr.app import IvrApplication, create_ivr_server
from ivr.engine import TicketLookup
from ivr.fastagi import FastAgiServer
from ivr.incidents import Incident, IncidentBoard, IncidentError, utc_now
from ivr.menu import Menu, MenuError, missing_queues
from ivr.menu_source import DEFAULT_MENU, MenuSource
from ivr.survey import ANSWERS
from retry_policy import Backoff, retry
from ticketing.store import TicketStore
from working_days import WorkingCalendar

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any]], None]
Clock = Callable[[], dt.datetime]

INCIDENTS_IN = "incidents/in"
# A database write of an IVR event is retried this many times (retry_interval apart) before
# it is given up with an error line that carries the whole event.
STORE_ATTEMPTS = 30
# How long a caller's tickets stay reachable by phone (menu key 6).
PROGRESS_DAYS = 365
MIN_TICKET_DIGITS = 6
# An Asterisk sound name as agi_scripts/announcements.py accepts it (no spaces, quotes, "..").
# The survey's key for each answer (the store keeps the key pressed next to the answer).
SURVEY_KEYS = {answer: key for key, answer in ANSWERS.items()}
_SOUND_NAME = re.compile(r"^/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


# ---- ticket progress (menu key 6) ----------------------------------------------------------


def ticket_progress_lookup(store: TicketStore) -> TicketLookup:
    """Ticket number and caller number → the prompt naming its status; None if not theirs.

    Only the caller's own tickets are told: a ticket number alone is not a secret. Numbers
    look like ``12345-20261125-000002``; a phone keys digits only, and the menu takes at most
    a dozen, so the keyed digits match the end of the number's digits (at least
    ``MIN_TICKET_DIGITS``), the caller's newest such ticket first.
    """

    async def lookup(number: str, caller: str) -> Sequence[str] | None:
        if not caller or len(number) < MIN_TICKET_DIGITS:
            return None
        for ticket in await store.recent_tickets_for_caller(caller, days=PROGRESS_DAYS):
            digits = "".join(ch for ch in str(ticket["number"]) if ch.isdigit())
            if digits.endswith(number):
                return [f"hotline/ticket-status-{str(ticket['status']).replace('_', '-')}"]
        return None

    return lookup


# ---- the menu against the PBX -------------------------------------------------------------------


def menu_queue_problems(menu: Menu, settings: Settings) -> list[str]:
    """One line if the menu names queues that queues.conf (pbx.queues) does not define.

    Queue() on such a queue ends with QUEUESTATUS=UNKNOWN: the caller would never reach an
    agent, so the menu is refused before it can take a call.
    """
    missing = missing_queues(menu, (queue.name for queue in settings.pbx.queues))
    if not missing:
        return []
    return [
        f"queue(s) {', '.join(missing)} not in pbx.queues (queues.conf); "
        "add a [[pbx.queues]] entry or change the menu"
    ]


# ---- incidents -------------------------------------------------------------------------------


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


# ---- the IVR side of the service -------------------------------------------------------------


class IvrStartError(RuntimeError):
    """The IVR cannot start (its port is taken); the message names the setting."""


class IvrSide:
    """Owns the FastAGI IVR, the incident desk and the IVR event subscribers."""

    def __init__(
        self,
        settings: Settings,
        *,
        bus: Bus,
        kpi: LiveKpi,
        clock: Clock | None = None,
        calendar: WorkingCalendar | None = None,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.kpi = kpi
        self.clock: Clock = clock or utc_now
        # The working days of the queues' hours; its years without data show in /healthz.
        self.calendar = calendar or WorkingCalendar()
        self.board = IncidentBoard(clock=self.clock)
        self.desk = IncidentDesk(
            self.board,
            announcements_file=settings.pbx.announcements_file,
            publish=bus.publish,
            sounds_dir=settings.pbx.sounds_dir,
        )
        self.store: TicketStore | None = None
        self.app: IvrApplication | None = None
        self.server: FastAgiServer | None = None
        self.mqtt_input: IncidentMqttInput | None = None
        self.surveys = 0
        self.reports = 0

    @property
    def port(self) -> int | None:
        """The FastAGI port (the real one when configured as 0); None when the IVR is off."""
        return self.server.port if self.server is not None else None

    async def start(self, store: TicketStore) -> None:
        self.store = store
        self.desk.store = store
        loaded = await self.desk.load()
        if loaded:
            log.info("%d stored incident(s) back on the IVR's board", loaded)
        self.bus.subscribe(CALL_INCIDENT_REPORTED, self._on_incident_report, name="ivr-reports")
        self.bus.subscribe(CALL_SURVEY, self._on_survey, name="ivr-surveys")
        ivr = self.settings.ivr
        if ivr.enabled:
            menu_file = ivr.menu_file or DEFAULT_MENU
            try:
                menus = MenuSource(
                    menu_file, check=lambda menu: menu_queue_problems(menu, self.settings)
                )
            except MenuError as error:
                faults = "; ".join(str(fault) for fault in error.faults)
                raise IvrStartError(f"setting ivr.menu_file: {faults}") from None
            self.desk.language = menus.current().language
            self.app = IvrApplication(
                menus,
                self.board,
                self.bus.publish,
                ticket_progress_lookup(store),
                timezone=self.settings.site.timezone,
                clock=self.clock,
                calendar=self.calendar,
            )
            server = create_ivr_server(self.app, host=ivr.host, port=ivr.port)
            try:
                await server.start()
            except OSError as error:
                raise IvrStartError(
                    f"setting ivr.port: cannot serve FastAGI on {ivr.host}:{ivr.port} ({error});"
                    " choose another port or set ivr.enabled = false"
                ) from error
            self.server = server
        if self.settings.mqtt.enabled:
            self.mqtt_input = IncidentMqttInput(self.settings.mqtt, self.desk)
            await self.mqtt_input.start()

    async def stop(self) -> None:
        if self.mqtt_input is not None:
            await self.mqtt_input.stop()
        if self.server is not None:
            await self.server.stop()

    def health(self) -> dict[str, Any]:
        """The IVR's components for /healthz.

        ``calendar`` appears only once a date beyond the holiday data was asked about. It is
        a warning (``"ok": True``), not a failure: calls are still routed (Monday–Friday
        count as working days), and a 503 would make monitors take a working hotline out.
        """
        components: dict[str, Any] = {}
        calendar = self.calendar.health()
        if calendar is not None:
            components["calendar"] = calendar
        if self.server is not None:
            components["ivr"] = {
                "ok": True,
                "port": self.server.port,
                "active": self.server.active_sessions,
                "served": self.server.sessions_served,
                "peak": self.server.peak_sessions,
            }
        if self.mqtt_input is not None:
            components["mqtt_incidents"] = self.mqtt_input.status()
        if self.desk.unsaved:
            components["incidents"] = {"ok": False, "unsaved": sorted(self.desk.unsaved)}
        return components

    # -- IVR events to the store and the KPIs ----------------------------------------------------

    async def _on_incident_report(self, topic: str, payload: dict[str, Any]) -> None:
        incident_id, linkedid = payload.get("incident_id"), payload.get("linkedid")
        if not isinstance(incident_id, str) or not isinstance(linkedid, str) or not linkedid:
            log.error("call.incident_reported without incident_id/linkedid skipped: %s", payload)
            return
        at = _instant(payload.get("at"))
        caller = payload.get("caller_num") or None
        store = self.store
        assert store is not None

        async def merge() -> None:
            try:
                result = await store.merge_incident_report(incident_id, linkedid, caller, at)
            except KeyError:
                log.error(
                    "report of call %s names unknown incident %s; skipped", linkedid, incident_id
                )
                return
            self.reports += 1
            log.info(
                "call %s merged into incident %s (ticket %s, %s callers)",
                linkedid,
                incident_id,
                result.get("ticket_number"),
                result.get("merged_callers"),
            )

        await self._retry(merge, f"incident report {payload}")

    async def _on_survey(self, topic: str, payload: dict[str, Any]) -> None:
        linkedid = payload.get("linkedid")
        if not isinstance(linkedid, str) or not linkedid:
            log.error("call.survey without linkedid skipped: %s", payload)
            return
        answer = payload.get("answer") or "none"
        digit = SURVEY_KEYS.get(str(answer))
        at = _instant(payload.get("at"))
        store = self.store
        assert store is not None

        async def record() -> None:
            try:
                new = await store.record_survey(linkedid, str(answer), at, digit)
            except ValueError as error:
                log.error("survey of call %s skipped: %s", linkedid, error)
                return
            if not new:
                log.info("call %s already rated; second survey answer ignored", linkedid)
                return
            self.surveys += 1
            # With the linkedid the answer counts for that call's queue, agents and hour.
            self.kpi.add_survey(str(answer), linkedid)

        await self._retry(record, f"survey {payload}")

    async def _retry(self, write: Callable[[], Awaitable[None]], what: str) -> None:
        """Retry a database write through a short outage; give up loudly, with the event."""
        interval = self.settings.database.retry_interval
        # A fixed pace (retry_interval apart): the caller of a survey waits for nothing.
        pace = Backoff(interval, interval, jitter=False)
        await retry(write, pace, attempts=STORE_ATTEMPTS, what=f"storing {what}", log=log)


def _instant(value: Any) -> dt.datetime:
    """An event's time (the PBX's epoch seconds); now when missing or unreadable (the event
    is still worth keeping)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return dt.datetime.now(dt.UTC)
