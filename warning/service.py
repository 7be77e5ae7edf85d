"""The early-warning service: watches the calls, raises suggested incidents, and turns one
into an IVR announcement or sets it aside when a supervisor says so.

No transport: events come from whatever ``subscribe`` is handed (the bus), suggestions and
decisions leave through ``publish`` (the bus, hence MQTT), stored calls for the baseline
come through ``fetch_calls``, announcements are made through ``create_incident`` (the
incident desk: board, store, announcements file — the path the IVR hears at once) and the
suggestions outlive the process in ``store`` (the database, ticketing.warning_store).

Restarts and hand-overs to the standby instance: ``start()`` loads the open suggestions and
the recent decided ones (the console shows the same; a dismissed area stays quiet for its
cooldown), then replays the stored calls of the last window into the detector, so a burst in
progress is still seen — and, its area having an open suggestion, is not suggested again.
A decision is claimed in the store before anything else happens: an accept announces only
if its claim changed the stored suggestion from open, so two clicks or two instances cannot
announce one suggestion twice.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from events.topics import (
    CALL_ENDED,
    CALL_IVR_FINISHED,
    WARNING_ACCEPTED,
    WARNING_DISMISSED,
    WARNING_SUGGESTED,
)
from warning.areas import AreaMap
from warning.detector import BurstDetector, Key, Thresholds, hourly_baseline
from warning.signals import observe
from warning.suggestions import Status, Suggestion

log = logging.getLogger(__name__)

Payload = dict[str, Any]
Publish = Callable[[str, Payload], None]
FetchCalls = Callable[[datetime, datetime], Awaitable[list[dict[str, Any]]]]
CreateIncident = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
Data = Mapping[str, Any]

# Decided suggestions kept for the console (the open ones are always kept).
KEEP_DECIDED = 200
# After a failed read of the history, the baseline is retried this much later.
BASELINE_RETRY_S = 60.0


class Subscriber(Protocol):
    def subscribe(self, pattern: str, handler: Any, *, name: str | None = None) -> Any: ...


class SuggestionStore(Protocol):
    """Where suggestions outlive the process; each takes and gives ``Suggestion.to_data()``."""

    async def add(self, data: Data) -> None:
        """Keep a suggestion just raised (nothing if its id is kept already)."""
        ...

    async def decide(self, data: Data) -> dict[str, Any] | None:
        """Write the decision ``data`` carries if the kept one is still open (or unknown) and
        return None; else write nothing and return the kept one, decided first elsewhere."""
        ...

    async def save(self, data: Data) -> None:
        """Write the suggestion as it is now, whatever was kept."""
        ...

    async def grow(self, data: Data) -> None:
        """Write an open suggestion's newer calls; nothing once it is decided (anywhere)."""
        ...

    async def load(self, decided: int) -> list[dict[str, Any]]:
        """The open suggestions and the ``decided`` most recently raised decided ones."""
        ...


class WarningError(ValueError):
    """The suggestion was decided already."""


class NoIncidents(RuntimeError):
    """This service has no incident desk to announce through."""


class StoreUnavailable(RuntimeError):
    """The decision could not be claimed in the store: nothing was decided, try again."""


