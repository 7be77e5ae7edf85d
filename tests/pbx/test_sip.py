"""SIP for real: SIPp softphones and a SIPp carrier against the rendered PJSIP configuration.

What runs where, and why. PJSIP may only be loaded inside a private network namespace (it opens
a resolver socket on 0.0.0.0), and everything Asterisk talks to must then be inside the same
namespace. So this module creates one namespace with only loopback up (tests/pbx/netns.py: an
``unshare -n`` holder process) and starts inside it, each through ``nsenter``: Asterisk with the
project's rendered files *including pjsip.conf*, the real service (``hotline serve``: AMI feed,
tracker, store, FastAGI IVR, with the settings the files were rendered from) and the SIPp
phones. The pytest process itself stays in the machine's namespace and never opens a socket
into the new one: it reads what Asterisk and the service write (queue_log, CDR, recordings, the
SQLite store — the file system is shared) and runs CLI commands over Asterisk's control socket
(a Unix socket with a path: reachable from any namespace). Nothing can leave loopback, and the
machine's own namespace never sees PJSIP. This was chosen over re-running pytest for this
module under ``unshare -n``: the tests stay ordinary tests of the outer run (reported, selected
and marked like the others), and each process's lifetime is owned by a fixture that ends it by
its own PID.

The phones (tests/pbx/sipp.py, scenarios in tests/pbx/sipp/): agent 1001 is a SIPp softphone on
127.0.0.2 that REGISTERs with its secret from the settings (digest auth) and answers queue calls
(rings 2 s, talks 3 s with audio, hangs up); the citizen is a SIPp caller on 127.0.0.1, the
address the rendered trunk identifies, who dials the hotline number and presses a menu key as an
RFC 4733 event — the rendered endpoints keep PJSIP's default ``dtmf_mode`` (rfc4733). The key
is sent a few seconds into the main menu: the welcome prompts before it cannot be interrupted,
and their length is read from the built prompt files. Where ``unshare -n`` is not permitted or
SIPp is missing the module skips with the reason (CI=true turns that skip into a failure).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from asterisk_conf.sounds import RECORDING_NOTICE
from hotline.settings import Settings
from ivr.menu import load_menu
from ivr.menu_source import DEFAULT_MENU
from tests.pbx.asterisk import Asterisk, instance_root, wait_until
from tests.pbx.conftest import hotline_cli, pbx_settings
from tests.pbx.netns import NamespaceUnavailable, NetNamespace
from tests.pbx.sip_pbx import (
    AMI_PORT,
    FASTAGI_PORT,
    SIP_PORT,
    ServiceProcess,
    SipAgent,
    settings_env,
    sip_settings,
    start_service,
    start_sip_asterisk,
    start_softphone,
    write_sip_instance_files,
)
from tests.pbx.sipp import (
    CARRIER_ADDRESS,
    PHONE_ADDRESS,
    SippRun,
    errors_of,
    key_pcap,
    prompt_seconds,
    scenario,
    sipp_binary,
    start_sipp,
)
from tests.pbx.test_calls import audio_bytes, cdr_rows, close, entered, lines_of
from ticketing.store import TicketStore

pytestmark = pytest.mark.pbx

# Secrets of this test only; the rendered pjsip.conf gets them from the settings.
AGENT = SipAgent("1001", "Agent One", "sip-secret-1001-test", 5070)
SPARE = SipAgent("1002", "Agent Two", "sip-secret-1002-test", 5090)  # never registers
RING_S, TALK_S = 2, 3


@dataclass
class SipPbx:
    ns: NetNamespace
    ast: Asterisk
    settings: dict[str, Any]
    service: ServiceProcess
    phones: dict[str, SippRun]
    workdir: Path
    welcome_s: float  # the notice and welcome prompts before the main menu (no key interrupts)


@pytest.fixture(scope="module")
def netns() -> Iterator[NetNamespace]:
    if sipp_binary() is None:
        pytest.skip("SIPp is not installed (Debian package sip-tester)")
    try:
        ns = NetNamespace.create()
    except NamespaceUnavailable as error:
        pytest.skip(str(error))
    try:
        yield ns
    finally:
        ns.close()


@pytest.fixture(scope="module")
def sip_pbx(
    pbx_prefix: Path,
    pbx_sounds: Path,
    netns: NetNamespace,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SipPbx]:
    """Asterisk with PJSIP, `hotline serve` and softphone 1001, inside the namespace."""
    data = tmp_path_factory.mktemp("sipdata")
    root = instance_root()
    settings = sip_settings(pbx_settings(root, AMI_PORT, FASTAGI_PORT, data), [AGENT, SPARE])
    env = settings_env(settings)
    rendered = data / "rendered"
    hotline_cli(["asterisk-conf", "render", "--out", str(rendered)], env, data)
    write_sip_instance_files(pbx_prefix, root, rendered, pbx_sounds)
    ast = start_sip_asterisk(netns, pbx_prefix, root)
    service: ServiceProcess | None = None
    phones: dict[str, SippRun] = {}
    try:
        service = start_service(netns, ast, env, data)
        phones[AGENT.extension] = start_softphone(
            netns, ast, AGENT, data, ring_ms=RING_S * 1000, talk_ms=TALK_S * 1000
        )
        menu = load_menu(DEFAULT_MENU)
        # the dialplan's recording notice (通话将被录音) plays before the IVR's welcome
        welcome = [RECORDING_NOTICE, *menu.nodes[menu.start].prompts]
        yield SipPbx(
            netns, ast, settings, service, phones, data, prompt_seconds(pbx_sounds, welcome)
        )
    finally:
        for phone in phones.values():
            phone.stop()
        if service is not None:
            service.stop()
        ast.stop()
        if not os.environ.get("HOTLINE_TEST_KEEP_PBX"):
            shutil.rmtree(ast.root, ignore_errors=True)


def run_sipp(run: SippRun, timeout: float, what: str) -> None:
    try:
        code = run.wait(timeout)
    except BaseException:
        run.stop()
        raise
    assert code == 0, f"SIPp {what} failed (exit {code}):\n{errors_of(run)}"


def stored(url: str, uniqueid: str, timeout: float = 30) -> dict[str, Any]:
    """The service's record of one call, read from its store once it is there."""

    async def fetch() -> dict[str, Any] | None:
        store = await TicketStore.open(url)
        try:
            records = await store.calls_between(
                datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
            )
        finally:
            await store.close()
        return next((r for r in records if r["uniqueid"] == uniqueid), None)

    found: list[dict[str, Any]] = []

    def there() -> bool:
        record = asyncio.run(fetch())
        if record is not None:
            found.append(record)
        return record is not None

    wait_until(there, timeout, f"the service's record of {uniqueid}")
    return found[0]


