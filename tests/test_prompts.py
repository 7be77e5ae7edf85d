"""Prompt building with the real espeak-ng and sox."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli import cli
from hotline.commands.prompts import default_menu
from hotline.prompts import (
    PromptError,
    PromptText,
    build_prompts,
    prompts_from_menu,
    target_path,
)

MENU = """
[menu]
language = "zh"
start = "main"

[prompts]
"hotline/welcome" = { zh = "您好，欢迎致电12345热线。", yue = "你好，欢迎致电12345热线。" }
"hotline/goodbye" = "再见。"
"""


def write_menu(tmp_path: Path, text: str = MENU) -> Path:
    path = tmp_path / "menu.toml"
    path.write_text(text, encoding="utf-8")
    return path


def assert_asterisk_wav(path: Path) -> None:
    assert path.read_bytes()[:4] == b"RIFF"
    with wave.open(str(path)) as wav:
        assert wav.getframerate() == 8000
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        assert wav.getnframes() > 8000 // 2  # at least half a second of speech


def test_prompts_from_menu_reads_every_language(tmp_path: Path) -> None:
    prompts, default = prompts_from_menu(write_menu(tmp_path))
    assert default == "zh"
    assert sorted((p.prompt_id, p.lang) for p in prompts) == [
        ("hotline/goodbye", "zh"),
        ("hotline/welcome", "yue"),
        ("hotline/welcome", "zh"),
    ]


def test_the_shipped_menu_has_prompts_for_its_default_language() -> None:
    prompts, default = prompts_from_menu(default_menu())
    assert any(p.lang == default for p in prompts)
    assert all(p.text for p in prompts)


def test_text_and_lang_table_is_accepted(tmp_path: Path) -> None:
    menu = write_menu(tmp_path, '[prompts]\n"a/b" = { text = "你好", lang = "yue" }\n')
    prompts, default = prompts_from_menu(menu)
    assert default == "zh"  # no [menu].language: Mandarin
    assert prompts == [PromptText("a/b", "yue", "你好")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[menu]\nstart = 1\n", "no [prompts] table"),
        ('[prompts]\n"../etc/passwd" = "x"\n', "is not a sound path"),
        ('[prompts]\n"a/b" = { zh = "  " }\n', "prompts.a/b.zh: empty"),
        ('[prompts]\n"a/b" = 3\n', "must be a text or a table"),
        ('[prompts]\n"a/b" = { "zh;rm" = "x" }\n', "is not a language code"),
        ("[prompts\n", "menu "),
    ],
)
def test_bad_menus_are_one_clear_error(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(PromptError, match=message.replace("[", r"\[").replace(".", r"\.")):
        prompts_from_menu(write_menu(tmp_path, body))


def test_missing_menu_file(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="No such file"):
        prompts_from_menu(tmp_path / "nope.toml")


def test_build_makes_asterisk_ready_wavs_then_skips(tmp_path: Path) -> None:
    prompts, default = prompts_from_menu(write_menu(tmp_path))
    out = tmp_path / "sounds"
    first = build_prompts(prompts, out, default)
    assert sorted(first.synthesised) == sorted(
        [out / "hotline/welcome.wav", out / "yue/hotline/welcome.wav", out / "hotline/goodbye.wav"]
    )
    for path in first.synthesised:
        assert_asterisk_wav(path)
    stamps = {path: path.stat().st_mtime_ns for path in first.synthesised}

    second = build_prompts(prompts, out, default)
    assert second.synthesised == [] and second.failed == {}
    assert sorted(second.up_to_date) == sorted(first.synthesised)
    assert {path: path.stat().st_mtime_ns for path in first.synthesised} == stamps

    # A changed text is rebuilt; the others stay.
    changed = [
        PromptText(p.prompt_id, p.lang, "新的文字。") if p.prompt_id == "hotline/goodbye" else p
        for p in prompts
    ]
    third = build_prompts(changed, out, default)
    assert third.synthesised == [out / "hotline/goodbye.wav"]
    assert len(third.up_to_date) == 2


def test_a_recorded_file_always_wins(tmp_path: Path) -> None:
    prompts, default = prompts_from_menu(write_menu(tmp_path))
    out = tmp_path / "sounds"
    recorded = out / "hotline/welcome.wav"
    recorded.parent.mkdir(parents=True)
    recorded.write_bytes(b"a person's recording")
    report = build_prompts(prompts, out, default)
    assert recorded in report.recorded
    assert recorded.read_bytes() == b"a person's recording"
    assert out / "hotline/goodbye.wav" in report.synthesised

    # A recording in another format arrives later: the synthesised WAV steps aside.
    synthesised = out / "hotline/goodbye.wav"
    (out / "hotline/goodbye.g722").write_bytes(b"recorded later")
    again = build_prompts(prompts, out, default)
    assert synthesised in again.recorded
    assert not synthesised.exists()
    assert (out / "hotline/goodbye.g722").read_bytes() == b"recorded later"


def test_one_failing_prompt_does_not_stop_the_others(tmp_path: Path) -> None:
    prompts = [
        PromptText("hotline/ok", "zh", "好的。"),
        PromptText("hotline/bad", "xx-nope", "whatever"),
    ]
    out = tmp_path / "sounds"
    report = build_prompts(prompts, out, "zh")
    assert report.synthesised == [out / "hotline/ok.wav"]
    bad = target_path(out, prompts[1], "zh")
    assert list(report.failed) == [bad]
    assert "espeak-ng failed" in report.failed[bad]
    assert not bad.exists()
    assert [p.name for p in bad.parent.iterdir()] == []  # no temporary left behind


# The smallest menu load_menu accepts, with the sounds the dialplan and the service play.
VALID_MENU = """
[menu]
start = "main"
language = "zh"
agent = { action = "queue", queue = "hotline-general" }

