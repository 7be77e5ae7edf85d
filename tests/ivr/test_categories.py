"""A call is filed under the category its menu choice names (HOTLINE_CATEGORY), so the shipped
menu's "求助请按2，投诉请按3" cannot be filed the other way round."""

from __future__ import annotations

import pytest

from asterisk_conf import channel_vars as cv
from ivr.menu import MenuError, parse_menu
from ivr.menu_source import DEFAULT_MENU
from tests.ivr.agi_emulator import call
from tests.ivr.conftest import Ivr
from ticketing.models import TICKET_CATEGORIES
from ticketing.tickets import CATEGORY_VAR, category_of, checked_categories


def test_the_contract_names_the_ticket_categories() -> None:
    assert cv.CATEGORY_VALUES == TICKET_CATEGORIES
    assert cv.CATEGORY.name == CATEGORY_VAR


@pytest.mark.parametrize(
    ("keys", "category"),
    [
        (["1"], "consultation"),
        (["2", "1"], "help"),
        (["2", "2"], "help"),
        (["3"], "complaint"),
        (["4"], "report"),
        (["5"], "suggestion"),
    ],
)
async def test_the_shipped_menu_sets_the_category_its_prompt_announces(
    ivr: Ivr, keys: list[str], category: str
) -> None:
    log = await call(ivr.port, keys)
    assert log.variables[cv.CATEGORY.name] == category
    # And the ticket follows it, whatever the choice digits map to elsewhere.
    record = {"ivr_choice": log.variables[cv.CHOICE.name], "vars": log.variables}
    assert category_of(record, checked_categories(None)) == category


async def test_the_agent_key_names_no_category(ivr: Ivr) -> None:
    log = await call(ivr.port, ["0"])
    assert cv.CATEGORY.name not in log.variables


def test_a_category_that_is_no_ticket_category_is_refused() -> None:
    text = DEFAULT_MENU.read_text("utf-8").replace('category = "complaint"', 'category = "rant"')
    with pytest.raises(MenuError, match="'rant' is not a ticket category"):
        parse_menu(text, "12345.toml")
