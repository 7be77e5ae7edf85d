"""A private, real Asterisk 22 for the `pbx` tests: Local channels only, our own rendered files.

The instance lives in a short temporary folder (its control socket path must stay under ~100
characters): its own asterisk.conf with a plain ``[directories]`` section, the modules list
without PJSIP (res_pjsip opens a resolver socket on 0.0.0.0; see
../shared/asterisk/README.md), cdr.conf/logger.conf as the service expects, and the files
``hotline asterisk-conf render`` writes, included unchanged from ``etc/hotline/``. Test-only
robot contexts come from a separate file (``ROBOTS``), included after them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "asterisk"
DEFAULT_PREFIX = Path.home() / ".cache" / "hotline" / "asterisk-22.10.1"
MOH_DIR = Path("/usr/share/asterisk/moh")
REPO = Path(__file__).resolve().parents[2]
# The degraded path's classic AGI script, installed in the instance's agi-bin as an
# administrator would (a link to the project's file); Asterisk runs it with the python3 first
# on its PATH, which start_asterisk makes the test's interpreter (it has pyst2).
FALLBACK_AGI = REPO / "agi_scripts" / "hotline_fallback.py"

# The rendered files an Asterisk loads on this Local-only instance (pjsip.conf is rendered but
# not loaded: PJSIP needs a private network namespace).
RENDERED = ("extensions.conf", "queues.conf", "queuerules.conf", "manager.conf", "musiconhold.conf")

# Robots, never part of the project's configuration:
# - robot-dial: a citizen's line; the number dialled is the caller's number, then the real
#   hotline extension of the rendered [hotline-ivr].
# - robot-caller/press-N: the citizen; waits until the IVR reached its main menu (the peer
#   Local half reports HOTLINE_PATH), then presses N and stays on the line.
# - robot-caller/wait: stays on the line without pressing anything.
# - robot-caller/keys-KEYS: presses each of KEYS as the IVR enters its next menu node
#   (HOTLINE_PATH grows), e.g. keys-21 for the help menu's first option, then stays on.
# - robot-caller/survey-K-S: presses K at the main menu; once an agent answered
#   (MEMBERINTERFACE on the peer) presses S every 1.5 s, which the post-call survey takes.
# - robot-caller/voice-K: presses K at the main menu, then plays a tone (a voice for the
#   callback message's Record()).
# - robot-caller/incident: presses 1 at the main menu's major-fault announcement, then 0 (an
#   agent) once the IVR registered the call against the incident (HOTLINE_INCIDENT).
# - robot-caller/ticket-DIGITS: presses 6 at the main menu (ticket progress), types DIGITS and
#   '#' while the IVR asks for the ticket number, then 0 (an agent) once the IVR reached the
#   after-progress menu.
# - robot-agent/<N>: agentN, a queue member answering after 2 s and talking 3 s; its Custom:
#   device state says busy while it talks so app_queue sees it like a softphone.
# - robot-ring/<N>: agentN's phone rings and is never answered (RINGNOANSWER).
# - robot-talk/<N>: agentN answers after 1 s and talks until the call is moved or ended.
ROBOTS = r"""
[robot-dial]
exten => _X.,1,Set(CALLERID(num)=${EXTEN})
 same => n,Set(CALLERID(name)=robot)
 same => n,Goto(hotline-ivr,12345,1)

[robot-caller]
exten => _press-X,1,Set(PEER=${CUT(CHANNEL,\;,1)}\;2)
 same => n,Set(I=0)
 same => n(poll),GotoIf($["${IMPORT(${PEER},HOTLINE_PATH)}" = "welcome,main"]?press)
 same => n,Set(I=$[${I} + 1])
 same => n,GotoIf($[${I} > 300]?give_up)
 same => n,Wait(0.1)
 same => n,Goto(poll)
 same => n(press),Wait(0.3)
 same => n,SendDTMF(${EXTEN:6},250)
 same => n,Wait(120)
 same => n(give_up),Hangup()
exten => wait,1,Wait(120)
 same => n,Hangup()
