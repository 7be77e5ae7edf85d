"""The post-call survey script: 1 满意, 2 基本满意, 3 不满意, or no answer."""

from __future__ import annotations

import pytest

from tests.ivr.agi_emulator import HANGUP, call
from tests.ivr.conftest import Ivr


@pytest.mark.parametrize(
    ("keys", "answer", "digit"),
    [
        (["1"], "satisfied", "1"),
        (["2"], "basically_satisfied", "2"),
        (["3"], "dissatisfied", "3"),
        (["7", "3"], "dissatisfied", "3"),  # invalid, asked again
        ([None, "2"], "basically_satisfied", "2"),  # silence, asked again
        ([None, None], None, None),
        (["9", "8"], None, None),
    ],
)
async def test_survey_answers(
    ivr: Ivr, keys: list[str | None], answer: str | None, digit: str | None
) -> None:
    log = await call(
        ivr.port, keys, script="survey", linkedid="1795445409.60", uniqueid="1795445409.61"
    )
    [event] = ivr.events.of("ivr.survey")
    assert event["linkedid"] == "1795445409.60"
    assert event["uniqueid"] == "1795445409.61"
    assert (event["answer"], event["digit"]) == (answer, digit)
    assert log.variables["HOTLINE_SURVEY"] == (answer or "none")
    asked = [c for c in log.commands if c.startswith("GET DATA")]
    assert asked == ["GET DATA hotline/survey 6000 1"] * len(keys)
    assert ('STREAM FILE hotline/survey-thanks ""' in log.commands) is (answer is not None)
    assert log.hung_up_by_app
    assert ivr.events.of("ivr.finished") == []


async def test_caller_hanging_up_during_the_survey_is_published_without_answer(ivr: Ivr) -> None:
    log = await call(ivr.port, [HANGUP], script="survey", linkedid="1795445409.70")
    [event] = ivr.events.of("ivr.survey")
    assert event["linkedid"] == "1795445409.70"
    assert event["answer"] is None
    assert log.caller_hung_up and "HOTLINE_SURVEY" not in log.variables
