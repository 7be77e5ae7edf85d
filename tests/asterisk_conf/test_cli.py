from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from asterisk_conf.render import FILES
from hotline.cli import cli
from hotline.settings import Settings
from tests.asterisk_conf.conf import section


def test_render_writes_every_file(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "conf"
    result = CliRunner().invoke(cli, ["asterisk-conf", "render", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (
        sorted(p.name for p in out.iterdir())
        == sorted(FILES)
        == [
            "asterisk.conf",
            "cdr.conf",
            "extensions.conf",
            "logger.conf",
            "manager.conf",
            "musiconhold.conf",
            "pjsip.conf",
            "queuerules.conf",
            "queues.conf",
            "rtp.conf",
        ]
    )
    assert str(out / "pjsip.conf") in result.output


def test_render_without_secret_fails_naming_it(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOTLINE_AMI__SECRET")
    out = tmp_path / "conf"
    result = CliRunner().invoke(cli, ["asterisk-conf", "render", "--out", str(out)])
    assert result.exit_code == 1
    assert "setting ami.secret: empty" in result.output
    assert not out.exists()


def test_render_refuses_a_menu_queue_missing_from_pbx_queues(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # queues.conf without hotline-complaint: the menu's key 3 (and its night destination
    # chain) would end in Queue() → QUEUESTATUS=UNKNOWN.
    monkeypatch.setenv(
        "HOTLINE_PBX__QUEUES", json.dumps([{"name": "hotline-general"}, {"name": "hotline-report"}])
    )
    out = tmp_path / "conf"
    result = CliRunner().invoke(cli, ["asterisk-conf", "render", "--out", str(out)])
    assert result.exit_code == 1, result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert "hotline-complaint not in pbx.queues" in line
    assert not out.exists()


def test_render_refuses_a_broken_menu(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    menu = tmp_path / "broken.toml"
    menu.write_text('[menu]\nstart = "nowhere"\n', encoding="utf-8")
    monkeypatch.setenv("HOTLINE_IVR__MENU_FILE", str(menu))
    out = tmp_path / "conf"
    result = CliRunner().invoke(cli, ["asterisk-conf", "render", "--out", str(out)])
    assert result.exit_code == 1
    assert "broken.toml:" in result.output
    assert not out.exists()


def test_render_refuses_remote_ami_unless_allowed(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_AMI__HOST", "192.0.2.7")
    out = tmp_path / "conf"
    refused = CliRunner().invoke(cli, ["asterisk-conf", "render", "--out", str(out)])
    assert refused.exit_code == 1
    assert "ami.host: 192.0.2.7 is not a loopback address" in refused.output
    allowed = CliRunner().invoke(
        cli, ["asterisk-conf", "render", "--out", str(out), "--allow-remote-ami", "192.0.2.50"]
    )
    assert allowed.exit_code == 0, allowed.output
    manager = section((out / "manager.conf").read_text(encoding="utf-8"), "hotline")
    assert manager["permit"] == ["192.0.2.50/255.255.255.255"]
    assert section((out / "manager.conf").read_text(encoding="utf-8"), "general")["bindaddr"] == [
        "192.0.2.7"
    ]
