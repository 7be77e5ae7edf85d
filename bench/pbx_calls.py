"""Real-PBX call-rate benchmark: what the FastAGI IVR and the service cost Asterisk.

    .venv/bin/python -m bench.pbx_calls [--rates 4,8,16,20,24,28,32,36,40] [--step-seconds 20]

Two private Asterisk 22.10.1 instances (tests/pbx/sip_pbx.py: the project's rendered files,
PJSIP loaded), each inside its own network namespace with only loopback up (``unshare -n``;
tests/pbx/netns.py), both alive for the whole run:

(a) **project**: the rendered dialplan, its FastAGI IVR and the service following AMI
    (``hotline serve``, inside the namespace), as in production;
(b) **bare**: the same rendered pjsip.conf, queues.conf and prompts, but a dialplan with no AGI
    and no AMI client: Answer, Playback of the same recording notice and welcome prompts, Read()
    of the same main menu prompt for one key, MixMonitor (the project records every call too)
    and Queue() of the same queue.

At each rate, first (a) then (b) get the same load: a SIPp carrier on the trunk address places
``rate × step-seconds`` calls at ``rate`` calls/s; each caller presses 1 five seconds into the
main menu (RFC 4733), waits five seconds more (in the queue, no agent: joinempty) and hangs
up. A step is sustained when SIPp saw every call succeed, every call entered the queue before
its caller hung up (a PBX more than 5 s behind the script loses calls) and, in (a), the
service stored every call with IVR choice 1 and outcome abandoned. A failed step is run once
more (the other tenants' load comes in bursts); rising stops per variant at a rate that failed
twice.

Measured per step: the time from the INVITE SIPp sent (its log) to the queue entry (CEL
APP_START of Queue, microseconds, written by the instance's cel_custom), its p50/p99 and the
p99 beyond the scripted part (notice and welcome prompts + 5 s + the key's 0.14 s); the time
from the key SIPp sent to the queue entry (what the IVR's work after a key costs the caller:
the AGI's replies and variables, or Read()'s return); the CPU seconds Asterisk (and in (a) the
service) used per call, from /proc. Printed side by side with the ratios; asserts nothing.
Needs root for ``unshare -n``, SIPp (Debian's sip-tester) and an
Asterisk 22 build (HOTLINE_TEST_ASTERISK or ~/.cache/hotline/asterisk-22.10.1).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import platform
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asterisk_conf.sounds import RECORDING_NOTICE
from hotline.settings import Settings
from ivr.menu import load_menu
from ivr.menu_source import DEFAULT_MENU
from tests.pbx.asterisk import Asterisk, asterisk_prefix, instance_root, wait_until
from tests.pbx.conftest import hotline_cli, pbx_settings
from tests.pbx.netns import NamespaceUnavailable, NetNamespace
from tests.pbx.sip_pbx import (
    AMI_PORT,
    FASTAGI_PORT,
    SIP_PORT,
    ServiceProcess,
    settings_env,
    sip_settings,
    start_service,
    start_sip_asterisk,
    write_sip_instance_files,
)
from tests.pbx.sipp import CARRIER_ADDRESS, key_pcap, prompt_seconds, scenario, start_sipp
from ticketing.store import TicketStore

GOAL_RATIO = 0.9  # the IVR and the service may cost the PBX less than 10 % of its call rate
PRESS_INTO_MENU_S = 5.0
STAY_IN_QUEUE_S = 5.0
KEY_S = 0.14  # dtmf_2833_1.pcap lasts 140 ms
QUEUE = "hotline-general"

# (b): the project's work minus AGI and AMI. Same prompts, same key, same recording, same queue.
BARE_DIALPLAN = """
[general]
static=yes
writeprotect=yes

[globals]

[{context}]
exten => _X.,1,Answer()
 same => n,Playback({notice}&{welcome})
 same => n,Read(KEY,{menu},1,,1,5)
 same => n,MixMonitor(bare-${{UNIQUEID}}.wav,b)
 same => n,Queue({queue},tc,,,60)
 same => n,Hangup()
