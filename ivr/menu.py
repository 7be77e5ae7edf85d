"""Voice menus are data: the model, the TOML loader, and validation of the whole tree.

``load_menu(path)`` reads a menu file and either returns a ``Menu`` or raises ``MenuError``
listing EVERY fault found, each as ``file:line: message`` (unknown node or queue, missing
prompt, option without action, unreachable node, a loop with no way out, bad values,
misspelt keys). The file format is documented in ``ivr/menus/12345.toml``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.actions import (
    CallbackAction,
    DistrictAction,
    EmergencyAction,
    Field,
    HangupAction,
    IncidentReportAction,
    LanguageAction,
    MenuAction,
    PlayAction,
    QueueAction,
    SubmenuAction,
    TicketProgressAction,
    follow,
    kind_named,
    kind_names,
)
from ivr.hours import ServiceHours, parse_span
from ivr.toml_lines import key_lines, line_of

DTMF_KEYS = frozenset("0123456789*#")


_NODE_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")


# The actions (what a key or a fallback does) are declared in the registry of ivr.actions;
# re-exported here because the menu model is where callers look for them.
Action = MenuAction
__all__ = [
    "Action",
    "CallbackAction",
    "DistrictAction",
    "EmergencyAction",
    "HangupAction",
    "IncidentReportAction",
    "LanguageAction",
    "Menu",
    "MenuError",
    "MenuFault",
    "Node",
    "PlayAction",
    "QueueAction",
    "SubmenuAction",
    "TicketProgressAction",
    "load_menu",
    "missing_queues",
    "parse_menu",
    "queue_names",
]


# -- the menu ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Node:
    id: str
    prompts: tuple[str, ...]
    options: dict[str, Action]
    timeout: float = 5.0
    # How many times the menu is repeated after an invalid key or silence before the fallback.
    retries: int = 1
    on_invalid: Action | None = None
    on_timeout: Action | None = None
    # For nodes without options: what follows the prompts.
    next: Action | None = None
    announce_incidents: bool = False


@dataclass(frozen=True, slots=True)
class QueueConfig:
    name: str
    hours: ServiceHours
    # Where a caller goes when the queue is closed; None = the queue is always open.
    night: Action | None = None


@dataclass(frozen=True, slots=True)
class IncidentSettings:
    confirm_prompt: str
    registered_prompt: str
    confirm_key: str = "1"
    timeout: float = 4.0


@dataclass(frozen=True, slots=True)
class SurveySettings:
    prompt: str
    thanks_prompt: str
    invalid_prompt: str | None = None
    timeout: float = 6.0
    retries: int = 1


@dataclass(frozen=True, slots=True)
class Menu:
    source: str
    start: str
    nodes: dict[str, Node]
    queues: dict[str, QueueConfig]
    agent: QueueAction
    incidents: IncidentSettings
    survey: SurveySettings
    agent_key: str = "0"
    language: str = "zh"
    invalid_prompt: str | None = None
    timeout_prompt: str | None = None
    prompts: dict[str, dict[str, str]] = field(default_factory=dict)


def queue_names(menu: Menu) -> set[str]:
    """Every queue the menu can send a caller to: its options, fallbacks, night destinations,
    callbacks and the agent (all of them are in ``menu.queues``: load_menu checks that)."""
    return {*menu.queues, menu.agent.queue}


def missing_queues(menu: Menu, known: Iterable[str]) -> list[str]:
    """The menu's queues that are not in ``known`` (the PBX's queues.conf), sorted."""
    return sorted(queue_names(menu) - set(known))


@dataclass(frozen=True, slots=True)
class MenuFault:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class MenuError(Exception):
    def __init__(self, faults: list[MenuFault]) -> None:
        self.faults = faults
        super().__init__("invalid menu:\n" + "\n".join(str(f) for f in faults))


# -- loading -----------------------------------------------------------------------------------
def load_menu(path: str | Path) -> Menu:
    """Read and validate a menu file; raise MenuError naming every fault with file:line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise MenuError([MenuFault(str(path), 0, f"cannot read menu file: {error}")]) from None
    return parse_menu(text, source=str(path))


def parse_menu(text: str, source: str = "<menu>") -> Menu:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MenuError(
            [MenuFault(source, _toml_error_line(error), f"TOML syntax: {error}")]
        ) from None
    builder = _Builder(source, key_lines(text))
    menu = builder.build(data)
    if builder.faults or menu is None:
        raise MenuError(sorted(builder.faults, key=lambda f: (f.line, f.message)))
    return menu


