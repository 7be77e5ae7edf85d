"""``hotline deadline``: an operator checks a deadline rule from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli import cli


@pytest.fixture(autouse=True)
def no_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no hotline.toml here
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["deadline", *args])
    return result.exit_code, result.stdout, result.stderr


def test_three_working_days_from_the_eve_of_national_day() -> None:
    code, out, _ = run("--start", "2026-09-30 16:00", "--working-days", "3")
    assert code == 0
    assert "due    2026-10-10 17:00 Sat (Asia/Shanghai) = 2026-10-10 09:00 UTC" in out
    assert "2026-10-01 Thu  holiday: National Day" in out
    assert "2026-10-10 Sat  make-up working day" in out


@pytest.mark.parametrize(
    ("args", "due"),
    [
        (["--working-hours", "24"], "2026-10-10T16:00:00+08:00"),
        (["--hours", "48"], "2026-10-02T16:00:00+08:00"),
        (["--category", "consultation"], "2026-10-10T17:00:00+08:00"),
        (["--category", "help", "--urgent", "--preset", "city_a"], "2026-09-30T16:15:00+08:00"),
    ],
)
def test_every_kind_of_limit(args: list[str], due: str) -> None:
    code, out, _ = run("--start", "2026-09-30 16:00", *args, "--json")
    assert code == 0, out
    assert json.loads(out)["due"] == due


@pytest.mark.parametrize(
    ("args", "due"),
    [
        # A Friday-evening urgent case: county 1 wd is Monday's close; city A 15 minutes.
        (["--start", "2026-11-27 19:30", "--category", "complaint", "--urgent"],
         "2026-11-30T17:00:00+08:00"),
        (["--start", "2026-11-27 19:30", "--category", "complaint", "--urgent",
          "--preset", "city_a"], "2026-11-27T19:45:00+08:00"),
        # City B: reports get 10 working days (county: 5).
        (["--start", "2026-11-23 10:00", "--category", "report", "--preset", "city_b"],
         "2026-12-07T17:00:00+08:00"),
        (["--start", "2026-11-23 10:00", "--category", "report", "--preset", "county"],
         "2026-11-30T17:00:00+08:00"),
    ],
)  # fmt: skip
def test_presets_and_urgent_cases(args: list[str], due: str) -> None:
    code, out, _ = run(*args, "--json")
    assert code == 0, out
    assert json.loads(out)["due"] == due


def test_spring_festival_names_the_holiday_and_the_make_up_days() -> None:
    code, out, _ = run("--start", "2026-02-13 18:00", "--working-days", "2")
    assert code == 0
    assert "due    2026-02-24 17:00 Tue" in out
    assert "2026-02-14 Sat  make-up working day" in out
    assert "2026-02-17 Tue  holiday: Spring Festival" in out


def test_the_settings_per_category_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_CASES__DEADLINES", '{"consultation": "1wd"}')
    code, out, _ = run("--start", "2026-09-30 16:00", "--category", "consultation", "--json")
    assert (code, json.loads(out)["due"]) == (0, "2026-10-08T17:00:00+08:00")


def test_a_year_without_data_warns_and_still_answers() -> None:
    code, out, err = run("--start", "2099-01-02 10:00", "--working-days", "1", "--json")
    assert code == 0
    assert json.loads(out)["due"] == "2099-01-05T17:00:00+08:00"
    assert "warning: no holiday data for 2099" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "soon", "--hours", "1"], "write a local time"),
        (["--start", "2026-09-30 16:00"], "give one of"),
        (["--start", "2026-09-30 16:00", "--hours", "1", "--working-days", "1"], "give one of"),
        (["--start", "2026-09-30 16:00", "--hours", "1", "--preset", "city_a"], "of a --category"),
        (["--start", "2026-09-30 16:00", "--working-days", "1", "--urgent"], "of a --category"),
    ],
)
def test_bad_input_is_a_clear_error(args: list[str], message: str) -> None:
    code, _out, err = run(*args)
    assert code == 2
    assert message in err
