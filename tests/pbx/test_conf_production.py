"""The production configuration on a real Asterisk 22: ``hotline asterisk-conf render --mode
fragments`` #included into an administrator's existing files exactly as the rendered
INCLUDES.txt says, with PJSIP loaded (inside a private network namespace: see
../shared/asterisk/README.md) and SIPp standing in for the carrier (registrar and PSTN).

What is checked on the running PBX: nothing in the configuration makes Asterisk warn; PJSIP
shows the transport, NAT options, codecs, trunk (identify, registration, outbound auth) and
softphones (qualify, one contact) as rendered; the registration succeeds with the trunk's
secret; the queue's options (autopause) act; a call hears the recording notice first; a
call-back leaves through the trunk (A-law first, the hotline's number) and an international
number does not.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pbx.asterisk import SHARED, Asterisk, instance_root, wait_until
from tests.pbx.conftest import HOTLINE, MOH_DIR
from tests.pbx.test_calls import CDR_COLUMNS

pytestmark = pytest.mark.pbx

TRUNK_HOST = "127.0.0.2"
TRUNK_PORT = 5070
TRUNK_USER = "0571123450"
TRUNK_SECRET = "trunk-s3cret"
EXTERNAL = "192.0.2.80"
AGENTS = [
    {"extension": "1001", "name": "Agent One", "secret": "sip-one"},
    {"extension": "1002", "name": "王芳", "secret": "sip-two"},
]
RINGER = "Local/ringer@pbxconf-robot/n"

# The carrier: a registrar that challenges the REGISTER, checks the digest against the trunk's
# secret, 200 if it matches, 403 otherwise; and a PSTN that answers the hotline's call-backs,
# refusing (no 200: the call fails) an INVITE that does not offer A-law first or does not show
# the hotline's number. (-aa answers the trunk's qualify OPTIONS.)
CARRIER = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="carrier">
  <recv request="INVITE" optional="true" next="invite">
    <action>
      <ereg regexp="m=audio [0-9]+ RTP/AVP 8 0" search_in="body" check_it="true"
            assign_to="alaw_first" />
      <ereg regexp="sip:12345@" search_in="hdr" header="From:" check_it="true"
            assign_to="from_hotline" />
    </action>
  </recv>
  <recv request="REGISTER" />
  <send><![CDATA[
SIP/2.0 401 Unauthorized
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
WWW-Authenticate: Digest realm="carrier.test", nonce="47ebe028cda1", algorithm=MD5
Content-Length: 0

]]></send>
  <recv request="REGISTER">
    <action>
      <verifyauth assign_to="authvalid" username="{TRUNK_USER}" password="{TRUNK_SECRET}" />
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="good" />
  <send next="end"><![CDATA[
SIP/2.0 403 Forbidden
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <label id="good" />
  <send next="end"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Contact:];expires=3600
Content-Length: 0

]]></send>
  <label id="invite" />
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag02[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=carrier 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8
a=rtpmap:8 PCMA/8000

]]></send>
  <recv request="ACK" />
  <recv request="BYE" />
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <label id="end" />
  <Reference variables="alaw_first,from_hotline" />
</scenario>
"""

# Test-only: an agent robot whose phone rings and is never answered.
ROBOTS = """
[pbxconf-robot]
exten => ringer,1,Ringing()
 same => n,Wait(60)
 same => n,Hangup()
"""

# Modules the hotline does not use and this instance has no configuration for: loaded, each
# would log that its file is missing, hiding the lines this test looks for.
UNUSED_MODULES = (
    "app_adsiprog app_alarmreceiver app_festival app_getcpeid app_minivm cdr_pgsql cel_pgsql "
    "chan_iax2 chan_unistim pbx_dundi res_aeap res_calendar res_config_pgsql res_hep "
    "res_hep_pjsip res_hep_rtcp res_phoneprov res_pjsip_phoneprov_provider "
    "res_pjsip_publish_asterisk res_prometheus res_statsd res_speech_aeap"
).split()

