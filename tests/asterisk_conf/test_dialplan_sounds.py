"""Every sound the rendered dialplan plays is one the hotline builds (in its own language)."""

from __future__ import annotations

import re

from asterisk_conf import sounds
from hotline.asterisk_config import render_all
from hotline.settings import Settings
from ivr.menu import load_menu
from ivr.menu_source import DEFAULT_MENU

_PLAYS = re.compile(r"\b(Playback|Background|Read|ControlPlayback)\(([^)]*)\)")


def played_sounds(dialplan: str) -> list[str]:
    found: list[str] = []
    for app, args in _PLAYS.findall(dialplan):
        parts = args.split(",")
        files = parts[1] if app == "Read" else parts[0]
        found.extend(name for name in files.split("&") if name)
    return found


def test_played_sounds_are_menu_prompts_or_recordings(settings: Settings) -> None:
    dialplan = render_all(settings)["extensions.conf"]
    played = played_sounds(dialplan)
    assert set(sounds.DIALPLAN.values()) <= set(played)
    prompts = load_menu(DEFAULT_MENU).prompts
    recordings = str(settings.asterisk.recordings_dir).rstrip("/") + "/"
    strays = [s for s in played if s not in prompts and not s.startswith(recordings)]
    assert strays == []
    # Spoken in the hotline's languages, not Asterisk's stock English.
    for name in sounds.DIALPLAN.values():
        assert set(prompts[name]) >= {"zh", "yue"}


def test_the_checker_sees_stock_sounds() -> None:
    text = (
        "same => n,Playback(vm-intro)\nsame => n,Read(X,all-circuits-busy-now&beep,1)\n"
        "same => n,Background(hotline/welcome)"
    )
    assert played_sounds(text) == ["vm-intro", "all-circuits-busy-now", "beep", "hotline/welcome"]


def test_fallback_greetings_are_menu_prompts(settings: Settings) -> None:
    prompts = load_menu(DEFAULT_MENU).prompts
    assert [s for s in settings.pbx.fallback_prompts if s not in prompts] == []
    assert sounds.INCIDENT_GENERIC in prompts