def test_sip_caller_through_trunk_presses_key_and_sip_agent_answers(sip_pbx: SipPbx) -> None:
    ast, caller = sip_pbx.ast, "13800138005"
    # The key 3 s into the main menu's prompt (GET DATA takes keys from its first moment). The
    # caller hangs up during the post-call survey: 10 s after the agent's phone did on time,
    # long before the survey (its 11 s prompt, then 6 s for a key) could hang up on them.
    press_after_ms = int((sip_pbx.welcome_s + 3) * 1000)
    hangup_after_ms = (RING_S + TALK_S + 10) * 1000
    call = scenario(
        "caller",
        sip_pbx.workdir,
        caller=caller,
        caller_name="张三",
        press_after_ms=press_after_ms,
        key_pcap=key_pcap("5"),
        hangup_after_ms=hangup_after_ms,
    )
    run = start_sipp(
        sip_pbx.ns,
        call,
        address=CARRIER_ADDRESS,
        port=5110,
        media_port=6110,
        service=Settings.model_validate(sip_pbx.settings).pbx.hotline_number,
        remote=f"127.0.0.1:{SIP_PORT}",
        workdir=sip_pbx.workdir,
        extra=["-m", "1"],
    )
    run_sipp(run, (press_after_ms + hangup_after_ms) / 1000 + 60, "caller")

    callid = entered(ast, caller)
    assert callid is not None, "the SIP caller never entered a queue"
    log = lines_of(ast, callid)
    connect, complete = log["CONNECT"], log["COMPLETEAGENT"]  # the agent's phone hung up
    wait_until(lambda: bool(cdr_rows(ast, callid)), 30, "the caller's CDR")
    cdr = cdr_rows(ast, callid)
    record = stored(sip_pbx.settings["database"]["url"], callid)

    # The trunk identified the caller by address; the agent leg is the registered softphone.
    assert cdr[0]["channel"].startswith("PJSIP/pstn-trunk-")
    assert cdr[0]["dstchannel"].startswith(f"PJSIP/{AGENT.extension}-")
    # queue_log: CONNECT|holdtime|bridged uniqueid|ringtime; COMPLETEAGENT|holdtime|calltime|pos
    assert record["queue"] == "hotline-general" == connect[2]
    assert record["outcome"] == "answered"
    assert record["answered_by"] == connect[3] == AGENT.name
    assert record["member_interface"] == f"PJSIP/{AGENT.extension}"
    assert record["hangup_by"] == "agent"
    close(record["wait_s"], int(connect[5]), "wait")
    close(record["talk_s"], int(complete[6]), "talk")
    # The key went through RTP (RFC 4733) into the FastAGI IVR's main menu: branch 5.
    assert record["ivr_choice"] == "5"
    assert record["ivr_digits"] == "5"
    assert record["ivr_path"] == ["welcome", "main"]
    assert record["caller_num"] == caller
    assert record["linkedid"] == cdr[0]["linkedid"]
    recording = ast.monitor_dir / f"hotline-{callid}.wav"
    assert record["recording"] == str(recording)
    assert audio_bytes(recording) > 0


def test_register_with_a_wrong_secret_is_refused(sip_pbx: SipPbx) -> None:
    refused = scenario("register_refused", sip_pbx.workdir)
    run = start_sipp(
        sip_pbx.ns,
        refused,
        address=PHONE_ADDRESS,
        port=SPARE.port,
        media_port=SPARE.port + 1000,
        service=SPARE.extension,
        remote=f"127.0.0.1:{SIP_PORT}",
        workdir=sip_pbx.workdir,
        extra=["-au", SPARE.extension, "-ap", SPARE.secret + "-wrong", "-m", "1"],
    )
    run_sipp(run, 60, "REGISTER with a wrong secret")
    contacts = sip_pbx.ast.cli("pjsip show contacts")
    assert f"{SPARE.extension}/sip:" not in contacts
    # ...while the softphone with the right secret from the settings is registered.
    assert f"{AGENT.extension}/sip:{AGENT.extension}@{PHONE_ADDRESS}:{AGENT.port}" in contacts


def test_hotline_serve_starts_without_a_warning_one_line_per_message(sip_pbx: SipPbx) -> None:
    """`hotline serve` on the production-like configuration (agents, trunk, session secret):
    its start (migrations included) says nothing worth a warning, each message on one line."""
    lines = sip_pbx.service.log.read_text(errors="replace").splitlines()
    start = lines[: next(i for i, line in enumerate(lines) if "hotline serving" in line) + 1]
    stamped = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")
    assert [line for line in start if not stamped.match(line)] == []
    assert [line for line in start if " WARNING " in line or " ERROR " in line] == []
