from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotline.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)


def test_defaults_are_the_capture_queues() -> None:
    pbx = load_settings().pbx
    assert [q.name for q in pbx.queues] == [
        "hotline-general",
        "hotline-complaint",
        "hotline-report",
    ]
    assert all(q.servicelevel == 15 for q in pbx.queues)
    report = pbx.queues[2]
    assert (report.joinempty, report.leavewhenempty) == ("no", "yes")
    assert pbx.agents == [] and pbx.general_queue == "hotline-general"


def test_agents_and_queues_from_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "h.toml"
    config.write_text(
        '[pbx]\ngeneral_queue = "q1"\n'
        '[[pbx.queues]]\nname = "q1"\nstrategy = "fewestcalls"\nmembers = ["2001"]\n'
        '[[pbx.agents]]\nextension = "2001"\nname = "A"\nsecret = "s"\n'
    )
    monkeypatch.setenv("HOTLINE_CONFIG", str(config))
    pbx = load_settings().pbx
    assert pbx.queues[0].strategy == "fewestcalls"
    assert pbx.agents[0].secret.get_secret_value() == "s"


@pytest.mark.parametrize(
    ("env", "value", "message"),
    [
        ("HOTLINE_PBX__GENERAL_QUEUE", "nope", "general_queue 'nope' is not one of the queues"),
        (
            "HOTLINE_PBX__QUEUES",
            json.dumps([{"name": "hotline-general", "members": ["9"]}]),
            "member '9' is not an agent",
        ),
        (
            "HOTLINE_PBX__QUEUES",
            json.dumps([{"name": "hotline-general"}, {"name": "hotline-general"}]),
            "queue 'hotline-general' is defined twice",
        ),
        (
            "HOTLINE_PBX__QUEUES",
            json.dumps([{"name": "hotline-general", "joinempty": "paused,sleepy"}]),
            "unknown member state(s) ['sleepy']",
        ),
        (
            "HOTLINE_PBX__QUEUES",
            json.dumps([{"name": "hotline-general", "strategy": "fastest"}]),
            "setting pbx.queues.0.strategy",
        ),
    ],
)
def test_inconsistent_pbx_settings_are_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, message: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert message in str(info.value)
    assert str(info.value).startswith("setting pbx")
    assert "\n" not in str(info.value)