[incidents]
confirm_prompt = "hotline/welcome"
registered_prompt = "hotline/welcome"

[survey]
prompt = "hotline/welcome"
thanks_prompt = "hotline/welcome"

[queues.hotline-general]

[nodes.main]
prompt = "hotline/welcome"

[nodes.main.options]
1 = { action = "queue", queue = "hotline-general" }

[prompts]
"hotline/welcome" = { zh = "您好，欢迎致电12345热线。", yue = "你好，欢迎致电12345热线。" }
"hotline/callback-intro" = "请留言。"
"hotline/callback-goodbye" = "再见。"
"hotline/all-busy" = "坐席繁忙。"
"hotline/recording-notice" = "您的通话将被录音。"
"hotline/incident-generic" = "重大故障。"
"""


@pytest.fixture
def only_welcome_greeting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    monkeypatch.setenv("HOTLINE_PBX__FALLBACK_PROMPTS", '["hotline/welcome"]')


def test_cli_builds_with_progress_and_skips_the_second_time(
    tmp_path: Path, only_welcome_greeting: None
) -> None:
    menu = write_menu(tmp_path, VALID_MENU)
    out = tmp_path / "sounds"
    args = ["prompts", "build", "--menu", str(menu), "--out", str(out)]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "7 synthesised, 0 up to date, 0 recorded, 0 failed" in first.output
    assert_asterisk_wav(out / "hotline" / "all-busy.wav")
    second = CliRunner().invoke(cli, args)
    assert "0 synthesised, 7 up to date" in second.output
    broken = CliRunner().invoke(cli, ["prompts", "build", "--menu", str(tmp_path / "x.toml")])
    assert broken.exit_code == 1 and "No such file" in broken.output


def test_cli_refuses_an_invalid_menu_before_building(
    tmp_path: Path, only_welcome_greeting: None
) -> None:
    # Valid TOML with [prompts], but a node's option names a node that does not exist.
    menu = write_menu(
        tmp_path,
        VALID_MENU.replace(
            '1 = { action = "queue", queue = "hotline-general" }',
            '1 = { action = "submenu", node = "nowhere" }',
        ),
    )
    out = tmp_path / "sounds"
    result = CliRunner().invoke(cli, ["prompts", "build", "--menu", str(menu), "--out", str(out)])
    assert result.exit_code == 1
    assert "unknown node 'nowhere'" in result.output
    assert not out.exists()


def test_cli_refuses_a_needed_sound_without_text(
    tmp_path: Path, only_welcome_greeting: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_PBX__FALLBACK_PROMPTS", '["hotline/welcome", "hotline/x"]')
    menu = write_menu(tmp_path, VALID_MENU.replace('"hotline/all-busy" = "坐席繁忙。"\n', ""))
    out = tmp_path / "sounds"
    args = ["prompts", "build", "--menu", str(menu), "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "hotline/all-busy, hotline/x" in result.output
    # A recording counts: only the sound nobody recorded is still missing.
    (out / "hotline").mkdir(parents=True)
    (out / "hotline" / "x.ulaw").write_bytes(b"\xff" * 800)
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1
    assert "for: hotline/all-busy" in again.output and "hotline/x" not in again.output


def test_the_shipped_menu_speaks_every_sound_the_service_plays() -> None:
    from asterisk_conf import sounds
    from hotline.commands.prompts import needed_sounds
    from hotline.settings import Settings
    from ivr.menu import load_menu
    from ticketing.models import TICKET_STATUSES

    menu = load_menu(default_menu())
    texts, default = prompts_from_menu(default_menu())
    status_prompts = [f"hotline/ticket-status-{s.replace('_', '-')}" for s in TICKET_STATUSES]
    needed = [*needed_sounds(menu, Settings()), *sounds.SERVICE, *status_prompts]
    # and what app_queue says once a queue announces position (hotline/queue-*, digits/N)
    needed += sounds.QUEUE_SOUNDS
    by_lang = {(t.prompt_id, t.lang) for t in texts}
    assert [n for n in needed if (n, default) not in by_lang] == []
    assert [n for n in needed if (n, "yue") not in by_lang] == []


def test_queue_announcement_sounds_are_needed_once_a_queue_announces(tmp_path: Path) -> None:
    from asterisk_conf import sounds
    from hotline.commands.prompts import needed_sounds
    from hotline.settings import QueueSettings, Settings
    from ivr.menu import load_menu

    menu = load_menu(write_menu(tmp_path, VALID_MENU))  # a menu without them
    quiet = Settings()
    assert not set(sounds.QUEUE_SOUNDS) & set(needed_sounds(menu, quiet))
    queues = [QueueSettings(name="hotline-general", announce_position="yes")]
    # position on, but no announce_frequency: app_queue never says it
    assert not set(sounds.QUEUE_SOUNDS) & set(
        needed_sounds(
            menu, quiet.model_copy(update={"pbx": quiet.pbx.model_copy(update={"queues": queues})})
        )
    )
    queues[0] = queues[0].model_copy(update={"announce_frequency": 30})
    announcing = quiet.model_copy(update={"pbx": quiet.pbx.model_copy(update={"queues": queues})})
    assert set(sounds.QUEUE_SOUNDS) <= set(needed_sounds(menu, announcing))