exten => _keys-X!,1,Set(PEER=${CUT(CHANNEL,\;,1)}\;2)
 same => n,Set(KEYS=${EXTEN:5})
 same => n,Set(SEEN=welcome)
 same => n(next),GotoIf($["${KEYS}" = ""]?stay)
 same => n,Set(I=0)
 same => n(poll),Set(P=${IMPORT(${PEER},HOTLINE_PATH)})
 same => n,GotoIf($["${P}" != "" & "${P}" != "${SEEN}"]?press)
 same => n,Set(I=$[${I} + 1])
 same => n,GotoIf($[${I} > 400]?give_up)
 same => n,Wait(0.1)
 same => n,Goto(poll)
 same => n(press),Set(SEEN=${P})
 same => n,Wait(0.3)
 same => n,SendDTMF(${KEYS:0:1},250)
 same => n,Set(KEYS=${KEYS:1})
 same => n,Goto(next)
 same => n(stay),Wait(120)
 same => n(give_up),Hangup()
exten => _survey-X-X,1,Set(PEER=${CUT(CHANNEL,\;,1)}\;2)
 same => n,Set(I=0)
 same => n(poll),GotoIf($["${IMPORT(${PEER},HOTLINE_PATH)}" = "welcome,main"]?press)
 same => n,Set(I=$[${I} + 1])
 same => n,GotoIf($[${I} > 300]?give_up)
 same => n,Wait(0.1)
 same => n,Goto(poll)
 same => n(press),Wait(0.3)
 same => n,SendDTMF(${EXTEN:7:1},250)
 same => n,Set(I=0)
 same => n(agent),GotoIf($["${IMPORT(${PEER},MEMBERINTERFACE)}" != ""]?rate)
 same => n,Set(I=$[${I} + 1])
 same => n,GotoIf($[${I} > 900]?give_up)
 same => n,Wait(0.1)
 same => n,Goto(agent)
 same => n(rate),SendDTMF(${EXTEN:9:1},250)
 same => n,Wait(1.5)
 same => n,Goto(rate)
 same => n(give_up),Hangup()
exten => incident,1,Set(PEER=${CUT(CHANNEL,\;,1)}\;2)
 same => n,Set(I=0)
 same => n(poll),GotoIf($["${IMPORT(${PEER},HOTLINE_PATH)}" = "welcome,main"]?press)
 same => n,Set(I=$[${I} + 1])
 same => n,GotoIf($[${I} > 300]?give_up)
 same => n,Wait(0.1)
 same => n,Goto(poll)
 same => n(press),Wait(0.3)
 same => n,SendDTMF(1,250)
 same => n,Set(I=0)
 same => n(merged),GotoIf($["${IMPORT(${PEER},HOTLINE_INCIDENT)}" != ""]?agent)
 same => n,Set(I=$[${I} + 1])
 same => n,GotoIf($[${I} > 300]?give_up)
 same => n,Wait(0.1)
 same => n,Goto(merged)
 same => n(agent),Wait(0.3)
 same => n,SendDTMF(0,250)
 same => n,Wait(120)
 same => n(give_up),Hangup()
exten => _voice-X,1,Set(PEER=${CUT(CHANNEL,\;,1)}\;2)
 same => n,Set(I=0)
 same => n(poll),GotoIf($["${IMPORT(${PEER},HOTLINE_PATH)}" = "welcome,main"]?press)
 same => n,Set(I=$[${I} + 1])
 same => n,GotoIf($[${I} > 300]?give_up)
 same => n,Wait(0.1)
 same => n,Goto(poll)
 same => n(press),Wait(0.3)
 same => n,SendDTMF(${EXTEN:6},250)
 same => n,Playtones(440/1000)
 same => n,Wait(120)
 same => n(give_up),Hangup()
