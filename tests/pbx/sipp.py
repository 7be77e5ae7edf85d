"""SIPp (Debian's ``sip-tester``) as the softphones and the carrier of the SIP tests and benchmark.

The scenarios are XML files beside this module (``sipp/``) with ``@NAME@`` placeholders that
``scenario()`` fills in (times, the key to press, the caller); SIPp's own ``[keyword]`` syntax
is left alone. Every SIPp runs inside the test's network namespace (tests/pbx/netns.py) and
binds a loopback address: the carrier on 127.0.0.1 (the rendered trunk identifies it by that
address), the agents' softphones on 127.0.0.2 (so Asterisk identifies them by their user name,
not as the trunk).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.pbx.netns import NetNamespace

SCENARIOS = Path(__file__).resolve().parent / "sipp"
PCAPS = Path("/usr/share/sip-tester")  # RTP pcaps shipped with Debian's sip-tester
VOICE_PCAP = PCAPS / "g711a.pcap"  # 7 s of PCMA speech
CARRIER_ADDRESS = "127.0.0.1"
PHONE_ADDRESS = "127.0.0.2"


def sipp_binary() -> str | None:
    return shutil.which("sipp")


def key_pcap(key: str) -> Path:
    """The RFC 4733 telephone-event pcap of one key (payload type 101, as caller.xml offers)."""
    names = {"*": "star", "#": "pound"}
    return PCAPS / f"dtmf_2833_{names.get(key, key)}.pcap"


def scenario(name: str, directory: Path, **values: object) -> Path:
    """``sipp/<name>.xml`` with its ``@NAME@`` placeholders filled, written into directory."""
    text = (SCENARIOS / f"{name}.xml").read_text()
    for key, value in values.items():
        text = text.replace(f"@{key.upper()}@", str(value))
    left = sorted(set(re.findall(r"@([A-Z_]+)@", text)))
    if left:
        raise ValueError(f"scenario {name}: no value for {', '.join(left)}")
    path = directory / f"{name}.xml"
    path.write_text(text)
    return path


def prompt_seconds(sounds: Path, prompts: Iterable[str]) -> float:
    """How long Asterisk takes to play these prompts (the built WAV files' durations)."""
    total = 0.0
    for prompt in prompts:
        with wave.open(str(sounds / f"{prompt}.wav")) as wav:
            total += wav.getnframes() / wav.getframerate()
    return total


@dataclass
class SippRun:
    """One SIPp process; ``wait()`` is its exit code (0: every call as the scenario says)."""

    process: subprocess.Popen[bytes]
    log: Path

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_sipp(
    ns: NetNamespace,
    scenario_file: Path,
    *,
    address: str,
    port: int,
    media_port: int,
    service: str,
    remote: str,
    workdir: Path,
    extra: Iterable[str] = (),
) -> SippRun:
    """A SIPp process inside the namespace; its screen and errors go to ``workdir``."""
    stem = f"{scenario_file.stem}-{port}"
    log = workdir / f"{stem}.log"
    argv = [
        "sipp",
        remote,
        "-sf", str(scenario_file),
        "-i", address,
        "-p", str(port),
        "-mi", address,
        "-mp", str(media_port),
        "-s", service,
        "-nostdin",
        "-trace_err",
        "-error_file", str(workdir / f"{stem}-errors.log"),
        *extra,
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            ns.command(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd=workdir,
        )  # fmt: skip
    return SippRun(process, log)


def errors_of(run: SippRun) -> str:
    """What SIPp said went wrong (its error file and the end of its screen)."""
    found = sorted(run.log.parent.glob(f"{run.log.stem}-errors*.log"))
    text = "".join(path.read_text(errors="replace") for path in found)
    return (text[-3000:] + "\n" + run.output()[-1500:]).strip()