# The administrator's configuration before the hotline: each file has its own [general],
# [globals], classes and contexts, which the fragments must extend, never replace.
EXISTING: dict[str, str] = {
    "extensions.conf": "[general]\nstatic=yes\nwriteprotect=no\n\n[globals]\nSITE=hq\n\n"
    "[from-internal]\nexten => 600,1,Playback(demo-congrats)\n",
    "queues.conf": "[general]\nmonitor-type = MixMonitor\n\n[sales]\nstrategy = ringall\n",
    "queuerules.conf": "",
    "pjsip.conf": "[global]\ntype = global\nuser_agent = Admin PBX\n",
    "manager.conf": "[general]\n",
    "musiconhold.conf": "[general]\n\n[default]\nmode = files\ndirectory = {moh}\n",
    "cdr.conf": "[general]\nenable = yes\n",
    "logger.conf": "[general]\n\n[logfiles]\nmessages.log => notice,warning,error,verbose\n",
    "rtp.conf": "[general]\nrtpchecksums = no\n",
}


def settings_env(root: Path, data: Path, sip_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    queues = [
        {
            "name": "hotline-general",
            "timeout": 2,
            "retry": 1,
            "autopause": "yes",
            "announce_position": "yes",
            "announce_holdtime": "yes",
            "announce_frequency": 30,
        },
        {"name": "hotline-complaint", "members": ["1002"]},
        {"name": "hotline-report", "joinempty": "no", "leavewhenempty": "yes"},
    ]
    env.update(
        {
            "HOTLINE_AMI__SECRET": "pbx-test-secret",
            "HOTLINE_ASTERISK__CDR_CSV": str(root / "log" / "cdr-csv" / "Master.csv"),
            "HOTLINE_ASTERISK__QUEUE_LOG": str(root / "log" / "queue_log"),
            "HOTLINE_ASTERISK__RECORDINGS_DIR": str(root / "spool" / "monitor"),
            "HOTLINE_PBX__ANNOUNCEMENTS_FILE": str(data / "announcements.json"),
            "HOTLINE_PBX__MOH_DIRECTORY": str(MOH_DIR),
            "HOTLINE_PBX__SIP_BIND": f"127.0.0.1:{sip_port}",
            "HOTLINE_PBX__SIP_TCP": "true",
            "HOTLINE_PBX__SIP_LOCAL_NETS": json.dumps(["127.0.0.0/8"]),
            "HOTLINE_PBX__SIP_EXTERNAL_MEDIA_ADDRESS": EXTERNAL,
            "HOTLINE_PBX__SIP_EXTERNAL_SIGNALING_ADDRESS": EXTERNAL,
            "HOTLINE_PBX__TRUNK_ADDRESSES": json.dumps([TRUNK_HOST]),
            "HOTLINE_PBX__TRUNK_HOST": f"{TRUNK_HOST}:{TRUNK_PORT}",
            "HOTLINE_PBX__TRUNK_USERNAME": TRUNK_USER,
            "HOTLINE_PBX__TRUNK_SECRET": TRUNK_SECRET,
            "HOTLINE_PBX__AGENTS": json.dumps(AGENTS),
            "HOTLINE_PBX__QUEUES": json.dumps(queues),
        }
    )
    return env


def includes(notes: str) -> dict[str, list[tuple[str, str | None]]]:
    """INCLUDES.txt: target file -> (#include line, section or None for the top level)."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    target = None
    for line in notes.splitlines():
        header = re.fullmatch(r"  (\S+\.conf):", line)
        if header:
            target = header.group(1)
            continue
        entry = re.fullmatch(r'    (#include "[^"]+")\s+; (?:\[(\w+)\]|\(top level\))', line)
        if entry:
            assert target is not None
            found.setdefault(target, []).append((entry.group(1), entry.group(2)))
    return found


def apply_includes(text: str, lines: list[tuple[str, str | None]]) -> str:
    """Edit an existing file as INCLUDES.txt tells an administrator to."""
    for include, section in lines:
        if section is None:
            text = text.rstrip("\n") + f"\n\n{include}\n"
        elif re.search(rf"^\[{section}\]$", text, re.M):
            text = re.sub(rf"^\[{section}\]$", f"[{section}]\n{include}", text, count=1, flags=re.M)
        else:
            text = f"[{section}]\n{include}\n\n" + text
    return text


def write_instance(prefix: Path, root: Path, rendered: Path, sounds: Path) -> None:
    etc = root / "etc"
    for sub in ("run", "db", "spool", "cache", "data"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    data = root / "data"
    build_data = prefix / "var" / "lib" / "asterisk"
    for entry in build_data.iterdir():
        if entry.name != "sounds":
            (data / entry.name).symlink_to(entry)
    (data / "sounds").symlink_to(sounds)
    # Every other file as in the SIP-mode captures; PJSIP loaded.
    base = SHARED / "conf-base"
    for conf in base.glob("*.conf"):
        if conf.name not in EXISTING:
            shutil.copy(conf, etc / conf.name)
    modules = (base / "modules.conf.sip").read_text()
    modules += "".join(f"noload => {name}.so\n" for name in UNUSED_MODULES)
    (etc / "modules.conf").write_text(modules)
    notes = includes((rendered / "INCLUDES.txt").read_text("utf-8"))
    existing = {
        **EXISTING,
        "asterisk.conf": "[directories]\n"
        f"astetcdir => {etc}\n"
        f"astmoddir => {prefix / 'lib' / 'asterisk' / 'modules'}\n"
        f"astvarlibdir => {data}\n"
        f"astdbdir => {root / 'db'}\n"
        f"astkeydir => {data}\n"
        f"astdatadir => {data}\n"
        f"astagidir => {data / 'agi-bin'}\n"
        f"astspooldir => {root / 'spool'}\n"
        f"astrundir => {root / 'run'}\n"
        f"astlogdir => {root / 'log'}\n"
        f"astsbindir => {prefix / 'sbin'}\n"
        f"astcachedir => {root / 'cache'}\n"
        "\n[options]\nverbose = 3\ndebug = 0\n",
    }
    assert set(notes) == set(existing), "INCLUDES.txt names every file the hotline needs"
    for name, text in existing.items():
        edited = apply_includes(text.format(moh=MOH_DIR), notes[name])
        if name == "extensions.conf":
            edited += '\n#include "robots.conf"\n'
        (etc / name).write_text(edited, "utf-8")
    (etc / "robots.conf").write_text(ROBOTS)


def start(prefix: Path, root: Path) -> tuple[Asterisk, int]:
    """Asterisk and the carrier's registrar in one new network namespace; (Asterisk, SIPp pid)."""
    scenario = root / "registrar.xml"
    scenario.write_text(CARRIER)
    sipp_pid = root / "sipp.pid"
    sipp = (
        f"sipp -sf {scenario} -i {TRUNK_HOST} -p {TRUNK_PORT} -aa -nostdin "
        f"-trace_err -error_file {root / 'sipp-errors.log'} "
        f"> {root / 'sipp.log'} 2>&1 & echo $! > {sipp_pid}"
    )
    asterisk = f"{prefix / 'sbin' / 'asterisk'} -C {root / 'etc' / 'asterisk.conf'} -f"
    log = (root / "console.log").open("wb")
    process = subprocess.Popen(
        ["unshare", "-n", "sh", "-c", f"ip link set lo up && {sipp} && exec {asterisk}"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
    )
    ast = Asterisk(prefix, root, process)
    try:
        wait_until(
            lambda: (root / "run" / "asterisk.ctl").exists() or process.poll() is not None,
            30,
            "Asterisk's control socket",
        )
        if process.poll() is not None:
            raise RuntimeError(f"asterisk exited: {(root / 'console.log').read_text()}")
        ast.cli("core waitfullybooted", timeout=60)
    except BaseException:
        ast.stop()
        raise
    return ast, int(sipp_pid.read_text().strip())


@pytest.fixture(scope="module")
def production(
    pbx_prefix: Path, pbx_sounds: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Asterisk, str]]:
    """A running Asterisk with the fragments included; and what render printed."""
    if shutil.which("sipp") is None or shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root, unshare and sipp (Debian sip-tester) for PJSIP in a namespace")
    data = tmp_path_factory.mktemp("pbxconf")
    root = instance_root()
    rendered = root / "etc" / "hotline"
    env = settings_env(root, data, 5060)
    result = subprocess.run(
        [str(HOTLINE), "asterisk-conf", "render", "--out", str(rendered), "--mode", "fragments"],
        capture_output=True,
        text=True,
        env=env,
        cwd=data,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr or result.stdout
    # the notes say which folders to create first: do as they say
    for folder in re.findall(r"install -d -o asterisk -g asterisk (\S+)", result.stdout):
        Path(folder).mkdir(parents=True, exist_ok=True)
    write_instance(pbx_prefix, root, rendered, pbx_sounds)
    ast, sipp = start(pbx_prefix, root)
    try:
        yield ast, result.stdout + result.stderr
    finally:
        ast.stop()
        try:
            os.kill(sipp, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if not os.environ.get("HOTLINE_TEST_KEEP_PBX"):
            shutil.rmtree(root, ignore_errors=True)


def messages(ast: Asterisk) -> str:
    path = ast.root / "log" / "messages.log"
    return path.read_text("utf-8", errors="replace") if path.exists() else ""


def show(ast: Asterisk, command: str) -> dict[str, str]:
    """`pjsip show endpoint/aor/transport/registration X`'s ParameterName: value lines."""
    out = ast.cli(command)
    pairs = re.findall(r"^ (\S+)\s+:\s?(.*)$", out, re.M)
    assert pairs, out
    return {name: value.strip() for name, value in pairs}


def test_the_included_fragments_load_without_a_warning(
    production: tuple[Asterisk, Any],
) -> None:
    ast, _ = production
    # everything in the log up to now is start-up: the configuration loading
    # (the logger thread writes the file a moment after `core waitfullybooted` returns)
    wait_until(lambda: "Asterisk Ready." in messages(ast), 30, "Asterisk Ready. in the log")
    booted = messages(ast)
    problems = [line for line in booted.splitlines() if re.search(r"\] (WARNING|ERROR)\[", line)]
    assert problems == []
    # each fragment took effect inside the administrator's own files
    assert re.search(r"System name:\s+pbx1$", ast.cli("core show settings"), re.M)
    dialplan = ast.cli("dialplan show hotline-ivr")
    assert "12345" in dialplan and "Answer()" in dialplan
    assert "Playback(hotline/recording-notice)" in dialplan
    globals_ = ast.cli("dialplan show globals")
    assert "SITE=hq" in globals_ and "RECORD_CALLS=1" in globals_
    assert "QUEUE_MAX_WAIT=60" in globals_
    assert "from-internal" in ast.cli("dialplan show from-internal")
    assert "hotline-outbound" in ast.cli("dialplan show hotline-agents")
    assert "sales" in ast.cli("queue show sales")
    moh = ast.cli("moh show classes")
    assert "Class: default" in moh and "Class: hotline" in moh


def test_pjsip_shows_the_rendered_transport_trunk_and_softphones(
    production: tuple[Asterisk, Any],
) -> None:
    ast, _ = production
    udp = show(ast, "pjsip show transport hotline-udp")
    assert udp["protocol"] == "udp" and udp["bind"] == "127.0.0.1:5060"
    assert udp["external_media_address"] == EXTERNAL
    assert udp["external_signaling_address"] == EXTERNAL
    assert udp["local_net"] == "127.0.0.0/255.0.0.0"
    assert show(ast, "pjsip show transport hotline-tcp")["protocol"] == "tcp"

    trunk = show(ast, "pjsip show endpoint pstn-trunk")
    assert trunk["context"] == "hotline-ivr"
    assert trunk["allow"] == "(alaw|ulaw)"
    assert trunk["rtp_symmetric"] == "true" and trunk["force_rport"] == "true"
    assert trunk["outbound_auth"] == "pstn-trunk-auth"
    identify = ast.cli("pjsip show identify pstn-trunk")
    assert f"{TRUNK_HOST}/32" in identify
    aor = show(ast, "pjsip show aor pstn-trunk")
    assert aor["contact"] == f"sip:{TRUNK_HOST}:{TRUNK_PORT}"

    phone = show(ast, "pjsip show endpoint 1001")
    assert phone["context"] == "hotline-agents" and phone["allow"] == "(alaw|ulaw)"
    assert phone["rewrite_contact"] == "true" and phone["rtp_symmetric"] == "true"
    assert phone["moh_suggest"] == "hotline"
    phone_aor = show(ast, "pjsip show aor 1001")
    assert phone_aor["max_contacts"] == "1" and phone_aor["remove_existing"] == "true"
    assert phone_aor["qualify_frequency"] == "30"


def test_the_trunk_registers_with_its_secret(production: tuple[Asterisk, Any]) -> None:
    ast, _ = production
    wait_until(
        lambda: "Registered" in ast.cli("pjsip show registrations"),
        30,
        "the trunk's registration (" + ast.cli("pjsip show registrations").strip() + ")",
    )
    registration = show(ast, "pjsip show registration pstn-trunk")
    assert registration["client_uri"] == f"sip:{TRUNK_USER}@{TRUNK_HOST}"
    assert registration["contact_user"] == "12345"


def test_a_call_hears_the_recording_notice_and_autopause_pauses_a_silent_agent(
    production: tuple[Asterisk, Any],
) -> None:
    ast, _ = production
    queue = ast.cli("queue show hotline-general")
    assert "in 'rrmemory' strategy" in queue and "within 15s" in queue
    ast.cli(f"queue add member {RINGER} to hotline-general penalty 0 as ringer")
    try:
        # the FastAGI IVR is not running here: the call takes the degraded path to the queue
        ast.cli("channel originate Local/12345@hotline-ivr/n application Wait 30")
        wait_until(
            lambda: "Auto-Pausing Queue Member" in messages(ast),
            60,
            "app_queue to pause the agent who let the call ring out",
        )
        log = messages(ast)
        played = re.search(
            r"<(Local/12345@hotline-ivr-\w+;2)> Playing 'hotline/recording-notice\.", log
        )
        assert played, "the recording notice was played"
        # the notice comes first: before the IVR's FastAGI and before the queue
        ivr = log.index(f'AGI("{played.group(1)}", "agi://')
        queued = log.index(f'Queue("{played.group(1)}"')
        assert played.start() < ivr < queued
        member = [
            line for line in ast.cli("queue show hotline-general").splitlines() if "ringer" in line
        ]
        assert member and "paused" in member[0].lower()
    finally:
        ast.cli("channel request hangup all")
        ast.cli(f"queue remove member {RINGER} from hotline-general")


def test_an_agent_calls_a_citizen_back_through_the_trunk(production: tuple[Asterisk, Any]) -> None:
    ast, _ = production
    master = ast.root / "log" / "cdr-csv" / "Master.csv"

    def outbound() -> list[dict[str, str]]:
        if not master.exists():
            return []
        with master.open(newline="") as handle:
            rows = [dict(zip(CDR_COLUMNS, row, strict=False)) for row in csv.reader(handle)]
        return [row for row in rows if row["dstchannel"].startswith("PJSIP/pstn-trunk-")]

    # What a softphone (or the callback list's Originate) dials: prefix 9 + the number.
    ast.cli("channel originate Local/913900001111@hotline-outbound/n application Wait 2")
    wait_until(lambda: bool(outbound()), 60, "the call-back's CDR")
    (row,) = outbound()
    # the carrier answered: it saw A-law offered first and the hotline's number as caller
    assert row["disposition"] == "ANSWERED", row
    assert row["lastapp"] == "Dial"
    assert row["lastdata"] == "PJSIP/13900001111@pstn-trunk,60"
    assert row["src"] == "12345"

    # international numbers never leave (pbx.outbound_international is off)
    ast.cli("channel originate Local/90044201234567@hotline-outbound/n application Wait 2")
    wait_until(
        lambda: "International number 0044201234567 refused" in messages(ast),
        30,
        "the international call to be refused",
    )
    assert len(outbound()) == 1
