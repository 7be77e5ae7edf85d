"""A menu action kind is one registry entry: registered here, in the test, and nowhere else, it
is loaded from TOML, validated, followed by the graph check and performed by the engine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr.actions import ActionKind, Field, Finish, MenuAction, Walk, register, unregister
from ivr.menu import MenuError, load_menu
from tests.ivr.agi_emulator import call
from tests.ivr.conftest import Ivr


@dataclass(frozen=True, slots=True)
class DetourAction(MenuAction):
    """Say something, note why, and go to a node: a kind the hotline does not ship."""

    note: str
    node: str
    prompts: tuple[str, ...] = ()


async def _detour(walk: Walk, action: DetourAction, hops: int) -> str | Finish:
    await walk.play(action.prompts)
    walk.outcome.choice = f"detour-{action.note}"
    return action.node


DETOUR = ActionKind(
    "detour",
    DetourAction,
    (
        Field("note", "str", required=True),
        Field("node", "node", required=True),
        Field("prompt", "prompts", "prompts"),
    ),
    _detour,
)

HEAD = """\
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
detour-said = "这边请"
"""

# "side" is reachable only through the detour: the graph check must follow it.
MENU = (
    HEAD
    + """
[nodes.main]
prompt = "p"
options.1 = { action = "detour", note = "side", node = "side", prompt = "detour-said" }
options.2 = { action = "queue", queue = "q" }

[nodes.side]
prompt = "p"
options.1 = { action = "queue", queue = "q" }
"""
)


@pytest.fixture
def detour() -> Iterator[ActionKind[DetourAction]]:
    register(DETOUR)
    yield DETOUR
    unregister(DETOUR.name)


@pytest.fixture
def menu_file(tmp_path: Path, detour: ActionKind[DetourAction]) -> Path:
    path = tmp_path / "detour.toml"
    path.write_text(MENU, encoding="utf-8")
    return path


def faults_of(path: Path, text: str) -> list[str]:
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MenuError) as caught:
        load_menu(path)
    return [str(fault) for fault in caught.value.faults]


def test_a_registered_kind_loads_from_toml(menu_file: Path) -> None:
    menu = load_menu(menu_file)
    assert menu.nodes["main"].options["1"] == DetourAction("side", "side", ("detour-said",))


def test_a_registered_kind_is_validated_with_file_and_line(
    detour: ActionKind[DetourAction], tmp_path: Path
) -> None:
    path = tmp_path / "bad.toml"
    line = MENU.splitlines().index("[nodes.main]") + 3
    bad = MENU.replace('note = "side", node = "side"', 'node = "nowhere", colour = "red"')
    bad = bad.replace('prompt = "detour-said"', 'prompt = "detour-unsaid"')
    assert faults_of(path, bad) == [
        f"{path}:{line}: missing prompt 'detour-unsaid' (not in [prompts])",
        f"{path}:{line}: nodes.main.options.1: missing 'note'",
        f"{path}:{line}: unknown key 'colour' in nodes.main.options.1",
        # The detour is broken, so nothing leads to "side" any more.
        f"{path}:{line + 3}: unreachable node 'side' (no path from start 'main')",
    ]
    unknown_node = MENU.replace('node = "side"', 'node = "nowhere"')
    assert faults_of(path, unknown_node) == [
        f"{path}:{line}: unknown node 'nowhere'",
        f"{path}:{line + 3}: unreachable node 'side' (no path from start 'main')",
    ]


def test_the_graph_check_follows_a_registered_kind(
    detour: ActionKind[DetourAction], tmp_path: Path
) -> None:
    # Detours back to main, and nothing else: a loop with no way out. The agent key (0) is
    # taken by a detour and so are both fallbacks, so main offers no queue.
    again = '{ action = "detour", note = "again", node = "main" }'
    looping = HEAD + (
        f'\n[nodes.main]\nprompt = "p"\noptions.0 = {again}\n'
        f"on_invalid = {again}\non_timeout = {again}\n"
    )
    path = tmp_path / "loop.toml"
    line = looping.splitlines().index("[nodes.main]") + 1
    assert faults_of(path, looping) == [
        f"{path}:{line}: node 'main' is in a loop with no way out "
        "(no queue, callback or hang-up reachable)"
    ]


def test_an_unregistered_kind_is_an_unknown_action(tmp_path: Path) -> None:
    path = tmp_path / "unknown.toml"
    faults = faults_of(path, MENU)
    assert any("nodes.main.options.1: unknown action 'detour' (one of " in f for f in faults)


async def test_the_engine_performs_a_registered_kind(ivr: Ivr) -> None:
    log = await call(ivr.port, ["1", "1"])
    assert "STREAM FILE detour-said" in " ".join(log.commands)
    assert log.variables["HOTLINE_PATH"] == "main,side"
    assert log.variables["HOTLINE_CHOICE"] == "detour-side"
    assert log.variables["HOTLINE_QUEUE"] == "q"