def _toml_error_line(error: tomllib.TOMLDecodeError) -> int:
    message = str(error)
    marker = "(at line "
    if marker in message:
        digits = message.split(marker, 1)[1].split(",", 1)[0].rstrip(")")
        if digits.isdigit():
            return int(digits)
    return 0


_NODE_FIELDS = {
    "prompt",
    "options",
    "timeout",
    "retries",
    "on_invalid",
    "on_timeout",
    "next",
    "announce_incidents",
}
_MENU_FIELDS = {"start", "language", "agent_key", "agent", "invalid_prompt", "timeout_prompt"}
_TOP_FIELDS = {"menu", "incidents", "survey", "queues", "nodes", "prompts"}

Where = tuple[str, ...]


class _Builder:
    """Builds the model and collects faults instead of stopping at the first one."""

    def __init__(self, source: str, lines: dict[tuple[str, ...], int]) -> None:
        self.source = source
        self.lines = lines
        self.faults: list[MenuFault] = []
        # (where, node id) for every reference to a node; (where, prompt) for every prompt.
        self.node_refs: list[tuple[Where, str]] = []
        self.prompt_refs: list[tuple[Where, str]] = []
        self.queue_refs: list[tuple[Where, str]] = []

    def fault(self, where: Where, message: str) -> None:
        self.faults.append(MenuFault(self.source, line_of(self.lines, where), message))

    # -- small typed readers -----------------------------------------------------------------
    def _unknown_keys(self, where: Where, table: dict[str, Any], allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                self.fault((*where, key), f"unknown key {key!r} in {'.'.join(where) or 'file'}")

    def _str(
        self,
        where: Where,
        table: dict[str, Any],
        key: str,
        required: bool = True,
        default: str | None = None,
    ) -> str | None:
        value = table.get(key)
        if value is None:
            if required:
                self.fault(where, f"{'.'.join(where)}: missing {key!r}")
            return default
        if not isinstance(value, str) or not value:
            self.fault((*where, key), f"{'.'.join((*where, key))}: must be a non-empty string")
            return default
        return value

    def _number(
        self, where: Where, table: dict[str, Any], key: str, default: float, minimum: float
    ) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            self.fault((*where, key), f"{'.'.join((*where, key))}: must be a number ≥ {minimum}")
            return default
        return float(value)

    def _int(
        self, where: Where, table: dict[str, Any], key: str, default: int, minimum: int
    ) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fault((*where, key), f"{'.'.join((*where, key))}: must be an integer ≥ {minimum}")
            return default
        return value

    def _prompts(
        self, where: Where, table: dict[str, Any], key: str = "prompt", required: bool = True
    ) -> tuple[str, ...]:
        value = table.get(key)
        if value is None:
            if required:
                self.fault(where, f"{'.'.join(where)}: missing prompt")
            return ()
        items = [value] if isinstance(value, str) else value
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(item, str) and item for item in items)
        ):
            self.fault(
                (*where, key),
                f"{'.'.join((*where, key))}: must be a prompt name or a list of prompt names",
            )
            return ()
        for item in items:
            self.prompt_refs.append(((*where, key), item))
        return tuple(items)

    def _one_prompt(
        self, where: Where, table: dict[str, Any], key: str, required: bool = True
    ) -> str | None:
        name = self._str(where, table, key, required=required)
        if name is not None:
            self.prompt_refs.append(((*where, key), name))
        return name

    def _table(self, where: Where, value: Any) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.fault(where, f"{'.'.join(where)}: must be a table")
            return None
        return value

    # -- actions -------------------------------------------------------------------------------
    def action(self, where: Where, value: Any) -> Action | None:
        table = self._table(where, value)
        if table is None:
            return None
        kind = table.get("action")
        if kind is None:
            self.fault(where, f"{'.'.join(where)}: option without action")
            return None
        action_kind = kind_named(kind) if isinstance(kind, str) else None
        if action_kind is None:
            self.fault(
                (*where, "action"),
                f"{'.'.join(where)}: unknown action {kind!r} (one of {', '.join(kind_names())})",
            )
            return None
        self._unknown_keys(where, table, action_kind.keys | {"action"})
        values: dict[str, Any] = {}
        complete = True
        for f in action_kind.fields:
            value = self._field(where, table, f)
            if value is None or (f.required and value == ()):
                # A required value is missing or bad, or a nested action is: no action, the
                # fault is recorded. An optional plain value may well be None.
                complete = complete and not (f.required or f.type == "action")
            values[f.name] = value
        if not complete:
            return None
        # Node and queue references count only for an action that was built: one fault per
        # mistake, not a second one about a reference of a broken action.
        for f in action_kind.fields:
            refs = {"node": self.node_refs, "queue": self.queue_refs}.get(f.type)
            if refs is not None and values[f.name] is not None:
                refs.append(((*where, f.key), values[f.name]))
        return action_kind.cls(**values)

    def _field(self, where: Where, t: dict[str, Any], f: Field) -> Any:
        """Read one field of an action table, recording faults and references."""
        if f.type == "action":
            if f.key in t:
                return self.action((*where, f.key), t[f.key])
            if f.required:
                self.fault(where, f"{'.'.join(where)}: {f.missing or f'missing {f.key!r}'}")
                return None
            return f.default
        if f.type == "prompt":
            return self._one_prompt(where, t, f.key, required=f.required)
        if f.type == "prompts":
            return self._prompts(where, t, f.key, required=f.required)
        if f.type == "int":
            return self._int(where, t, f.key, int(f.default), int(f.minimum))
        if f.type == "number":
            return self._number(where, t, f.key, float(f.default), f.minimum)
        value = self._str(where, t, f.key, required=f.required)
        if value is not None and f.check is not None:
            problem = f.check(".".join(where), value)
            if problem is not None:
                self.fault((*where, f.key), problem)
                return None
        return value

    # -- sections ------------------------------------------------------------------------------
    def build(self, data: dict[str, Any]) -> Menu | None:
        self._unknown_keys((), data, _TOP_FIELDS)
        menu_t = self._table(("menu",), data.get("menu", {})) or {}
        self._unknown_keys(("menu",), menu_t, _MENU_FIELDS)
        start = self._str(("menu",), menu_t, "start")
        if start is not None:
            self.node_refs.append((("menu", "start"), start))
        agent_key = self._str(("menu",), menu_t, "agent_key", required=False, default="0")
        if agent_key not in DTMF_KEYS:
            self.fault(("menu", "agent_key"), "menu.agent_key: must be one DTMF key")
        agent = self.action(("menu", "agent"), menu_t.get("agent")) if "agent" in menu_t else None
        if "agent" not in menu_t:
            self.fault(("menu",), "menu: missing 'agent' (the queue behind the agent key)")
        elif agent is not None and not isinstance(agent, QueueAction):
            self.fault(("menu", "agent"), "menu.agent: must be a queue action")
        invalid_prompt = self._one_prompt(("menu",), menu_t, "invalid_prompt", required=False)
        timeout_prompt = self._one_prompt(("menu",), menu_t, "timeout_prompt", required=False)
        language = self._str(("menu",), menu_t, "language", required=False, default="zh")

        incidents = self._incident_settings(data.get("incidents"))
        survey = self._survey_settings(data.get("survey"))
        queues = self._queues(data.get("queues"))
        nodes = self._nodes(data.get("nodes"))
        prompts = self._prompt_texts(data.get("prompts"))

        self._check_references(nodes, queues, prompts)
        if start is not None and start in nodes:
            self._check_graph(
                start, nodes, agent if isinstance(agent, QueueAction) else None, agent_key or "0"
            )
        if (
            start is None
            or not isinstance(agent, QueueAction)
            or incidents is None
            or survey is None
            or agent_key is None
            or self.faults
        ):
            return None
        return Menu(
            source=self.source,
            start=start,
            nodes=nodes,
            queues=queues,
            agent=agent,
            incidents=incidents,
            survey=survey,
            agent_key=agent_key,
            language=language or "zh",
            invalid_prompt=invalid_prompt,
            timeout_prompt=timeout_prompt,
            prompts=prompts,
        )

    def _incident_settings(self, value: Any) -> IncidentSettings | None:
        where = ("incidents",)
        if value is None:
            self.fault((), "missing [incidents] table (announcement prompts)")
            return None
        table = self._table(where, value)
        if table is None:
            return None
        self._unknown_keys(
            where, table, {"confirm_prompt", "registered_prompt", "confirm_key", "timeout"}
        )
        confirm = self._one_prompt(where, table, "confirm_prompt")
        registered = self._one_prompt(where, table, "registered_prompt")
        key = self._str(where, table, "confirm_key", required=False, default="1")
        if key not in DTMF_KEYS:
            self.fault((*where, "confirm_key"), "incidents.confirm_key: must be one DTMF key")
        timeout = self._number(where, table, "timeout", 4.0, 1)
        if confirm is None or registered is None or key is None:
            return None
        return IncidentSettings(confirm, registered, key, timeout)

    def _survey_settings(self, value: Any) -> SurveySettings | None:
        where = ("survey",)
        if value is None:
            self.fault((), "missing [survey] table (post-call survey prompts)")
            return None
        table = self._table(where, value)
        if table is None:
            return None
        self._unknown_keys(
            where, table, {"prompt", "thanks_prompt", "invalid_prompt", "timeout", "retries"}
        )
        prompt = self._one_prompt(where, table, "prompt")
        thanks = self._one_prompt(where, table, "thanks_prompt")
        invalid = self._one_prompt(where, table, "invalid_prompt", required=False)
        timeout = self._number(where, table, "timeout", 6.0, 1)
        retries = self._int(where, table, "retries", 1, 0)
        if prompt is None or thanks is None:
            return None
        return SurveySettings(prompt, thanks, invalid, timeout, retries)

    def _queues(self, value: Any) -> dict[str, QueueConfig]:
        queues: dict[str, QueueConfig] = {}
        if value is None:
            self.fault((), "missing [queues] table")
            return queues
        table = self._table(("queues",), value) or {}
        for name, raw in table.items():
            where = ("queues", name)
            conf = self._table(where, raw)
            if conf is None:
                continue
            self._unknown_keys(where, conf, {"workday_hours", "restday_hours", "night"})
            workday = self._spans(where, conf, "workday_hours")
            restday = self._spans(where, conf, "restday_hours")
            night = self.action((*where, "night"), conf["night"]) if "night" in conf else None
            if night is not None and follow(night)[0]:
                self.fault(
                    (*where, "night"),
                    f"queues.{name}.night: must be a queue, a message "
                    "(play), a callback or a hang-up, not a menu",
                )
            always = workday == ((0, 1440),) and restday == ((0, 1440),)
            if night is None and not always and "night" not in conf:
                self.fault(where, f"queues.{name}: closed at times but has no 'night' destination")
            queues[name] = QueueConfig(name, ServiceHours(workday, restday), night)
        return queues

    def _spans(self, where: Where, conf: dict[str, Any], key: str) -> tuple[tuple[int, int], ...]:
        raw = conf.get(key, ["00:00-24:00"])
        if not isinstance(raw, list):
            self.fault((*where, key), f'{".".join((*where, key))}: must be a list of "HH:MM-HH:MM"')
            return ()
        spans = []
        for item in raw:
            try:
                spans.append(parse_span(str(item)))
            except ValueError as error:
                self.fault((*where, key), f"{'.'.join((*where, key))}: {error}")
        return tuple(spans)

    def _nodes(self, value: Any) -> dict[str, Node]:
        nodes: dict[str, Node] = {}
        if value is None:
            self.fault((), "missing [nodes] table")
            return nodes
        for node_id, raw in (self._table(("nodes",), value) or {}).items():
            if not _NODE_ID.fullmatch(node_id):
                # Node ids travel in the HOTLINE_PATH channel variable, comma-separated, as an
                # AGI argument: letters, digits, _ and - only.
                self.fault(
                    ("nodes", node_id),
                    f"nodes.{node_id}: node id must be letters, digits, _ or - (max 40)",
                )
                continue
            node = self._node(node_id, raw)
            if node is not None:
                nodes[node_id] = node
        return nodes

    def _node(self, node_id: str, raw: Any) -> Node | None:
        where = ("nodes", node_id)
        table = self._table(where, raw)
        if table is None:
            return None
        self._unknown_keys(where, table, _NODE_FIELDS)
        prompts = self._prompts(where, table)
        options: dict[str, Action] = {}
        options_t = self._table((*where, "options"), table.get("options", {})) or {}
        for key, raw_action in options_t.items():
            if key not in DTMF_KEYS:
                self.fault(
                    (*where, "options", key),
                    f"nodes.{node_id}.options: {key!r} is not a DTMF key (0-9, *, #)",
                )
            found = self.action((*where, "options", key), raw_action)
            if found is not None:
                options[key] = found
        on_invalid = (
            self.action((*where, "on_invalid"), table["on_invalid"])
            if "on_invalid" in table
            else None
        )
        on_timeout = (
            self.action((*where, "on_timeout"), table["on_timeout"])
            if "on_timeout" in table
            else None
        )
        nxt = self.action((*where, "next"), table["next"]) if "next" in table else None
        if options_t and "next" in table:
            self.fault(
                (*where, "next"), f"nodes.{node_id}: 'next' is only for nodes without options"
            )
        if not options_t and "next" not in table:
            self.fault(where, f"nodes.{node_id}: a node needs options or 'next'")
        announce = table.get("announce_incidents", False)
        if not isinstance(announce, bool):
            self.fault(
                (*where, "announce_incidents"),
                f"nodes.{node_id}.announce_incidents: must be true or false",
            )
            announce = False
        return Node(
            id=node_id,
            prompts=prompts,
            options=options,
            timeout=self._number(where, table, "timeout", 5.0, 1),
            retries=self._int(where, table, "retries", 1, 0),
            on_invalid=on_invalid,
            on_timeout=on_timeout,
            next=nxt,
            announce_incidents=announce,
        )

    def _prompt_texts(self, value: Any) -> dict[str, dict[str, str]]:
        texts: dict[str, dict[str, str]] = {}
        if value is None:
            self.fault((), "missing [prompts] table (the words behind each sound file)")
            return texts
        for name, raw in (self._table(("prompts",), value) or {}).items():
            if isinstance(raw, str) and raw:
                texts[name] = {"zh": raw}
            elif (
                isinstance(raw, dict)
                and raw
                and all(isinstance(v, str) and v for v in raw.values())
            ):
                texts[name] = dict(raw)
            else:
                self.fault(
                    ("prompts", name),
                    f"prompts.{name}: must be a text or a table of language = text",
                )
        return texts

    # -- whole-tree checks ---------------------------------------------------------------------
    def _check_references(
        self,
        nodes: dict[str, Node],
        queues: dict[str, QueueConfig],
        prompts: dict[str, dict[str, str]],
    ) -> None:
        for where, node_id in self.node_refs:
            if node_id not in nodes:
                self.fault(where, f"unknown node {node_id!r}")
        for where, prompt in self.prompt_refs:
            if prompt not in prompts:
                self.fault(where, f"missing prompt {prompt!r} (not in [prompts])")
        for where, queue in self.queue_refs:
            if queue not in queues:
                self.fault(where, f"unknown queue {queue!r} (not in [queues])")

    def _check_graph(
        self, start: str, nodes: dict[str, Node], agent: QueueAction | None, agent_key: str
    ) -> None:
        fallback: Action = agent or HangupAction()
        successors: dict[str, set[str]] = {}
        exits: dict[str, bool] = {}
        for node in nodes.values():
            targets: set[str] = set()
            # The agent key works in every menu that does not use it for something else.
            terminal = bool(node.options) and agent_key not in node.options and agent is not None
            actions = list(node.options.values())
            if node.options:
                actions.append(node.on_invalid or fallback)
                actions.append(node.on_timeout or fallback)
                if node.on_invalid is None or node.on_timeout is None:
                    actions.append(fallback)
            if node.next is not None:
                actions.append(node.next)
            for act in actions:
                act_targets, act_terminal = follow(act)
                targets |= act_targets
                terminal = terminal or act_terminal
            successors[node.id] = {t for t in targets if t in nodes}
            exits[node.id] = terminal

        reachable = {start}
        todo = [start]
        while todo:
            for target in successors[todo.pop()]:
                if target not in reachable:
                    reachable.add(target)
                    todo.append(target)
        for node_id in nodes:
            if node_id not in reachable:
                self.fault(
                    ("nodes", node_id),
                    f"unreachable node {node_id!r} (no path from start {start!r})",
                )

        can_leave = {n for n, ok in exits.items() if ok}
        changed = True
        while changed:
            changed = False
            for node_id, targets in successors.items():
                if node_id not in can_leave and targets & can_leave:
                    can_leave.add(node_id)
                    changed = True
        for node_id in nodes:
            if node_id in reachable and node_id not in can_leave:
                self.fault(
                    ("nodes", node_id),
                    f"node {node_id!r} is in a loop with no way out "
                    "(no queue, callback or hang-up reachable)",
                )
