"""Menu files: the shipped 12345 menu, validation faults with file:line, hot reload."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from ivr.menu import (
    Action,
    LanguageAction,
    Menu,
    MenuError,
    QueueAction,
    SubmenuAction,
    load_menu,
    parse_menu,
)
from ivr.menu_source import DEFAULT_MENU, MenuSource
from tests.ivr.agi_emulator import call
from tests.ivr.conftest import Ivr

GOOD_HEAD = """\
[menu]
start = "main"
agent = { action = "queue", queue = "q" }

[incidents]
confirm_prompt = "p"
registered_prompt = "p"

[survey]
prompt = "p"
thanks_prompt = "p"

[queues.q]

[prompts]
p = "文本"
"""


def faults_of(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MenuError) as caught:
        load_menu(path)
    return [str(fault) for fault in caught.value.faults]


def test_shipped_menu_loads() -> None:
    menu = load_menu(DEFAULT_MENU)
    assert menu.start == "welcome"
    assert menu.agent == QueueAction("hotline-general", 0, "0")
    assert set(menu.nodes["main"].options) == {"1", "2", "3", "4", "5", "6", "9"}


def presses_to_a_person(menu: Menu) -> dict[str, int]:
    """Fewest key presses from the start to a queue, per menu node entered on the way."""
    depth: dict[str, int] = {menu.start: 0}
    todo = [menu.start]
    while todo:
        node = menu.nodes[todo.pop(0)]
        follow: list[Action] = list(node.options.values())
        if node.next is not None:
            follow.append(node.next)
        for action in follow:
            cost = depth[node.id] + (0 if action is node.next else 1)
            target = action.node if isinstance(action, SubmenuAction | LanguageAction) else None
            if target is not None and target not in depth:
                depth[target] = cost
                todo.append(target)
    return depth


def test_a_person_is_at_most_two_key_presses_away() -> None:
    menu = load_menu(DEFAULT_MENU)
    depth = presses_to_a_person(menu)
    # Walk every node a caller can reach by keys alone (not through a ticket lookup).
    for node_id, presses in depth.items():
        node = menu.nodes[node_id]
        if not node.options:
            continue
        assert presses <= 1, f"{node_id} needs {presses} presses before its menu"
        assert menu.agent_key not in node.options  # 0 = agent works in this menu
        for key, action in node.options.items():
            if isinstance(action, QueueAction):
                assert presses + 1 <= 2, f"{node_id}/{key}"
    main = menu.nodes["main"]
    # Every request type reaches a queue within two presses.
    for key in "12345":
        action = main.options[key]
        if isinstance(action, SubmenuAction):
            sub = menu.nodes[action.node]
            assert any(isinstance(a, QueueAction) for a in sub.options.values()), key
        else:
            assert isinstance(action, QueueAction), key


def test_every_fault_is_named_with_file_and_line(tmp_path: Path) -> None:
    text = (
        GOOD_HEAD
        + """\
[nodes.main]
prompt = "p"
[nodes.main.options]
1 = { action = "submenu", node = "nowhere" }
2 = { queue = "q" }
3 = { action = "queue", queue = "q" }
4 = { action = "play", prompt = "no-such-prompt" }

[nodes.orphan]
prompt = "p"
next = { action = "queue", queue = "q" }

[nodes.silent]
next = { action = "queue", queue = "q" }

[nodes.spin-a]
prompt = "p"
next = { action = "submenu", node = "spin-b" }

[nodes.spin-b]
prompt = "p"
next = { action = "submenu", node = "spin-a" }
"""
    )
    # Make the loop reachable so it is reported as a loop, not only as unreachable.
    text = text.replace(
        '3 = { action = "queue", queue = "q" }', '3 = { action = "submenu", node = "spin-a" }'
    )
    lines = text.splitlines()

    def line(fragment: str) -> int:
        return next(n for n, content in enumerate(lines, 1) if fragment in content)

    faults = faults_of(text, tmp_path)
    where = str(tmp_path / "bad.toml")
    expected = {
        f"{where}:{line('nowhere')}: unknown node 'nowhere'",
        f"{where}:{line('2 = { queue')}: nodes.main.options.2: option without action",
        f"{where}:{line('no-such-prompt')}: missing prompt 'no-such-prompt' (not in [prompts])",
        f"{where}:{line('[nodes.orphan]')}: unreachable node 'orphan' (no path from start 'main')",
        f"{where}:{line('[nodes.silent]')}: nodes.silent: missing prompt",
        f"{where}:{line('[nodes.spin-a]')}: node 'spin-a' is in a loop with no way out "
        "(no queue, callback or hang-up reachable)",
        f"{where}:{line('[nodes.spin-b]')}: node 'spin-b' is in a loop with no way out "
        "(no queue, callback or hang-up reachable)",
    }
    assert expected <= set(faults), "\n".join(faults)
    unexpected = set(faults) - expected
    # The silent node is also unreachable; nothing else may be reported.
    assert unexpected == {
        f"{where}:{line('[nodes.silent]')}: unreachable node 'silent' (no path from start 'main')"
    }


def test_more_faults_unknown_queue_action_key_and_bad_values(tmp_path: Path) -> None:
    text = (
        GOOD_HEAD
        + """\