class EarlyWarning:
    def __init__(
        self,
        *,
        areas: AreaMap,
        thresholds: Thresholds,
        publish: Publish,
        create_incident: CreateIncident | None,
        fetch_calls: FetchCalls | None,
        zone: ZoneInfo,
        clock: Callable[[], float],
        baseline_weeks: int = 4,
        cooldown_s: float = 3600.0,
        store: SuggestionStore | None = None,
    ) -> None:
        self.areas = areas
        self.thresholds = thresholds
        self.detector = BurstDetector(thresholds)
        self._publish = publish
        self._create_incident = create_incident
        self._fetch = fetch_calls
        self._store = store
        self.zone = zone
        self._clock = clock
        self.baseline_weeks = baseline_weeks
        self.cooldown_s = cooldown_s
        self._suggestions: dict[str, Suggestion] = {}
        # Area key → its open suggestion; area key → until when it stays quiet.
        self._open: dict[str, str] = {}
        self._muted: dict[str, float] = {}
        # (local date, hour) → baseline per key, and when a failed read may be tried again.
        self._baselines: dict[tuple[str, int], dict[Key, float]] = {}
        self._retry_at: dict[tuple[str, int], float] = {}
        self.observed = 0
        # Open suggestions whose calls grew since written, and the task writing them.
        self._grown: set[str] = set()
        self._grow_task: asyncio.Task[None] | None = None

    # ---- starting where the last run stopped -----------------------------------------------

    async def start(self) -> None:
        """The kept suggestions first, then the stored calls of the last window (before the
        bus hands this service any live call)."""
        await self._load()
        await self._seed()

    async def _load(self) -> None:
        if self._store is None:
            return
        try:
            kept = await self._store.load(KEEP_DECIDED)
        except Exception as error:
            # Nothing is lost (it stays stored); this run starts without the earlier ones.
            log.error("early warning: stored suggestions unavailable (%s): not shown", error)
            return
        for data in kept:
            try:
                suggestion = Suggestion.from_data(data)
            except ValueError as error:
                log.warning("early warning: a stored suggestion skipped: %s", error)
                continue
            self._keep(suggestion)
        log.info("early warning: %d stored suggestions loaded", len(self._suggestions))

    def _keep(self, suggestion: Suggestion) -> None:
        """Hold a suggestion read from the store, as if this process had raised and decided it."""
        self._suggestions[suggestion.id] = suggestion
        area = suggestion.area_key
        if suggestion.status == "open":
            current = self._suggestions.get(self._open.get(area, ""))
            if current is None or current.raised_at <= suggestion.raised_at:
                self._open[area] = suggestion.id
        elif suggestion.decided_at is not None:
            quiet = suggestion.decided_at + self.cooldown_s
            self._muted[area] = max(self._muted.get(area, 0.0), quiet)
            if self._open.get(area) == suggestion.id:
                del self._open[area]

    async def _seed(self) -> None:
        """Replay the stored calls of the last window, as the live events would have come."""
        if self._fetch is None:
            return
        now = self._clock()
        start = datetime.fromtimestamp(now - self.thresholds.window_s, UTC)
        try:
            stored = await self._fetch(start, datetime.fromtimestamp(now, UTC))
        except Exception as error:
            log.warning("early warning: the last window's calls unavailable (%s)", error)
            return
        stored.sort(key=lambda record: record.get("started_at") or 0.0)
        for record in stored:
            await self.observe(record)
        log.info("early warning: %d stored call legs of the last window seen", len(stored))

    # ---- the event table -------------------------------------------------------------------

    def subscribe(self, bus: Subscriber) -> None:
        """A subscription per topic of the table: the bus hands this room only the two call
        events it reads, not every call.* event of the AMI hot path."""
        for topic in self.handlers:
            bus.subscribe(topic, self._on_call_event, name=f"early-warning:{topic}")

    @property
    def handlers(self) -> Mapping[str, Callable[[Payload], Awaitable[None]]]:
        return {
            CALL_IVR_FINISHED: self.observe,  # as soon as the caller chose: early
            CALL_ENDED: self.observe,  # every leg, callers who hung up in the menu too
        }

    async def _on_call_event(self, topic: str, payload: Payload) -> None:
        handler = self.handlers.get(topic)
        if handler is not None:
            await handler(payload)

    # ---- watching --------------------------------------------------------------------------

    async def observe(self, payload: Payload) -> None:
        found = observe(payload, self.areas)
        if found is None:
            return
        self.observed += 1
        baseline = await self._baseline(found.at)
        area = found.area
        for kind, value in found.signals:
            key = (area.key, kind, value)
            count = self.detector.add(key, found.call_id, found.at)
            # One open suggestion per area: a burst trips its branch and its category at
            # once, and a supervisor needs one line about it, not two.
            open_id = self._open.get(area.key)
            if open_id is not None:
                suggestion = self._suggestions[open_id]
                if (suggestion.kind, suggestion.value) == (kind, value):
                    if self._update(suggestion, key, count):
                        self._write_growth(suggestion)
                continue
            per_hour = baseline.get(key, 0.0)
            needed = self.thresholds.needed(per_hour)
            if count < needed or self._muted.get(area.key, 0.0) > self._clock():
                continue
            await self._raise(key, area.name, area.prefixes, count, per_hour, needed)

    async def _raise(
        self,
        key: Key,
        area: str,
        prefixes: tuple[str, ...],
        count: int,
        per_hour: float,
        needed: float,
    ) -> None:
        now = self._clock()
        stamp = datetime.fromtimestamp(now, UTC).astimezone(self.zone).strftime("%Y%m%d%H%M%S")
        suggestion = Suggestion(
            # Random, not a counter: unique across restarts and instances sharing a store.
            id=f"warn-{stamp}-{secrets.token_hex(3)}",
            area_key=key[0],
            area=area,
            prefixes=prefixes,
            kind=key[1],
            value=key[2],
            calls=count,
            expected=per_hour * self.thresholds.window_s / 3600.0,
            threshold=needed,
            window_s=self.thresholds.window_s,
            first_call_at=0.0,
            last_call_at=0.0,
            raised_at=now,
        )
        self._update(suggestion, key, count)
        # Held before the write's await: the area's next call finds it open, not a new burst.
        self._suggestions[suggestion.id] = suggestion
        self._open[key[0]] = suggestion.id
        if self._store is not None:
            try:
                await self._store.add(suggestion.to_data())
            except Exception as error:
                # Still suggested (console, MQTT); its decision writes it (store.decide).
                log.error("early warning %s: not stored yet (%s)", suggestion.id, error)
        log.warning(
            "early warning %s: %d calls of %s %s from %s in %g min (baseline %.1f, threshold %g)",
            suggestion.id,
            count,
            key[1],
            key[2],
            area,
            self.thresholds.window_s / 60,
            suggestion.expected,
            needed,
        )
        self._publish(WARNING_SUGGESTED, suggestion.to_json())
        self._trim()

    def _update(self, suggestion: Suggestion, key: Key, count: int) -> bool:
        """Take the window's calls of ``key`` into the suggestion; True if it changed."""
        before = (suggestion.calls, suggestion.first_call_at, suggestion.last_call_at)
        known = len(suggestion.call_ids)
        span = self.detector.span(key)
        suggestion.calls = max(suggestion.calls, count)
        if span is not None:
            first, last = span
            if not suggestion.first_call_at or first < suggestion.first_call_at:
                suggestion.first_call_at = first
            suggestion.last_call_at = max(suggestion.last_call_at, last)
        for call_id in self.detector.calls(key):
            if call_id not in suggestion.call_ids:
                suggestion.call_ids.append(call_id)
        after = (suggestion.calls, suggestion.first_call_at, suggestion.last_call_at)
        return after != before or len(suggestion.call_ids) != known

    def _write_growth(self, suggestion: Suggestion) -> None:
        """Write an open suggestion's growth behind the events: a slow database must not hold
        up the watching (the bus's queue); each suggestion's newest data, one at a time."""
        if self._store is None:
            return
        self._grown.add(suggestion.id)
        if self._grow_task is None or self._grow_task.done():
            self._grow_task = asyncio.create_task(self._grow(), name="early-warning-growth")

    async def _grow(self) -> None:
        while self._grown and self._store is not None:
            suggestion = self._suggestions.get(self._grown.pop())
            if suggestion is None or suggestion.status != "open":
                continue  # its decision wrote it
            try:
                await self._store.grow(suggestion.to_data())
            except Exception as error:
                # Its next call (or its decision) writes it again.
                log.warning("early warning %s: its growth not stored (%s)", suggestion.id, error)

    async def stop(self) -> None:
        """Write the growth still pending (before the store closes)."""
        if self._grow_task is not None:
            await self._grow_task

    async def _baseline(self, at: float) -> dict[Key, float]:
        """The keys' calls per hour in this local hour on the recent weeks (cached per hour)."""
        local = datetime.fromtimestamp(at, UTC).astimezone(self.zone)
        hour = local.replace(minute=0, second=0, microsecond=0)
        slot = (hour.date().isoformat(), hour.hour)
        cached = self._baselines.get(slot)
        if cached is not None or self._fetch is None:
            return cached or {}
        if self._retry_at.get(slot, 0.0) > self._clock():
            return {}
        weeks = []
        try:
            for n in range(1, self.baseline_weeks + 1):
                start = hour - timedelta(weeks=n)
                weeks.append(await self._fetch(start, start + timedelta(hours=1)))
        except Exception as error:
            # The rule still runs on min_calls alone; the history is tried again later.
            log.warning("early warning: no baseline for %s %02d:00 yet (%s)", *slot, error)
            self._retry_at[slot] = self._clock() + BASELINE_RETRY_S
            return {}
        baseline = self._baselines[slot] = hourly_baseline(weeks, self.areas)
        for old in sorted(self._baselines)[:-3]:
            del self._baselines[old]
        return baseline

    # ---- deciding --------------------------------------------------------------------------

    def list(self) -> list[dict[str, Any]]:
        """Every kept suggestion, open ones first, newest first within each."""
        ordered = sorted(
            self._suggestions.values(), key=lambda s: (s.status != "open", -s.raised_at)
        )
        return [s.to_json() for s in ordered]

    def get(self, suggestion_id: str) -> Suggestion | None:
        return self._suggestions.get(suggestion_id)

    async def accept(
        self, suggestion_id: str, who: str, *, title: str | None = None, text: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Announce it on the IVR (one click); return the suggestion and the incident."""
        suggestion = self._open_one(suggestion_id)
        if self._create_incident is None:
            raise NoIncidents("incidents are not available on this server")
        now = self._clock()
        # Claimed before announcing: a second click or instance finds it accepted and
        # announces nothing, whatever happens to this one afterwards.
        before = await self._claim(suggestion, "accepted", who, now)
        try:
            incident = await self._create_incident(suggestion.incident(now, title, text))
        except BaseException:
            await self._undo(suggestion, before)
            raise
        suggestion.incident_id = str(incident.get("id") or suggestion.id)
        await self._write(suggestion)
        log.warning(
            "early warning %s accepted by %s: announced as incident %s",
            suggestion.id,
            who,
            suggestion.incident_id,
        )
        self._publish(WARNING_ACCEPTED, suggestion.to_json())
        return suggestion.to_json(), incident

    async def dismiss(
        self, suggestion_id: str, who: str, reason: str | None = None
    ) -> dict[str, Any]:
        """Set it aside (logged, with who and why); the area stays quiet for the cooldown."""
        suggestion = self._open_one(suggestion_id)
        await self._claim(suggestion, "dismissed", who, self._clock(), reason)
        log.warning(
            "early warning %s (%s %s from %s, %d calls) dismissed by %s: %s",
            suggestion.id,
            suggestion.kind,
            suggestion.value,
            suggestion.area,
            suggestion.calls,
            who,
            reason or "no reason given",
        )
        self._publish(WARNING_DISMISSED, suggestion.to_json())
        return suggestion.to_json()

    def _open_one(self, suggestion_id: str) -> Suggestion:
        suggestion = self._suggestions.get(suggestion_id)
        if suggestion is None:
            raise KeyError(suggestion_id)
        if suggestion.status != "open":
            raise WarningError(f"suggestion {suggestion_id} was {suggestion.status} already")
        return suggestion

    async def _claim(
        self,
        suggestion: Suggestion,
        status: Status,
        who: str,
        now: float,
        reason: str | None = None,
    ) -> tuple[dict[str, Any], float | None]:
        """Decide it here and in the store; return what to restore if the decision is undone.

        Decided in memory before the first await, so a second click on this instance is
        refused at once; then in the store, where only a suggestion still open changes."""
        area = suggestion.area_key
        before = (suggestion.to_data(), self._muted.get(area))
        suggestion.status = status
        suggestion.decided_by = who
        suggestion.decided_at = now
        suggestion.reason = reason
        if self._open.get(area) == suggestion.id:
            del self._open[area]
        self._muted[area] = now + self.cooldown_s
        if self._store is None:
            return before
        try:
            first = await self._store.decide(suggestion.to_data())
        except Exception as error:
            self._restore(suggestion, before)
            log.error("early warning %s: decision not stored (%s)", suggestion.id, error)
            raise StoreUnavailable(
                f"suggestion {suggestion.id}: the decision could not be stored; try again"
            ) from error
        if first is None:
            return before
        # Decided first by another click or instance: take the stored decision as ours.
        self._restore(suggestion, before)
        try:
            self._keep(Suggestion.from_data(first))
        except ValueError as error:
            log.warning("early warning: the stored suggestion is unreadable: %s", error)
        decided = first.get("status", "decided")
        raise WarningError(f"suggestion {suggestion.id} was {decided} already")

    async def _undo(
        self, suggestion: Suggestion, before: tuple[dict[str, Any], float | None]
    ) -> None:
        """The announcement failed: the suggestion is open again, here and in the store."""
        self._restore(suggestion, before)
        await self._write(suggestion)

    def _restore(self, suggestion: Suggestion, before: tuple[dict[str, Any], float | None]) -> None:
        data, muted = before
        for name in ("status", "decided_by", "decided_at", "reason", "incident_id"):
            setattr(suggestion, name, data[name])
        area = suggestion.area_key
        if muted is None:
            self._muted.pop(area, None)
        else:
            self._muted[area] = muted
        if suggestion.status == "open":
            self._open.setdefault(area, suggestion.id)

    async def _write(self, suggestion: Suggestion) -> None:
        if self._store is None:
            return
        try:
            await self._store.save(suggestion.to_data())
        except Exception as error:
            # The decision itself is stored (claimed); this is its incident or its undoing.
            log.error(
                "early warning %s: not stored as %s (%s)", suggestion.id, suggestion.status, error
            )

    def _trim(self) -> None:
        decided = [s for s in self._suggestions.values() if s.status != "open"]
        decided.sort(key=lambda s: s.raised_at)
        for old in decided[: max(0, len(decided) - KEEP_DECIDED)]:
            del self._suggestions[old.id]
