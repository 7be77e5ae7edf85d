"""Major-fault announcements (重大故障播报): the board of incidents the IVR announces.

The service API and the MQTT/JSON input create and end incidents through ``IncidentBoard``;
the IVR asks it which active incidents match a caller (number prefix or district chosen in
the menu, and the menu branch) and registers callers against one (并单): the count of merged
callers is kept on the incident.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Status = Literal["active", "ended"]


class IncidentError(ValueError):
    """An incident description is invalid, or an operation does not apply."""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# What the store can hold (ticketing.models.IncidentRow: id and branch String(64), title and
# prompt String(255)) and what may be said to Asterisk (the id goes into SET VARIABLE).
ID_MAX = 64
TITLE_MAX = 255
PROMPT_MAX = 255
BRANCH_MAX = 64
DISTRICT_MAX = 64
# A short slug: starts with a letter or digit (so no ".", "..", "-rf"), then letters, digits,
# "_", "-", "."; no spaces, quotes, braces, slashes or control characters.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def validate_incident_id(value: object) -> str:
    """The incident id if it is a short slug; IncidentError naming the field otherwise.

    The one check every entry calls (web API and MQTT through ``Incident.from_json``, the
    loader from the database likewise): the id is stored in a String(64) column, shown on the
    wallboard and sent to Asterisk as the value of HOTLINE_INCIDENT.
    """
    if not isinstance(value, str) or not value:
        raise IncidentError("id: must be a non-empty string")
    if len(value) > ID_MAX:
        raise IncidentError(f"id: at most {ID_MAX} characters")
    if not _ID.fullmatch(value):
        raise IncidentError(
            "id: a short slug: letters, digits, '_', '-' and '.', starting with a letter or digit"
        )
    return value


def control_characters(value: str, allowed: str = "") -> bool:
    """Whether ``value`` holds control characters (NUL included) other than ``allowed``."""
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value)


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    title: str
    # What the announcement says (shown to agents, fed to TTS), and the sound file played.
    text: str
    prompt: str
    start: dt.datetime
    expected_end: dt.datetime | None = None
    # Empty prefixes and districts: the incident concerns every caller.
    prefixes: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    # The menu node where it is announced; None = every node with announce_incidents.
    branch: str | None = None
    status: Status = "active"
    ended_at: dt.datetime | None = None
    merged_callers: int = 0

    def is_active(self, now: dt.datetime) -> bool:
        return self.status == "active" and self.start <= now

    def is_announced(self, now: dt.datetime) -> bool:
        """Whether callers hear it now: active, and before ``expected_end`` if one is set.

        The same rule as the degraded path's file (``ends_at`` = expected_end): that file
        cannot learn of an end while the service is down, so the expected end is the bound
        both paths keep. An incident past its expected end still takes reports (并单) until
        it is ended; it is just no longer announced.
        """
        return self.is_active(now) and (self.expected_end is None or now < self.expected_end)

    def concerns(self, caller_number: str, district: str | None) -> bool:
        if not self.prefixes and not self.districts:
            return True
        if caller_number and any(caller_number.startswith(p) for p in self.prefixes):
            return True
        return district is not None and district in self.districts

    def announced_at(self, node_id: str, node_announces: bool) -> bool:
        return node_id == self.branch if self.branch is not None else node_announces

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "text": self.text,
            "prompt": self.prompt,
            "start": self.start.isoformat(),
            "expected_end": self.expected_end.isoformat() if self.expected_end else None,
            "prefixes": list(self.prefixes),
            "districts": list(self.districts),
            "branch": self.branch,
            "status": self.status,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "merged_callers": self.merged_callers,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Incident:
        """Build from the JSON form (API, MQTT); raise IncidentError naming every bad field."""
        if not isinstance(data, dict):
            raise IncidentError("incident must be a JSON object")
        problems: list[str] = []
        known = {
            "id",
            "title",
            "text",
            "prompt",
            "start",
            "expected_end",
            "prefixes",
            "districts",
            "branch",
            "status",
            "ended_at",
            "merged_callers",
        }
        problems += [f"unknown field {key!r}" for key in data if key not in known]

        def text(
            name: str, required: bool = True, limit: int | None = None, allowed: str = ""
        ) -> str | None:
            value = data.get(name)
            if value is None:
                if required:
                    problems.append(f"{name}: required")
                return None
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{name}: must be a non-empty string")
                return None
            if control_characters(value.strip(), allowed):
                problems.append(f"{name}: control characters are not allowed")
                return None
            if limit is not None and len(value.strip()) > limit:
                problems.append(f"{name}: at most {limit} characters")
                return None
            return value.strip()

        def when(name: str, required: bool) -> dt.datetime | None:
            value = data.get(name)
            if value is None:
                if required:
                    problems.append(f"{name}: required")
                return None
            try:
                parsed = dt.datetime.fromisoformat(str(value))
            except ValueError:
                problems.append(f"{name}: not an ISO 8601 time: {value!r}")
                return None
            if parsed.tzinfo is None:
                problems.append(f"{name}: needs a time zone (e.g. +08:00 or Z)")
                return None
            try:
                # Stored as UTC: 0001-01-01T00:00+14:00 has no UTC time (year 0).
                parsed.astimezone(dt.UTC)
            except OverflowError:
                problems.append(f"{name}: out of range once in UTC: {value!r}")
                return None
            return parsed

        def strings(name: str) -> tuple[str, ...]:
            value = data.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                problems.append(f"{name}: must be a list of non-empty strings")
                return ()
            if any(control_characters(v) or len(v) > DISTRICT_MAX for v in value):
                problems.append(f"{name}: at most {DISTRICT_MAX} characters each, no controls")
                return ()
            return tuple(value)

        incident_id: str | None = None
        if "id" not in data or data["id"] is None:
            problems.append("id: required")
        else:
            try:
                incident_id = validate_incident_id(data["id"])
            except IncidentError as error:
                problems.append(str(error))
        title = text("title", limit=TITLE_MAX)
        # The spoken text may have line breaks and tabs; no other controls (PostgreSQL: no NUL).
        spoken = text("text", allowed="\n\t")
        prompt = text("prompt", limit=PROMPT_MAX)
        start = when("start", required=True)
        expected_end = when("expected_end", required=False)
        ended_at = when("ended_at", required=False)
        prefixes = strings("prefixes")
        if any(not p.isdigit() for p in prefixes):
            problems.append("prefixes: caller-number prefixes are digits only")
        districts = strings("districts")
        branch = text("branch", required=False, limit=BRANCH_MAX)
        status = data.get("status", "active")
        if status not in ("active", "ended"):
            problems.append("status: must be 'active' or 'ended'")
        merged = data.get("merged_callers", 0)
        if isinstance(merged, bool) or not isinstance(merged, int) or merged < 0:
            problems.append("merged_callers: must be an integer ≥ 0")
        if start and expected_end and expected_end <= start:
            problems.append("expected_end: must be after start")
        if problems:
            raise IncidentError("invalid incident: " + "; ".join(problems))
        assert incident_id and title and spoken and prompt and start
        return cls(
            id=incident_id,
            title=title,
            text=spoken,
            prompt=prompt,
            start=start,
            expected_end=expected_end,
            prefixes=prefixes,
            districts=districts,
            branch=branch,
            status=status,
            ended_at=ended_at,
            merged_callers=merged,
        )


@dataclass
class IncidentBoard:
    clock: Callable[[], dt.datetime] = utc_now
    _incidents: dict[str, Incident] = field(default_factory=dict)
    # Calls already merged into each incident, so a caller pressing 1 twice counts once.
    _merged: dict[str, set[str]] = field(default_factory=dict)

    def create(self, incident: Incident) -> Incident:
        if incident.id in self._incidents:
            raise IncidentError(f"incident {incident.id!r} already exists")
        self._incidents[incident.id] = incident
        self._merged[incident.id] = set()
        return incident

    def create_from_json(self, data: dict[str, Any]) -> Incident:
        return self.create(Incident.from_json(data))

    def end(self, incident_id: str, at: dt.datetime | None = None) -> Incident:
        incident = self._require(incident_id)
        if incident.status == "ended":
            return incident
        ended = replace(incident, status="ended", ended_at=at or self.clock())
        self._incidents[incident_id] = ended
        return ended

    def get(self, incident_id: str) -> Incident | None:
        return self._incidents.get(incident_id)

    def all(self) -> list[Incident]:
        return _recent_first(self._incidents.values())

    def active(self, now: dt.datetime | None = None) -> list[Incident]:
        moment = now or self.clock()
        return _recent_first(i for i in self._incidents.values() if i.is_active(moment))

    def matching(
        self,
        caller_number: str,
        district: str | None,
        node_id: str,
        node_announces: bool,
        now: dt.datetime | None = None,
    ) -> list[Incident]:
        """Incidents to announce to this caller at this node now, most recent first."""
        moment = now or self.clock()
        return [
            i
            for i in self.active(moment)
            if i.is_announced(moment)
            and i.announced_at(node_id, node_announces)
            and i.concerns(caller_number, district)
        ]

    def pending(self) -> list[Incident]:
        """Every incident not ended, whether it has started yet or not, most recent first."""
        return _recent_first(i for i in self._incidents.values() if i.status == "active")

    def register_caller(self, incident_id: str, call_id: str) -> Incident:
        """Merge a call into the incident (idempotent per call); return the updated incident."""
        incident = self._require(incident_id)
        merged = self._merged.setdefault(incident_id, set())
        if call_id in merged:
            return incident
        merged.add(call_id)
        updated = replace(incident, merged_callers=incident.merged_callers + 1)
        self._incidents[incident_id] = updated
        return updated

    def sync_pending(self, stored: Iterable[Incident]) -> tuple[list[str], list[str]]:
        """Make the board's not-ended incidents those ``stored`` (an IVR process following
        the database); return the ids added or changed, and the ids ended by this.

        The merged-caller count is the store's; a change of it alone is not reported.
        """
        wanted = {i.id: i for i in stored if i.status == "active"}
        changed = []
        for incident_id, incident in wanted.items():
            current = self._incidents.get(incident_id)
            if current is None or replace(current, merged_callers=incident.merged_callers) != (
                incident
            ):
                changed.append(incident_id)
            self._incidents[incident_id] = incident
            self._merged.setdefault(incident_id, set())
        ended = []
        for incident_id, current in list(self._incidents.items()):
            if current.status == "active" and incident_id not in wanted:
                self._incidents[incident_id] = replace(
                    current, status="ended", ended_at=self.clock()
                )
                ended.append(incident_id)
        return changed, ended

    def _require(self, incident_id: str) -> Incident:
        incident = self._incidents.get(incident_id)
        if incident is None:
            raise IncidentError(f"no incident {incident_id!r}")
        return incident


def _recent_first(incidents: Iterable[Incident]) -> list[Incident]:
    return sorted(incidents, key=lambda i: i.start, reverse=True)