[nodes.main]
prompt = "p"
timeout = -3
colour = "red"
[nodes.main.options]
1 = { action = "queue", queue = "nope" }
2 = { action = "teleport" }
x = { action = "queue", queue = "q" }
"""
    )
    faults = faults_of(text, tmp_path)
    lines = text.splitlines()
    numbered = {fault.split(":", 2)[1]: fault for fault in faults}
    assert any("unknown queue 'nope'" in f for f in faults)
    assert any("unknown action 'teleport'" in f for f in faults)
    assert any("'x' is not a DTMF key" in f for f in faults)
    assert any("unknown key 'colour'" in f for f in faults)
    assert any("timeout: must be a number" in f for f in faults)
    assert str(lines.index("timeout = -3") + 1) in numbered
    assert str(lines.index('colour = "red"') + 1) in numbered


def test_toml_syntax_error_names_its_line(tmp_path: Path) -> None:
    faults = faults_of(GOOD_HEAD + "[nodes.main\nprompt = 1\n", tmp_path)
    assert len(faults) == 1
    assert f"{tmp_path / 'bad.toml'}:{GOOD_HEAD.count(chr(10)) + 1}: TOML syntax" in faults[0]


def test_closed_queue_needs_a_night_destination() -> None:
    text = GOOD_HEAD.replace("[queues.q]", '[queues.q]\nworkday_hours = ["08:00-17:00"]') + (
        '[nodes.main]\nprompt = "p"\nnext = { action = "queue", queue = "q" }\n'
    )
    with pytest.raises(MenuError, match="closed at times but has no 'night'"):
        parse_menu(text, "m.toml")


def write_menu(path: Path, text: str, stamp: int) -> None:
    path.write_text(text, encoding="utf-8")
    # Two writes in the same clock tick must still look different.
    os.utime(path, ns=(stamp, stamp))


async def test_menu_change_applies_to_the_next_call(ivr: Ivr) -> None:
    before = await call(ivr.port, ["5"])
    assert before.variables["HOTLINE_QUEUE"] == "hotline-general"
    text = ivr.menu_path.read_text(encoding="utf-8").replace(
        '5 = { action = "queue", queue = "hotline-general", choice = "5",'
        ' category = "suggestion" }',
        '5 = { action = "queue", queue = "hotline-complaint", choice = "5", priority = 2 }',
    )
    write_menu(ivr.menu_path, text, 2_000_000_000_000_000_000)
    after = await call(ivr.port, ["5"])
    assert after.variables["HOTLINE_QUEUE"] == "hotline-complaint"
    assert after.variables["HOTLINE_PRIORITY"] == "2"


async def test_broken_new_menu_keeps_the_last_good_one(
    ivr: Ivr, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    broken = ivr.menu_path.read_text(encoding="utf-8").replace(
        '2 = { action = "submenu", node = "help" }', '2 = { action = "submenu", node = "helq" }'
    )
    write_menu(ivr.menu_path, broken, 2_000_000_000_000_000_000)
    log = await call(ivr.port, ["2", "1"])
    assert log.variables["HOTLINE_PRIORITY"] == "5"  # the old help menu still works
    line = broken.splitlines().index('2 = { action = "submenu", node = "helq" }') + 1
    assert f"{ivr.menu_path}:{line}: unknown node 'helq'" in caplog.text
    source = ivr.app.menus
    help_line = broken.splitlines().index("[nodes.help]") + 1
    assert [(f.line, f.message) for f in source.last_faults] == [
        (line, "unknown node 'helq'"),
        (help_line, "unreachable node 'help' (no path from start 'welcome')"),
    ]


def test_broken_menu_at_start_up_fails_loudly(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text("[menu]\n", encoding="utf-8")
    with pytest.raises(MenuError, match=r"m\.toml"):
        MenuSource(path)


def test_a_reload_failing_the_owners_check_keeps_the_last_good_menu(
    menu_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from ivr.menu import missing_queues

    known = {"hotline-general", "hotline-complaint", "hotline-report"}
    source = MenuSource(
        menu_file, check=lambda menu: [f"unknown queue {q}" for q in missing_queues(menu, known)]
    )
    first = source.current()
    text = menu_file.read_text(encoding="utf-8")
    menu_file.write_text(
        text.replace(
            "[queues.hotline-report]", "[queues.hotline-extra]\n\n[queues.hotline-report]"
        ),
        encoding="utf-8",
    )
    os.utime(menu_file, ns=(1, 1))
    with caplog.at_level(logging.ERROR):
        assert source.current() is first
    assert [f.message for f in source.last_faults] == ["unknown queue hotline-extra"]
    with pytest.raises(MenuError, match="unknown queue hotline-extra"):
        MenuSource(
            menu_file,
            check=lambda menu: [f"unknown queue {q}" for q in missing_queues(menu, known)],
        )
