"""A suggested incident and the announcement it becomes when a supervisor accepts it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal, cast

Status = Literal["open", "accepted", "dismissed"]
STATUSES: tuple[Status, ...] = ("open", "accepted", "dismissed")

# The ticket categories a menu names (asterisk_conf.channel_vars.CATEGORY_VALUES), in Chinese.
CATEGORY_NAMES = {
    "consultation": "咨询",
    "help": "求助",
    "complaint": "投诉",
    "report": "举报",
    "suggestion": "建议",
    "praise": "表扬",
    "other": "其他",
}


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


@dataclass(slots=True)
class Suggestion:
    id: str
    area_key: str
    area: str
    prefixes: tuple[str, ...]
    kind: str
    value: str
    calls: int
    expected: float
    threshold: float
    window_s: float
    first_call_at: float
    last_call_at: float
    raised_at: float
    status: Status = "open"
    incident_id: str | None = None
    decided_by: str | None = None
    decided_at: float | None = None
    reason: str | None = None
    call_ids: list[str] = field(default_factory=list)

    @property
    def topic_name(self) -> str:
        """What the calls are about, for people: 求助 or 按键 21."""
        if self.kind == "category":
            return CATEGORY_NAMES.get(self.value, self.value)
        return f"按键{self.value}"

    def incident(self, start: float, title: str | None, text: str | None) -> dict[str, Any]:
        """The announcement (JSON form of ivr.incidents.Incident) accepting it publishes.

        It concerns exactly the callers of the area (its number prefixes) and is announced
        wherever the menu announces incidents; the words are the supervisor's, or generic
        ones that promise nothing the hotline does not know yet.
        """
        return {
            "id": self.id,
            "title": title or f"{self.area} {self.topic_name}来电激增",
            "text": text
            or "我们已接到您所在区域多位市民反映的同类问题，正在核实处理，感谢您的来电。",
            "prompt": f"hotline/incidents/{self.id}",
            "start": iso(start),
            "prefixes": list(self.prefixes),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "area": self.area,
            "area_key": self.area_key,
            "prefixes": list(self.prefixes),
            "kind": self.kind,
            "value": self.value,
            "calls": self.calls,
            "expected": self.expected,
            "threshold": self.threshold,
            "window_s": self.window_s,
            "first_call_at": iso(self.first_call_at),
            "last_call_at": iso(self.last_call_at),
            "raised_at": iso(self.raised_at),
            "incident_id": self.incident_id,
            "decided_by": self.decided_by,
            "decided_at": iso(self.decided_at) if self.decided_at is not None else None,
            "reason": self.reason,
        }

    def to_data(self) -> dict[str, Any]:
        """Every field as JSON data (times as epoch seconds, the calls' ids too): what the
        suggestion store keeps, and ``from_data`` reads back exactly."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["prefixes"] = list(self.prefixes)
        data["call_ids"] = list(self.call_ids)
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Suggestion:
        """The suggestion ``to_data`` wrote; ValueError naming the field when it is not one."""
        problems: list[str] = []
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                if f.name in _OPTIONAL:
                    continue
                problems.append(f"{f.name}: missing")
                continue
            value = data[f.name]
            expected = _TYPES.get(f.name)
            if expected is not None and not _is(value, expected):
                problems.append(f"{f.name}: {value!r} is not {expected}")
            values[f.name] = value
        if data.get("status", "open") not in STATUSES:
            problems.append(f"status: one of {', '.join(STATUSES)}")
        if problems:
            raise ValueError(f"suggestion {data.get('id')!r}: " + "; ".join(problems))
        values["prefixes"] = tuple(values["prefixes"])
        values["call_ids"] = list(values.get("call_ids", []))
        return cls(**values)


# The fields a stored suggestion may lack (their defaults), and each field's JSON type.
_OPTIONAL = {"status", "incident_id", "decided_by", "decided_at", "reason", "call_ids"}
_TYPES = {
    "id": "str", "area_key": "str", "area": "str", "prefixes": "list[str]", "kind": "str",
    "value": "str", "calls": "int", "expected": "number", "threshold": "number",
    "window_s": "number", "first_call_at": "number", "last_call_at": "number",
    "raised_at": "number", "status": "str", "incident_id": "str?", "decided_by": "str?",
    "decided_at": "number?", "reason": "str?", "call_ids": "list[str]",
}  # fmt: skip


def _is(value: Any, expected: str) -> bool:
    if expected.endswith("?"):
        return value is None or _is(value, expected[:-1])
    if expected == "str":
        return isinstance(value, str)
    if expected == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    items = cast(list[Any], value)
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in items)
