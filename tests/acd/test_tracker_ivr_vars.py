"""The IVR's outcome reaches the call record only as HOTLINE_* VarSets, as Asterisk sends them.

The VarSets are the capture's own (a real one, copied), renamed and revalued: the same shape a
FastAGI ``SET VARIABLE`` on the caller's channel produces in Asterisk 22.
"""

from __future__ import annotations

from typing import Any

from acd.ami.message import AmiMessage, from_pairs
from acd.calls import CallTracker
from acd.records import CallRecord
from asterisk_conf import channel_vars as cv
from tests.captures import load_expected, load_messages


def varset_like(template: AmiMessage, variable: str, value: str) -> AmiMessage:
    pairs = [
        (k, variable if k == "Variable" else value if k == "Value" else v)
        for k, v in template.fields
    ]
    return from_pairs([list(pair) for pair in pairs])


def ivr_varset(messages: list[AmiMessage], uniqueid: str | None = None) -> tuple[int, AmiMessage]:
    """The capture's HOTLINE_CHOICE VarSet (set by its IVR over FastAGI) and where it is; any
    VarSet of channel ``uniqueid`` when given."""
    for index, msg in enumerate(messages):
        if msg.name != "VarSet":
            continue
        if msg.get("Uniqueid") == uniqueid if uniqueid else msg.get("Variable") == cv.CHOICE.name:
            return index, msg
    raise AssertionError("no such VarSet")


def replay(
    name: str, extra: list[tuple[str, str]], *, after: str | None = None
) -> tuple[list[CallRecord], list[tuple[str, dict[str, Any]]]]:
    """Feed the capture with VarSets of ``extra`` added next to its HOTLINE_CHOICE one (or
    after the first event named ``after``)."""
    messages = load_messages(name)
    _, template = ivr_varset(messages, load_expected(name)[0]["uniqueid"])
    if after is None:
        index, _ = ivr_varset(messages)
    else:
        index = next(i for i, m in enumerate(messages) if m.name == after)
    added = [varset_like(template, var, value) for var, value in extra]
    stream = messages[: index + 1] + added + messages[index + 1 :]
    records: list[CallRecord] = []
    events: list[tuple[str, dict[str, Any]]] = []
    tracker = CallTracker(
        publish=lambda topic, payload: events.append((topic, payload)),
        on_record=records.append,
    )
    tracker.feed(stream)
    return records, events


OUTCOME = [
    (cv.LANGUAGE.name, "yue"),
    (cv.PATH.name, "welcome,lang,main"),
    (cv.DIGITS.name, "91"),
    (cv.INCIDENT.name, "water-1"),
    (cv.CALLBACK.name, "1"),
]


def test_the_ivr_vars_land_on_the_record() -> None:
    (expected,) = load_expected("answered_fast")
    (record,) = replay("answered_fast", OUTCOME)[0]
    got = record.to_json()
    assert (got["ivr_path"], got["incident_id"], got["callback_requested"], got["language"]) == (
        ["welcome", "lang", "main"],
        "water-1",
        True,
        "yue",
    )
    # What the AMI stream saw stays the truth where it has one (the DTMF of GET DATA).
    assert got["ivr_digits"] == expected["ivr_digits"] == "1"
    assert record.expected_view() == expected
    assert got["vars"][cv.PATH.name] == "welcome,lang,main"


def test_without_a_path_var_the_choices_are_the_path() -> None:
    (record,) = replay("answered_fast", [])[0]
    assert record.ivr_path == ["1"]
    assert (record.language, record.incident_id, record.callback_requested) == (
        None,
        None,
        False,
    )


def test_the_keys_stand_in_when_ami_saw_no_dtmf() -> None:
    first, second = replay("ivr_hangup", [(cv.DIGITS.name, "0")], after="AGIExecStart")[0]
    assert (first.ivr_digits, second.ivr_digits) == ("0", None)


def test_an_incident_report_is_published_once_per_call() -> None:
    extra = [(cv.INCIDENT.name, "water-1"), (cv.INCIDENT.name, "water-1")]
    (record,), events = replay("answered_fast", extra)
    reports = [p for t, p in events if t == "call.incident_reported"]
    assert len(reports) == 1
    assert (reports[0]["incident_id"], reports[0]["linkedid"]) == ("water-1", record.linkedid)
    assert reports[0]["caller_num"] == record.caller_num
    assert isinstance(reports[0]["at"], float) and reports[0]["at"] > 0


def test_the_survey_after_queue_is_published_once() -> None:
    extra = [(cv.SURVEY.name, "satisfied"), (cv.SURVEY.name, "dissatisfied")]
    (record,), events = replay("answered_fast", extra, after="AgentComplete")
    surveys = [p for t, p in events if t == "call.survey"]
    assert [(s["linkedid"], s["answer"]) for s in surveys] == [(record.linkedid, "satisfied")]


def test_a_survey_on_a_channel_never_followed_names_its_call() -> None:
    messages = load_messages("answered_fast")
    _, template = ivr_varset(messages)
    survey = varset_like(template, cv.SURVEY.name, "basically_satisfied")
    events: list[tuple[str, dict[str, Any]]] = []
    CallTracker(publish=lambda t, p: events.append((t, p))).feed([survey])
    ((topic, payload),) = events
    assert topic == "call.survey"
    assert payload["answer"] == "basically_satisfied"
    assert payload["linkedid"] == template.get("Linkedid")


def test_a_blocked_caller_is_marked_on_the_record() -> None:
    # The IVR's SET VARIABLEs for a blocklisted number, and the recording it started.
    extra = [(cv.CHOICE.name, "blocked"), (cv.BLOCKED.name, "17")]
    (record,) = replay("answered_fast", extra)[0]
    got = record.to_json()
    assert got["ivr_choice"] == "blocked"
    assert got["vars"][cv.BLOCKED.name] == "17"
