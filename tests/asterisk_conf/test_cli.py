from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli import cli
from hotline.settings import Settings


def test_render_writes_every_file(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "conf"
    result = CliRunner().invoke(cli, ["asterisk-conf", "render", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "extensions.conf",
        "manager.conf",
        "musiconhold.conf",
        "pjsip.conf",
        "queuerules.conf",
        "queues.conf",
    ]
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
