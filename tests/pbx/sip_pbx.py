"""A private Asterisk 22 *with PJSIP*, the service and SIPp phones, all in one network namespace.

Used by tests/pbx/test_sip.py and bench/pbx_calls.py. The instance is tests/pbx/asterisk.py's
(the rendered files included unchanged, the robot contexts beside them) plus what SIP needs:
the rendered ``pjsip.conf`` included as well, PJSIP's modules loaded, and Asterisk started
inside the namespace (tests/pbx/netns.py). The service is the real ``hotline serve``, started
inside the namespace with the same settings the configuration was rendered from, so AMI and
FastAGI stay on the namespace's loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.pbx.asterisk import SHARED, Asterisk, wait_until, write_instance_files
from tests.pbx.netns import NetNamespace
from tests.pbx.sipp import PHONE_ADDRESS, VOICE_PCAP, SippRun, scenario, start_sipp

HOTLINE = Path(sys.executable).parent / "hotline"
SIP_PORT = 5060  # pbx.sip_bind's default port; the namespace has nothing else on it
AMI_PORT = 5038
FASTAGI_PORT = 4573


@dataclass(frozen=True)
class SipAgent:
    extension: str
    name: str
    secret: str
    # The softphone's SIP port on PHONE_ADDRESS; its RTP uses port + 1000 and SIPp also binds
    # the next three (RTCP, video): keep agents' ports 10 apart.
    port: int


def sip_settings(base: Mapping[str, Any], agents: list[SipAgent]) -> dict[str, Any]:
    """``base`` (tests/pbx/conftest.py pbx_settings) with softphones, the trunk and members."""
    settings = {section: dict(values) for section, values in base.items()}
    settings["pbx"]["agents"] = [
        {"extension": a.extension, "name": a.name, "secret": a.secret} for a in agents
    ]
    # The carrier: SIPp callers on 127.0.0.1 are identified as the trunk by their address.
    settings["pbx"]["trunk_addresses"] = ["127.0.0.1"]
    members = [a.extension for a in agents]
    settings["pbx"]["queues"] = [
        {"name": "hotline-general", "members": members},
        {"name": "hotline-complaint", "members": members},
        {"name": "hotline-report", "joinempty": "no", "leavewhenempty": "yes"},
    ]
    return settings


def settings_env(settings: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The settings as HOTLINE_* variables (lists and tables as JSON, as pydantic reads them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    for section, values in settings.items():
        for key, value in values.items():
            text = value if isinstance(value, str) else json.dumps(value)
            env[f"HOTLINE_{section.upper()}__{key.upper()}"] = text
    return env


def write_sip_instance_files(prefix: Path, root: Path, rendered: Path, sounds: Path) -> None:
    """tests/pbx/asterisk.py's instance, plus the rendered pjsip.conf and PJSIP's modules."""
    write_instance_files(prefix, root, rendered, sounds)
    etc = root / "etc"
    # The capture instance's SIP-mode module list: everything, PJSIP included.
    shutil.copy(SHARED / "conf-base" / "modules.conf.sip", etc / "modules.conf")
    (etc / "pjsip.conf").write_text('#include "hotline/pjsip.conf"\n')


def start_sip_asterisk(ns: NetNamespace, prefix: Path, root: Path) -> Asterisk:
    """Asterisk (files already written) inside the namespace; returns once fully booted."""
    conf = root / "etc" / "asterisk.conf"
    with (root / "console.log").open("wb") as log:
        process = subprocess.Popen(
            ns.command([prefix / "sbin" / "asterisk", "-C", conf, "-f"]),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=root,
        )  # fmt: skip
    ast = Asterisk(prefix, root, process)
    try:
        wait_until(
            lambda: (root / "run" / "asterisk.ctl").exists() or process.poll() is not None,
            30,
            "Asterisk's control socket",
        )
        if process.poll() is not None:
            raise RuntimeError(
                f"asterisk exited {process.returncode}: {(root / 'console.log').read_text()}"
            )
        ast.cli("core waitfullybooted", timeout=60)
    except BaseException:
        ast.stop()
        raise
    return ast


@dataclass
class ServiceProcess:
    """``hotline serve`` inside the namespace; its log in ``log``."""

    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        # SIGTERM: the service stops in order and flushes the calls it still holds.
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_service(
    ns: NetNamespace, ast: Asterisk, env: dict[str, str], workdir: Path, ami_user: str = "hotline"
) -> ServiceProcess:
    """``hotline serve``; returns once its FastAGI listens and its AMI login shows on Asterisk."""
    log = workdir / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ns.command([HOTLINE, "serve"]),
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=workdir,
        )  # fmt: skip
    service = ServiceProcess(process, log)

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"hotline serve exited {process.returncode}: {log.read_text()}")
        text = log.read_text(errors="replace")
        return "FastAGI listening" in text and "logged in" in text

    try:
        wait_until(ready, 60, "hotline serve (FastAGI listening, AMI logged in)")
        connected = ast.cli("manager show connected")
        if ami_user not in connected:
            raise RuntimeError(f"the service is not on Asterisk's AMI: {connected}")
    except BaseException:
        service.stop()
        raise
    return service


def start_softphone(
    ns: NetNamespace,
    ast: Asterisk,
    agent: SipAgent,
    workdir: Path,
    *,
    ring_ms: int = 2000,
    talk_ms: int = 3000,
) -> SippRun:
    """A registered agent softphone answering queue calls; returns once Asterisk qualified it."""
    register = scenario("agent_register", workdir, hold_ms=3_600_000)
    answer = scenario(
        "agent_answer", workdir, ring_ms=ring_ms, talk_ms=talk_ms, voice_pcap=VOICE_PCAP
    )
    run = start_sipp(
        ns,
        register,
        address=PHONE_ADDRESS,
        port=agent.port,
        media_port=agent.port + 1000,
        service=agent.extension,
        remote=f"127.0.0.1:{SIP_PORT}",
        workdir=workdir,
        extra=["-oocsf", str(answer), "-au", agent.extension, "-ap", agent.secret, "-m", "1"],
    )
    contact = f"{agent.extension}/sip:{agent.extension}@{PHONE_ADDRESS}:{agent.port}"

    def qualified() -> bool:
        if run.process.poll() is not None:
            raise RuntimeError(f"softphone {agent.extension} exited: {run.output()}")
        return any(
            contact in line and " Avail " in line
            for line in ast.cli("pjsip show contacts").splitlines()
        )

    try:
        wait_until(qualified, 30, f"softphone {agent.extension} registered and qualified")
    except BaseException:
        run.stop()
        raise
    return run
