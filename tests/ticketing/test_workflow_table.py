"""The workflow table as pure rules: the lifecycle walks, refusals, and properties over any
sequence of actions (hypothesis)."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketing.models import TICKET_STATUSES
from ticketing.workflow.table import (
    ACTIONS,
    CHOICES,
    COUNT,
    FIELD_KINDS,
    ROLES,
    STATES,
    TERMINAL,
    TEXTS,
    TRANSITIONS,
    UNIT,
    Actor,
    CaseFacts,
    ForbiddenTransition,
    InvalidFields,
    Transition,
    allowed_actions,
    invariant_problems,
    spoken_status,
    step,
)

UNITS = ("住建局", "水务局", "交通局")


def valid_fields(transition: Transition, pick: Any = None) -> dict[str, Any]:
    """Fields that satisfy the transition: every required one, and optional ones sometimes."""
    names = list(transition.required)
    if pick is not None:
        names += [name for name in transition.optional if pick(name)]
    fields: dict[str, Any] = {}
    for name in names:
        kind = FIELD_KINDS[name]
        if name in CHOICES:
            fields[name] = CHOICES[name][0] if pick is None else pick(("choice", name))
        elif name == "unit":
            fields[name] = UNITS[0] if pick is None else pick(("unit", name))
        elif name == "co_units":
            fields[name] = list(UNITS[1:])
        elif name == "into":
            fields[name] = "12345-20261202-000001"
        elif kind == TEXTS:
            fields[name] = ["file:sha256:ab12"]
        elif kind == COUNT:
            fields[name] = 3
        else:
            fields[name] = f"{name} text"
    return fields


def actor_for(transition: Transition, facts: CaseFacts, role: str | None = None) -> Actor:
    role = role or sorted(transition.roles)[0]
    return Actor("someone", role, facts.handling_unit if role == UNIT else None)


def walk(facts: CaseFacts, *actions: str, **overrides: Any) -> CaseFacts:
    for action in actions:
        transition = TRANSITIONS[(facts.status, action)]
        fields = valid_fields(transition)
        fields.update(overrides.get(action, {}))
        facts = step(facts, action, actor_for(transition, facts), fields).after
    return facts


# ---- the lifecycle of the domain brief ---------------------------------------------------------


def test_the_whole_lifecycle_with_extension_and_redo() -> None:
    facts = walk(
        CaseFacts(),
        "dispatch",
        "sign",
        "start",
        "request_extension",
        "approve_extension",
        "answer",
        "call_back",
        "redo",
        "answer",
        "call_back",
        "archive",
        call_back={"satisfaction": "dissatisfied"},
    )
    assert facts.status == "archived"
    assert facts.extensions == 1
    assert facts.first_unit == facts.handling_unit == UNITS[0]


def test_a_redone_case_needs_a_dissatisfied_call_back() -> None:
    facts = walk(CaseFacts(), "dispatch", "sign", "answer", "call_back")
    assert facts.last_satisfaction == "satisfied"
    with pytest.raises(ForbiddenTransition, match="only a dissatisfied case"):
        step(facts, "redo", Actor("boss", "supervisor"), {"reason": "again"})
    unhappy = walk(
        CaseFacts(), "dispatch", "sign", "answer", "call_back",
        call_back={"satisfaction": "dissatisfied"},
    )  # fmt: skip
    # The scheduler cannot archive an unhappy citizen's case; a supervisor decides.
    with pytest.raises(ForbiddenTransition, match="supervisor"):
        step(unhappy, "archive", Actor("scheduler", "system"), {})
    assert step(unhappy, "archive", Actor("boss", "supervisor"), {}).after.status == "archived"


@pytest.mark.parametrize(
    ("action", "ending"),
    [
        ("answer_directly", "answered_directly"),
        ("refer", "referred"),
        ("mark_invalid", "invalid"),
        ("submit", "to_dispatch"),
        ("dispatch", "dispatched"),
    ],
)
def test_the_desk_ends_a_registration_four_ways(action: str, ending: str) -> None:
    fields = valid_fields(TRANSITIONS[("registered", action)])
    after = step(CaseFacts(), action, Actor("li", "agent"), fields).after
    assert after.status == ending


def test_a_return_refused_is_final_and_keeps_the_unit() -> None:
    returned = walk(CaseFacts(), "dispatch", "return")
    assert returned.status == "return_requested"
    refused = walk(returned, "reject_return")
    assert (refused.status, refused.handling_unit, refused.return_rejected) == (
        "signed", UNITS[0], True,
    )  # fmt: skip
    accepted = walk(returned, "approve_return")
    assert (accepted.status, accepted.handling_unit) == ("to_dispatch", None)
    # First-contact ownership: the first unit stays on record through a new dispatch.
    again = walk(accepted, "dispatch", dispatch={"unit": UNITS[1]})
    assert (again.handling_unit, again.first_unit) == (UNITS[1], UNITS[0])


def test_forbidden_actions_say_why() -> None:
    registered = CaseFacts()
    with pytest.raises(ForbiddenTransition, match="possible actions: answer_directly"):
        step(registered, "sign", Actor("u", "unit", "住建局"), {})
    with pytest.raises(ForbiddenTransition, match="no such action"):
        step(registered, "teleport", Actor("li", "agent"), {})
    dispatched = walk(registered, "dispatch")
    with pytest.raises(ForbiddenTransition, match="role 'agent' may not; unit may"):
        step(dispatched, "sign", Actor("li", "agent"), {})
    with pytest.raises(ForbiddenTransition, match="not your unit's"):
        step(dispatched, "sign", Actor("w", "unit", "水务局"), {})
    archived = walk(registered, "mark_invalid", "archive")
    with pytest.raises(ForbiddenTransition, match="none, the case is finished"):
        step(archived, "chase", Actor("boss", "supervisor"), {})


def test_fields_are_checked() -> None:
    agent = Actor("li", "agent")
    with pytest.raises(InvalidFields, match="missing unit"):
        step(CaseFacts(), "dispatch", agent, {"unit": "   "})
    with pytest.raises(InvalidFields, match="unknown field"):
        step(CaseFacts(), "dispatch", agent, {"unit": "x", "secret": "y"})
    with pytest.raises(InvalidFields, match="category must be one of"):
        step(CaseFacts(), "dispatch", agent, {"unit": "x", "category": "gossip"})
    in_progress = walk(CaseFacts(), "dispatch", "sign", "start")
    unit = Actor("w", "unit", UNITS[0])
    for days in (0, 31, "3", True):
        with pytest.raises(InvalidFields, match="days"):
            step(in_progress, "request_extension", unit, {"reason": "r", "days": days})


def test_every_state_is_reachable_and_every_case_can_finish() -> None:
    edges: dict[str, set[str]] = {state: set() for state in STATES}
    for (state, _action), transition in TRANSITIONS.items():
        edges[state].add(transition.to)
    seen = {"registered"}
    todo = deque(["registered"])
    while todo:
        for nxt in edges[todo.popleft()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    assert seen == set(STATES)
    for state in STATES:
        reach, todo = {state}, deque([state])
        while todo:
            for nxt in edges[todo.popleft()] - reach:
                reach.add(nxt)
                todo.append(nxt)
        assert reach & TERMINAL, f"{state} can never finish"
    assert all(not allowed_actions(state) for state in TERMINAL)


def test_every_state_is_spoken_as_a_status_the_ivr_has_a_prompt_for() -> None:
    assert {spoken_status(state) for state in STATES} <= set(TICKET_STATUSES)


# ---- properties over any sequence ----------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_no_sequence_of_allowed_actions_reaches_an_invalid_case(data: st.DataObject) -> None:
    facts = CaseFacts()
    for _ in range(data.draw(st.integers(0, 40), label="steps")):
        possible = allowed_actions(facts.status)
        if not possible:
            break
        action = data.draw(st.sampled_from(possible), label="action")
        transition = TRANSITIONS[(facts.status, action)]
        role = data.draw(st.sampled_from(sorted(transition.roles)), label="role")

        def pick(what: Any) -> Any:
            if isinstance(what, tuple) and what[0] == "choice":
                return data.draw(st.sampled_from(CHOICES[what[1]]))
            if isinstance(what, tuple) and what[0] == "unit":
                return data.draw(st.sampled_from(UNITS))
            return data.draw(st.booleans())

        try:
            done = step(facts, action, actor_for(transition, facts, role), valid_fields(
                transition, pick))  # fmt: skip
        except ForbiddenTransition as refused:
            # The only refusals of an allowed cell are the table's guards.
            assert refused.why.startswith(
                ("only a dissatisfied", "a dissatisfied case", "no handling unit", "only a co-unit")
            )
            continue
        facts = done.after
        assert invariant_problems(facts) == [], (action, facts)
        assert facts.status == transition.to


@settings(max_examples=300, deadline=None)
@given(
    state=st.sampled_from(STATES),
    action=st.sampled_from((*ACTIONS, "delete", "edit_history")),
    role=st.sampled_from(sorted(ROLES | {"auditor", "wallboard", "admin"})),
)
def test_every_forbidden_action_is_refused(state: str, action: str, role: str) -> None:
    facts = CaseFacts(
        status=state,
        handling_unit=UNITS[0],
        first_unit=UNITS[0],
        merged_into_case="12345-20261202-000001" if state == "merged" else None,
        last_satisfaction="dissatisfied" if state == "callback" else None,
    )
    transition = TRANSITIONS.get((state, action))
    actor = Actor("x", role, UNITS[0] if role == UNIT else None)
    if transition is None or role not in transition.roles:
        with pytest.raises(ForbiddenTransition):
            step(facts, action, actor, valid_fields(transition) if transition else {})
    else:
        try:
            done = step(facts, action, actor, valid_fields(transition))
        except ForbiddenTransition as refused:
            # A guard beyond the table (who may archive a dissatisfied case, redo needs a
            # unit…) may still refuse a role the table allows; it must say why.
            assert refused.why.startswith(
                ("only a dissatisfied", "a dissatisfied case", "no handling unit", "only a co-unit")
            ), refused.why
        else:
            assert done.after.status == transition.to