exten => _ticket-X.,1,Set(PEER=${CUT(CHANNEL,\;,1)}\;2)
 same => n,Set(I=0)
 same => n(poll),GotoIf($["${IMPORT(${PEER},HOTLINE_PATH)}" = "welcome,main"]?press)
 same => n,Set(I=$[${I} + 1])
 same => n,GotoIf($[${I} > 300]?give_up)
 same => n,Wait(0.1)
 same => n,Goto(poll)
 same => n(press),Wait(0.3)
 same => n,SendDTMF(6,250)
 ; the IVR's GET DATA plays the ticket prompt and takes the keys during it
 same => n,Wait(1.5)
 same => n,SendDTMF(${EXTEN:7}#,250)
 same => n,Set(I=0)
 same => n(after),GotoIf($["${IMPORT(${PEER},HOTLINE_PATH)}" = "welcome,main,after-progress"]?agent)
 same => n,Set(I=$[${I} + 1])
 same => n,GotoIf($[${I} > 400]?give_up)
 same => n,Wait(0.1)
 same => n,Goto(after)
 same => n(agent),Wait(0.3)
 same => n,SendDTMF(0,250)
 same => n,Wait(120)
 same => n(give_up),Hangup()

[robot-agent]
; (the extension is the agent's number: in patterns a lowercase "n" matches a digit)
exten => _X,1,Set(AGENT=agent${EXTEN})
 same => n,Wait(2)
 same => n,Answer()
 same => n,Set(DEVICE_STATE(Custom:${AGENT})=INUSE)
 ; a voice on the line: MixMonitor writes only the audio frames it sees
 same => n,Playtones(440/1000)
 same => n,Wait(3)
 same => n,Hangup()
exten => h,1,Set(DEVICE_STATE(Custom:${AGENT})=NOT_INUSE)

[robot-ring]
exten => _X,1,Wait(120)
 same => n,Hangup()

[robot-supervisor]
; a supervisor's phone (Local/9001@robot-supervisor/n): answers at once and stays on the
; line; the other half of the Local channel runs ChanSpy, which ends the call
exten => _X.,1,Answer()
 same => n,Wait(120)
 same => n,Hangup()
; 9002 switches modes as a supervisor would (ChanSpy's d option): 5 whisper, then 6 barge
exten => 9002,1,Answer()
 same => n,Wait(3)
 same => n,SendDTMF(5,250)
 same => n,Wait(3)
 same => n,SendDTMF(6,250)
 same => n,Wait(120)
 same => n,Hangup()

[robot-talk]
exten => _X,1,Set(AGENT=agent${EXTEN})
 same => n,Wait(1)
 same => n,Answer()
 same => n,Set(DEVICE_STATE(Custom:${AGENT})=INUSE)
 same => n,Playtones(440/1000)
 same => n,Wait(120)
 same => n,Hangup()
exten => h,1,Set(DEVICE_STATE(Custom:${AGENT})=NOT_INUSE)
"""


def asterisk_prefix() -> Path | None:
    """The build to use: ``HOTLINE_TEST_ASTERISK`` or the cache; None when neither has one."""
    named = os.environ.get("HOTLINE_TEST_ASTERISK")
    prefix = Path(named) if named else DEFAULT_PREFIX
    return prefix if (prefix / "sbin" / "asterisk").is_file() else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class Asterisk:
    """One running private instance; ``cli()`` runs a CLI command on it."""

    prefix: Path
    root: Path
    process: subprocess.Popen[bytes]

    @property
    def conf(self) -> Path:
        return self.root / "etc" / "asterisk.conf"

    @property
    def queue_log(self) -> Path:
        return self.root / "log" / "queue_log"

    @property
    def cdr_csv(self) -> Path:
        return self.root / "log" / "cdr-csv" / "Master.csv"

    @property
    def monitor_dir(self) -> Path:
        return self.root / "spool" / "monitor"

    def cli(self, command: str, timeout: float = 20) -> str:
        result = subprocess.run(
            [str(self.prefix / "sbin" / "asterisk"), "-C", str(self.conf), "-rx", command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"asterisk -rx {command!r}: {result.stderr or result.stdout}")
        return result.stdout

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.cli("core stop now", timeout=10)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def write_instance_files(prefix: Path, root: Path, rendered: Path, sounds: Path) -> None:
    """Every file of ``root/etc`` but the rendered ones, which are included unchanged."""
    etc = root / "etc"
    etc.mkdir(parents=True)
    # make install creates these; cdr_csv and MixMonitor do not.
    for sub in ("log/cdr-csv", "run", "db", "spool/monitor", "cache", "data"):
        (root / sub).mkdir(parents=True)
    # astdatadir: the build's data (documentation, keys…) with a sounds folder of our own that
    # holds the hotline prompts beside the English core sounds.
    data = root / "data"
    build_data = prefix / "var" / "lib" / "asterisk"
    for entry in build_data.iterdir():
        if entry.name not in ("sounds", "agi-bin"):
            (data / entry.name).symlink_to(entry)
    (data / "sounds").symlink_to(sounds)
    (data / "agi-bin").mkdir()
    (data / "agi-bin" / FALLBACK_AGI.name).symlink_to(FALLBACK_AGI)
    (etc / "asterisk.conf").write_text(
        "[directories]\n"
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
        "\n[options]\n"
        "verbose = 3\n"
        "debug = 0\n"
    )
    base = SHARED / "conf-base"
    shutil.copy(base / "modules.conf.default", etc / "modules.conf")
    # cdr_csv: uniqueid and linkedid columns, UTC (../shared/asterisk/README.md).
    (etc / "cdr.conf").write_text(
        "[general]\nenable = yes\n\n[csv]\nusegmtime = yes\nloguniqueid = yes\n"
        "loguserfield = yes\naccountlogs = no\nnewcdrcolumns = yes\n"
    )
    (etc / "logger.conf").write_text(
        "[general]\nqueue_log = yes\nqueue_log_to_file = yes\nqueue_log_name = queue_log\n"
        "\n[logfiles]\nmessages.log => notice,warning,error,verbose\n"
    )
    target = etc / "hotline"
    shutil.copytree(rendered, target)
    for name in RENDERED:
        extra = '#include "robots.conf"\n' if name == "extensions.conf" else ""
        (etc / name).write_text(f'#include "hotline/{name}"\n{extra}')
    (etc / "robots.conf").write_text(ROBOTS)


def instance_root() -> Path:
    """A short folder for one instance: its control socket lives in root/run."""
    return Path(tempfile.mkdtemp(prefix="ast", dir="/tmp"))


def start_asterisk(prefix: Path, root: Path, rendered: Path, sounds: Path) -> Asterisk:
    write_instance_files(prefix, root, rendered, sounds)
    log = (root / "console.log").open("wb")
    process = subprocess.Popen(
        [str(prefix / "sbin" / "asterisk"), "-C", str(root / "etc" / "asterisk.conf"), "-f"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"},
    )
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


def ami_action(port: int, secret: str, fields: dict[str, str], timeout: float = 10) -> str:
    """One AMI action on a connection of its own (login as the rendered ``hotline`` user);
    Asterisk's response block. For what the CLI cannot do, such as an agent's BlindTransfer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        reader = sock.makefile("rb")
        reader.readline()  # the banner

        def send(action: dict[str, str]) -> str:
            sock.sendall("".join(f"{k}: {v}\r\n" for k, v in action.items()).encode() + b"\r\n")
            while True:
                block: list[str] = []
                while (line := reader.readline().decode().rstrip("\r\n")) != "":
                    block.append(line)
                if (
                    block
                    and block[0].startswith("Response:")
                    and any(line == f"ActionID: {action['ActionID']}" for line in block)
                ):
                    return "\n".join(block)

        login = send({"Action": "Login", "ActionID": "login", "Username": "hotline",
                      "Secret": secret, "Events": "off"})  # fmt: skip
        if "Success" not in login.splitlines()[0]:
            raise RuntimeError(f"AMI login refused: {login}")
        answer = send({**fields, "ActionID": "act"})
        send({"Action": "Logoff", "ActionID": "bye"})
        return answer
