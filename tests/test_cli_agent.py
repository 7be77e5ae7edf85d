"""``hotline user agent``: tie a web user of role agent to a phone and its skills."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli import cli


def test_user_agent_ties_a_phone_and_skills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}")
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    added = runner.invoke(cli, ["user", "add", "li", "--role", "agent", "--name", "李", "--token"])
    assert added.exit_code == 0, added.output
    tied = runner.invoke(
        cli,
        ["user", "agent", "li", "--extension", "1001",
         "--skill", "hotline-general:0", "--skill", "hotline-report:2"],
    )  # fmt: skip
    assert tied.exit_code == 0, tied.output
    assert tied.output.strip() == (
        "li is agent 李 on PJSIP/1001 (pbx1); skills: hotline-general:0, hotline-report:2"
    )
    wrong_queue = runner.invoke(cli, ["user", "agent", "li", "--extension", "1001", "--skill", "x"])
    assert wrong_queue.exit_code == 2 and "'x' is not a queue" in wrong_queue.output
    nobody = runner.invoke(cli, ["user", "agent", "ghost", "--extension", "1002"])
    assert nobody.exit_code == 1 and "no such user 'ghost'" in nobody.output
    runner.invoke(cli, ["user", "add", "boss", "--role", "supervisor", "--token"])
    boss = runner.invoke(cli, ["user", "agent", "boss", "--extension", "1003"])
    assert boss.exit_code == 1 and "not agent" in boss.output
