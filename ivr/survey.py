"""The post-call satisfaction survey (script ``survey``): 1 满意, 2 基本满意, 3 不满意."""

from __future__ import annotations

from dataclasses import dataclass

from asterisk_conf import channel_vars as cv
from ivr.engine import CallChannel
from ivr.menu import SurveySettings

ANSWERS: dict[str, str] = {
    "1": "satisfied",
    "2": "basically_satisfied",
    "3": "dissatisfied",
}


@dataclass
class SurveyResult:
    answer: str | None = None  # one of ANSWERS' values; None = no valid answer
    digit: str | None = None
    keys: str = ""  # every key pressed, valid or not


async def ask_survey(
    channel: CallChannel, settings: SurveySettings, result: SurveyResult
) -> SurveyResult:
    """Ask, repeating after an invalid key or silence; fill ``result`` as keys arrive.

    ``result`` is filled in place so a caller hanging up mid-survey still leaves what they
    pressed for the ``ivr.survey`` event.
    """
    for attempt in range(settings.retries + 1):
        reply = await channel.get_data(settings.prompt, int(settings.timeout * 1000), 1)
        key = reply.digits[:1]
        result.keys += key
        if key in ANSWERS:
            result.digit = key
            result.answer = ANSWERS[key]
            await channel.set_variable(cv.SURVEY.name, result.answer)
            await channel.stream_file(settings.thanks_prompt)
            return result
        if key and settings.invalid_prompt and attempt < settings.retries:
            await channel.stream_file(settings.invalid_prompt)
    await channel.set_variable(cv.SURVEY.name, "none")
    return result