exten => s,1,Goto({context},{number},1)
"""

# Queue entry times to the microsecond for both variants alike (queue_log has whole seconds).
CEL_CONF = "[general]\nenable = yes\napps = queue\nevents = APP_START\n"
CEL_CUSTOM = "[Master.csv]\nformat = dsv\nfields = EventType,EventTime,Num,AppName\n"


@dataclass
class Variant:
    name: str
    ns: NetNamespace
    ast: Asterisk
    workdir: Path
    database_url: str
    number: str  # the hotline number the carrier's calls dial
    service: ServiceProcess | None = None
    sustained: float = 0.0
    failed_at: float | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def build_sounds(prefix: Path, into: Path) -> Path:
    sounds = into / "sounds"
    sounds.mkdir()
    (sounds / "en").symlink_to(prefix / "var" / "lib" / "asterisk" / "sounds" / "en")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    hotline_cli(["prompts", "build", "--out", str(sounds)], env, sounds)
    return sounds


def start_variant(name: str, prefix: Path, sounds: Path, base: Path) -> Variant:
    workdir = base / name
    workdir.mkdir()
    root = instance_root()
    settings = sip_settings(pbx_settings(root, AMI_PORT, FASTAGI_PORT, workdir), [])
    env = settings_env(settings)
    rendered = workdir / "rendered"
    hotline_cli(["asterisk-conf", "render", "--out", str(rendered)], env, workdir)
    write_sip_instance_files(prefix, root, rendered, sounds)
    etc = root / "etc"
    (etc / "cel.conf").write_text(CEL_CONF)
    (etc / "cel_custom.conf").write_text(CEL_CUSTOM)
    (root / "log" / "cel-custom").mkdir()
    if name == "bare":
        menu = load_menu(DEFAULT_MENU)
        pbx = Settings.model_validate(settings).pbx
        (etc / "extensions.conf").write_text(
            BARE_DIALPLAN.format(
                context=pbx.inbound_context,
                number=pbx.hotline_number,
                notice=RECORDING_NOTICE,
                welcome="&".join(menu.nodes[menu.start].prompts),
                menu=menu.nodes["main"].prompts[-1],
                queue=QUEUE,
            )
        )
    ns = NetNamespace.create()
    try:
        ast = start_sip_asterisk(ns, prefix, root)
    except BaseException:
        ns.close()
        raise
    number = Settings.model_validate(settings).pbx.hotline_number
    variant = Variant(name, ns, ast, workdir, settings["database"]["url"], number)
    if name == "project":
        try:
            variant.service = start_service(ns, ast, env, workdir)
        except BaseException:
            stop_variant(variant)
            raise
    return variant


def stop_variant(variant: Variant) -> None:
    if variant.service is not None:
        variant.service.stop()
    variant.ast.stop()
    variant.ns.close()
    if not os.environ.get("HOTLINE_TEST_KEEP_PBX"):
        shutil.rmtree(variant.ast.root, ignore_errors=True)


def sent_times(log: Path, what: str) -> dict[str, float]:
    """SIPp's ``<what> <caller> <s> <us>`` lines (caller.xml: invite, key) by caller number."""
    times: dict[str, float] = {}
    if log.exists():
        for line in log.read_text().splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[0] == what:
                times[parts[1]] = int(float(parts[2])) + int(float(parts[3])) / 1e6
    return times


def queue_entries(ast: Asterisk) -> dict[str, float]:
    """CEL APP_START of Queue by caller number (EventTime is epoch seconds.microseconds)."""
    path = ast.root / "log" / "cel-custom" / "Master.csv"
    entries: dict[str, float] = {}
    if path.exists():
        with path.open(newline="") as handle:
            for row in csv.reader(handle):
                if len(row) >= 4 and row[0] == "APP_START" and row[3].lower() == "queue":
                    entries.setdefault(row[2], float(row[1]))
    return entries


def sipp_counts(stat_file: Path) -> tuple[int, int]:
    """(successful, failed) calls from SIPp's last statistics line (-trace_stat)."""
    lines = [line.split(";") for line in stat_file.read_text().splitlines() if line]
    header, last = lines[0], lines[-1]
    return int(last[header.index("SuccessfulCall(C)")]), int(last[header.index("FailedCall(C)")])


async def stored_calls(url: str, callers: set[str]) -> list[dict[str, Any]]:
    store = await TicketStore.open(url)
    try:
        records = await store.calls_between(
            datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
        )
    finally:
        await store.close()
    return [r for r in records if r["caller_num"] in callers]


