"""The rendered dialplan: a real checker (asterisklint), the channel-variable contract, the
call path the hotline depends on."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from asterisk_conf.channel_vars import CDR_USERFIELD, NAMES, RECORDING_NAME, cdr_userfield
from asterisk_conf.dialplan_contract import contract_problems, hotline_variables
from hotline.asterisk_config import render_all
from hotline.settings import Settings

ASTERISKLINT = Path(sys.executable).with_name("asterisklint")


def lint(tmp_path: Path, dialplan: str) -> subprocess.CompletedProcess[str]:
    conf = tmp_path / "lint" / "extensions.conf"
    conf.parent.mkdir(exist_ok=True)
    conf.write_text(dialplan, encoding="utf-8")
    return subprocess.run(
        [str(ASTERISKLINT), "dialplan-check", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def inbound(dialplan: str, settings: Settings) -> list[str]:
    """The application lines of the hotline number in the inbound context, in order."""
    lines: list[str] = []
    context = None
    for raw in dialplan.splitlines():
        line = raw.strip()
        if line.startswith("["):
            context = line.strip("[]")
        elif context == settings.pbx.inbound_context and line.startswith("exten =>"):
            if line.startswith(f"exten => {settings.pbx.hotline_number},"):
                lines.append(line)
        elif context == settings.pbx.inbound_context and line.startswith("same =>") and lines:
            lines.append(line)
    return lines


def index(lines: list[str], pattern: str) -> int:
    hits = [i for i, line in enumerate(lines) if re.search(pattern, line)]
    assert len(hits) == 1, f"{pattern!r} matched {len(hits)} lines"
    return hits[0]


def test_asterisklint_accepts_the_rendered_dialplan(settings: Settings, tmp_path: Path) -> None:
    result = lint(tmp_path, render_all(settings)["extensions.conf"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""


def test_asterisklint_rejects_a_goto_to_a_missing_label(settings: Settings, tmp_path: Path) -> None:
    broken = render_all(settings)["extensions.conf"].replace("?callback)", "?calback)", 1)
    result = lint(tmp_path, broken)
    assert result.returncode == 1
    assert "calback" in result.stdout + result.stderr


def test_dialplan_uses_exactly_the_contract(settings: Settings) -> None:
    dialplan = render_all(settings)["extensions.conf"]
    # the routing contract, and the IVR's report copied into the CDR userfield
    assert hotline_variables(dialplan) == NAMES | {var.name for var in CDR_USERFIELD}
    assert contract_problems(dialplan) == []


def test_dialplan_leaves_what_a_restart_rebuilds_calls_from(settings: Settings) -> None:
    """The CDR userfield and the recording name the service reads back after an outage."""
    lines = inbound(render_all(settings)["extensions.conf"], settings)
    userfield = index(lines, r"Set\(CDR\(userfield\)=")
    assert lines[userfield].endswith(f"Set(CDR(userfield)={cdr_userfield()})")
    assert userfield < index(lines, r"Queue\(\$\{HOTLINE_QUEUE\}")
    recording = RECORDING_NAME.format(uniqueid="${UNIQUEID}")
    assert f"MixMonitor({recording}," in lines[index(lines, r"MixMonitor\(")]


def test_contract_check_names_unknown_and_missing_variables(settings: Settings) -> None:
    dialplan = render_all(settings)["extensions.conf"]
    # (without the CDR userfield, which names every variable it copies)
    dialplan = "\n".join(line for line in dialplan.splitlines() if "CDR(userfield)" not in line)
    drifted = dialplan.replace("${HOTLINE_PRIORITY}", "${HOTLINE_PRIO}")
    drifted = drifted.replace("Set(HOTLINE_PRIORITY=0)", "Set(QUEUE_PRIO=0)")
    assert contract_problems(drifted) == [
        "HOTLINE_PRIO is not in asterisk_conf/channel_vars.py",
        "HOTLINE_PRIORITY is never used by the dialplan",
    ]
    # A comment may name anything; an escaped semicolon is code, not a comment.
    assert hotline_variables("; HOTLINE_OLD was renamed\n same => n,NoOp(a\\;${HOTLINE_X})") == {
        "HOTLINE_X"
    }


def test_call_path_ivr_then_degraded_then_record_then_queue(settings: Settings) -> None:
    lines = inbound(render_all(settings)["extensions.conf"], settings)
    ivr = index(lines, r",AGI\(agi://127\.0\.0\.1:4573/ivr\)$")
    to_degraded = index(
        lines,
        r'GotoIf\(\$\["\$\{AGISTATUS\}" = "FAILURE" \| "\$\{HOTLINE_QUEUE\}" = ""\]\?degraded\)',
    )
    degraded = index(lines, r"n\(degraded\),AGI\(hotline_fallback\.py,")
    back = degraded + 1
    route = index(lines, r"n\(route\),")
    record = index(lines, r",MixMonitor\(hotline-\$\{UNIQUEID\}\.wav,b\)")
    prio = index(lines, r"Set\(QUEUE_PRIO=\$\{HOTLINE_PRIORITY\}\)")
    queue = index(lines, r",Queue\(\$\{HOTLINE_QUEUE\},tc,,,\$\{QUEUE_MAX_WAIT\}\)")
    assert ivr < to_degraded < route < record < prio < queue
    assert lines[back].endswith("Goto(route)")
    assert "--announcements=/var/lib/hotline/announcements.json" in lines[degraded]
    assert "--queue=hotline-general,--greeting=hotline/welcome,--greeting=" in lines[degraded]
    assert ",," not in lines[degraded]


def test_after_the_queue_survey_callback_and_counted_rejection(settings: Settings) -> None:
    lines = inbound(render_all(settings)["extensions.conf"], settings)
    queue = index(lines, r",Queue\(")
    survey = index(lines, r"n\(survey\),AGI\(agi://127\.0\.0\.1:4573/survey\)")
    callback = index(lines, r"n\(callback\),")
    callbackreq = index(lines, r"QueueLog\(\$\{HOTLINE_QUEUE\},\$\{UNIQUEID\},NONE,CALLBACKREQ,")
    enter = index(
        lines, r"n\(rejected\),QueueLog\(\$\{HOTLINE_QUEUE\},\$\{UNIQUEID\},NONE,ENTERQUEUE,\|"
    )
    exit_empty = index(lines, r"QueueLog\(\$\{HOTLINE_QUEUE\},\$\{UNIQUEID\},NONE,EXITEMPTY,")
    assert queue < survey and callback < callbackreq and enter + 1 == exit_empty
    after = "\n".join(lines[queue:survey])
    assert '"${QUEUESTATUS}" = "TIMEOUT"]?callback' in after
    assert '"${QUEUESTATUS}" = "JOINEMPTY"' in after and "?rejected" in after
    assert '"${MEMBERINTERFACE}" != ""]?survey' in after


def test_fastagi_address_and_no_recording_follow_the_settings(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = settings.model_copy(
        update={
            "pbx": settings.pbx.model_copy(
                update={"fastagi_host": "hotline", "fastagi_port": 4600, "record_calls": False}
            )
        }
    )
    dialplan = render_all(changed)["extensions.conf"]
    assert "AGI(agi://hotline:4600/ivr)" in dialplan
    assert "AGI(agi://hotline:4600/survey)" in dialplan
    assert "RECORD_CALLS=0" in dialplan


def test_one_transfer_target_per_queue(settings: Settings) -> None:
    dialplan = render_all(settings)["extensions.conf"]
    transfer = dialplan.split("[hotline-transfer]")[1].split("\n[")[0]
    for queue in settings.pbx.queues:
        short = queue.name.removeprefix("hotline-")
        assert f"exten => {short},1," in transfer
        assert f"Set(HOTLINE_QUEUE={queue.name})" in transfer