def p(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def run_step(
    variant: Variant, rate: float, step: int, seconds: float, welcome_s: float
) -> dict[str, Any]:
    calls = max(1, round(rate * seconds))
    prefix = f"13{step:02d}0"  # caller numbers 13SS0<n>: unique per instance and step
    press_ms = int((welcome_s + PRESS_INTO_MENU_S) * 1000)
    work = variant.workdir / f"step{step:02d}"
    work.mkdir()
    caller = scenario(
        "caller",
        work,
        caller=prefix + "[call_number]",
        caller_name="bench",
        press_after_ms=press_ms,
        key_pcap=key_pcap("1"),
        hangup_after_ms=int(STAY_IN_QUEUE_S * 1000),
    )
    ast_cpu = cpu_seconds(variant.ast.process.pid)
    svc_cpu = cpu_seconds(variant.service.process.pid) if variant.service else 0.0
    started = time.monotonic()
    run = start_sipp(
        variant.ns,
        caller,
        address=CARRIER_ADDRESS,
        port=5110,
        media_port=6110,
        service=variant.number,
        remote=f"127.0.0.1:{SIP_PORT}",
        workdir=work,
        extra=[
            "-r", f"{rate:g}", "-m", str(calls), "-l", "100000",
            "-recv_timeout", "60000", "-timeout", str(int(seconds + 180)),
            "-trace_logs", "-log_file", str(work / "invites.log"),
            "-trace_stat", "-stf", str(work / "stat.csv"),
        ],
    )  # fmt: skip
    try:
        code = run.wait(seconds + 240)
    finally:
        run.stop()
    elapsed = time.monotonic() - started
    ok, failed = sipp_counts(work / "stat.csv")
    invites = sent_times(work / "invites.log", "invite")
    keys = sent_times(work / "invites.log", "key")
    callers = {c for c in invites if c.startswith(prefix)}
    stored_ok = None
    if variant.service is not None:
        # The service writes a call once it ended; give its writer a moment, bounded.
        def all_stored() -> bool:
            records = asyncio.run(stored_calls(variant.database_url, callers))
            good = [r for r in records if r["ivr_choice"] == "1" and r["outcome"] == "abandoned"]
            nonlocal stored_ok
            stored_ok = len(good)
            return len(good) >= len(callers)

        try:
            wait_until(all_stored, 60, "the service's records")
        except TimeoutError:
            pass
    ast_cpu = cpu_seconds(variant.ast.process.pid) - ast_cpu
    svc_cpu = (cpu_seconds(variant.service.process.pid) - svc_cpu) if variant.service else 0.0
    entries = queue_entries(variant.ast)
    latencies = [entries[c] - invites[c] for c in callers if c in entries]
    # The IVR's own share: from the key (sent) to the queue entry. Scripted part: the key's
    # 140 ms (GET DATA and Read() return when the key ends).
    after_key = [entries[c] - keys[c] for c in callers if c in entries and c in keys]
    scripted = welcome_s + PRESS_INTO_MENU_S + KEY_S
    sustained = (
        code == 0
        and failed == 0
        and ok == calls
        and len(latencies) == calls
        and (stored_ok is None or stored_ok == calls)
    )
    return {
        "variant": variant.name,
        "rate": rate,
        "calls": calls,
        "sipp_exit": code,
        "ok": ok,
        "failed": failed,
        "entered": len(latencies),
        "stored_ok": stored_ok,
        "p50_s": p(latencies, 50),
        "p99_s": p(latencies, 99),
        "p99_excess_s": p(latencies, 99) - scripted,
        "key_p50_ms": 1000 * p(after_key, 50),
        "key_p99_ms": 1000 * p(after_key, 99),
        "asterisk_cpu_ms_per_call": 1000 * ast_cpu / calls,
        "service_cpu_ms_per_call": 1000 * svc_cpu / calls,
        "elapsed_s": elapsed,
        "load": os.getloadavg()[0],
        "sustained": sustained,
    }


def describe_machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return (
        f"{platform.node()} {platform.machine()} {model}, {os.cpu_count()} cores, "
        f"{mem:.0f} GiB, {platform.system()} {platform.release()}, Python "
        f"{platform.python_version()}, load {os.getloadavg()[0]:.1f}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def print_step(s: dict[str, Any]) -> None:
    stored = "" if s["stored_ok"] is None else f" stored {s['stored_ok']}/{s['calls']}"
    print(
        f"  {s['variant']:7} {s['rate']:5g}/s {s['calls']:4} calls: ok {s['ok']} failed "
        f"{s['failed']} entered {s['entered']}{stored} | INVITE→queue p50 {s['p50_s']:.2f} s "
        f"p99 {s['p99_s']:.2f} s (+{s['p99_excess_s']:.2f} s over the script), key→queue p50 "
        f"{s['key_p50_ms']:.0f} ms p99 {s['key_p99_ms']:.0f} ms | Asterisk "
        f"{s['asterisk_cpu_ms_per_call']:.1f} ms CPU/call, service "
        f"{s['service_cpu_ms_per_call']:.1f} | load {s['load']:.1f} | "
        f"{'sustained' if s['sustained'] else 'FAILED'}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rates", default="4,8,16,20,24,28,32,36,40", help="calls/s, rising")
    parser.add_argument("--step-seconds", type=float, default=20)
    args = parser.parse_args()
    # Stopped by a signal (even started in the background, where SIGINT is ignored), the
    # instances, the service and the namespaces are still ended by the finally below.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda number, _frame: sys.exit(128 + number))
    rates = [float(r) for r in args.rates.split(",")]
    prefix = asterisk_prefix()
    if prefix is None or shutil.which("sipp") is None:
        sys.exit("needs an Asterisk 22 build (HOTLINE_TEST_ASTERISK) and SIPp (sip-tester)")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # Asterisk and SIPp inherit it
    print(f"machine: {describe_machine()}")
    base = Path(tempfile.mkdtemp(prefix="pbxbench"))
    sounds = build_sounds(prefix, base)
    menu = load_menu(DEFAULT_MENU)
    # the dialplan's recording notice (通话将被录音), then the IVR's welcome: no key interrupts
    welcome_s = prompt_seconds(sounds, [RECORDING_NOTICE, *menu.nodes[menu.start].prompts])
    print(
        f"each call: INVITE, recording notice and welcome prompts {welcome_s:.1f} s, key 1 at "
        f"+{PRESS_INTO_MENU_S:g} s into the main menu, {STAY_IN_QUEUE_S:g} s in {QUEUE}, hang up"
    )
    variants: list[Variant] = []
    try:
        try:
            for name in ("project", "bare"):
                variants.append(start_variant(name, prefix, sounds, base))
        except NamespaceUnavailable as error:
            sys.exit(str(error))
        steps = iter(range(1, 100))  # numbers each run: its folder and its callers' prefix
        for rate in rates:
            for variant in variants:
                if variant.failed_at is not None:
                    continue
                # A failed step is tried once more: the other tenants' load comes in bursts.
                for _attempt in range(2):
                    result = run_step(variant, rate, next(steps), args.step_seconds, welcome_s)
                    variant.steps.append(result)
                    print_step(result)
                    if result["sustained"]:
                        break
                if result["sustained"]:
                    variant.sustained = rate
                else:
                    variant.failed_at = rate
            if all(v.failed_at is not None for v in variants):
                break
    finally:
        for variant in variants:
            stop_variant(variant)
        if not os.environ.get("HOTLINE_TEST_KEEP_PBX"):
            shutil.rmtree(base, ignore_errors=True)
    summarize(variants)


def summarize(variants: list[Variant]) -> None:
    by_name = {v.name: v for v in variants}
    project, bare = by_name["project"], by_name["bare"]
    print("\nsustained without failures (highest rate tried where none failed):")
    for v in variants:
        last = next((s for s in reversed(v.steps) if s["sustained"]), None)
        where = "" if v.failed_at is None else f", failed at {v.failed_at:g}/s"
        p99 = f", p99 INVITE→queue {last['p99_s']:.2f} s" if last else ""
        print(f"  {v.name:7} {v.sustained:g} calls/s{where}{p99}")
    if bare.sustained:
        ratio = project.sustained / bare.sustained
        verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
        print(f"  rate ratio project/bare {ratio:.2f} (goal ≥ {GOAL_RATIO}: {verdict})")
    both = [
        (a, b)
        for a in project.steps
        for b in bare.steps
        if a["rate"] == b["rate"] and a["sustained"] and b["sustained"]
    ]
    if both:
        a, b = both[-1]
        cpu_ratio = a["asterisk_cpu_ms_per_call"] / b["asterisk_cpu_ms_per_call"]
        print(
            f"  at {a['rate']:g}/s: p99 INVITE→queue {a['p99_s']:.2f} s vs {b['p99_s']:.2f} s; "
            f"Asterisk CPU/call {a['asterisk_cpu_ms_per_call']:.1f} vs "
            f"{b['asterisk_cpu_ms_per_call']:.1f} ms (×{cpu_ratio:.2f}); "
            f"service {a['service_cpu_ms_per_call']:.1f} ms/call"
        )
        host = a["asterisk_cpu_ms_per_call"] + a["service_cpu_ms_per_call"]
        print(
            f"  key→queue p99 {a['key_p99_ms']:.0f} vs {b['key_p99_ms']:.0f} ms; CPU per call on "
            f"one host (Asterisk + service) {host:.1f} vs {b['asterisk_cpu_ms_per_call']:.1f} ms "
            f"(×{host / b['asterisk_cpu_ms_per_call']:.2f})"
        )


if __name__ == "__main__":
    main()
