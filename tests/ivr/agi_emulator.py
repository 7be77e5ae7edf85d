"""A test-side Asterisk that dials into a FastAGI server the way Asterisk 22 does.

It speaks exactly what the captures' agi.jsonl show: the ``agi_*`` environment, a blank line,
then one reply per command (``200 result=0``, ``200 result=0 endpos=11360``,
``200 result= (timeout)``, ``200 result=1``…); a caller hanging up during a command gets
``200 result=-1`` then the line ``HANGUP``; commands on the dead channel get ``511``; a sound
that does not exist gets ``200 result=-1 endpos=0`` (STREAM FILE) or ``200 result=-1`` (GET DATA)
with the channel still alive — no ``HANGUP`` follows.
``hotline/sim`` also dials FastAGI, but it plays a whole simulated call; this small client lets
a test script each reply and fault and inspect every command.
"""

from __future__ import annotations

import asyncio
import itertools
import shlex
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from asterisk_conf.agi_args import agi_words, assignments

HANGUP = "<hangup>"  # a scripted key: the caller hangs up during this GET DATA
_ids = itertools.count(1)


@dataclass
class Fault:
    """What goes wrong at the n-th command that starts with ``command`` (n from 1)."""

    command: str
    kind: str  # garbage | vanish | silent | hangup
    nth: int = 1


@dataclass
class CallLog:
    commands: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    # SET VARIABLE names in the order they were set.
    set_order: list[str] = field(default_factory=list)
    hung_up_by_app: bool = False
    caller_hung_up: bool = False
    closed_by_app: bool = False


def environment(
    *,
    script: str,
    uniqueid: str,
    callerid: str,
    name: str = "张三",
    port: int = 4573,
    extra: Sequence[str] = (),
) -> list[str]:
    return [
        "agi_network: yes",
        f"agi_network_script: {script}",
        f"agi_request: agi://127.0.0.1:{port}/{script}",
        "agi_channel: Local/12345@hotline-ivr-00000000;2",
        "agi_language: en",
        "agi_type: Local",
        f"agi_uniqueid: {uniqueid}",
        "agi_version: 22.10.1",
        f"agi_callerid: {callerid}",
        f"agi_calleridname: {name}",
        "agi_callingpres: 0",
        "agi_callingani2: 0",
        "agi_callington: 0",
        "agi_callingtns: 0",
        "agi_dnid: unknown",
        "agi_rdnis: unknown",
        "agi_context: hotline-ivr",
        "agi_extension: 12345",
        "agi_priority: 2",
        "agi_enhanced: 0.0",
        "agi_accountcode: ",
        "agi_threadid: 140641644406464",
        *extra,
    ]


async def call(
    port: int,
    keys: Sequence[str | None] = (),
    *,
    script: str = "ivr",
    callerid: str = "13800138001",
    uniqueid: str | None = None,
    linkedid: str | None = None,
    stream_keys: dict[str, str] | None = None,
    fault: Fault | None = None,
    env_extra: Sequence[str] = (),
    limit: float = 10.0,
    missing: Collection[str] = (),
) -> CallLog:
    """Place one call: ``keys`` answer successive GET DATA commands (digits, None = silence,
    HANGUP = hang up); ``stream_keys`` maps a prompt to a key pressed while it plays;
    ``missing`` names sounds that do not exist on this Asterisk."""
    serial = next(_ids)
    uniqueid = uniqueid or f"1795445409.{2 * serial + 1}"
    linkedid = linkedid or f"1795445409.{2 * serial}"
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    log = CallLog()
    pending = list(keys)
    seen: dict[str, int] = {}
    dead = False

    def send(*lines: str) -> None:
        writer.write("".join(f"{line}\n" for line in lines).encode("utf-8"))

    try:
        send(
            *environment(
                script=script, uniqueid=uniqueid, callerid=callerid, port=port, extra=env_extra
            ),
            "",
        )
        async with asyncio.timeout(limit):
            while True:
                raw = await reader.readline()
                if not raw:
                    log.closed_by_app = True
                    return log
                command = raw.decode("utf-8").rstrip("\n")
                log.commands.append(command)
                verb = " ".join(command.split()[:2])
                if fault is not None and command.startswith(fault.command):
                    seen[fault.command] = seen.get(fault.command, 0) + 1
                    if seen[fault.command] == fault.nth:
                        if fault.kind == "garbage":
                            send("\x00garbage ¿? not agi")
                            continue
                        if fault.kind == "vanish":
                            writer.close()
                            return log
                        if fault.kind == "silent":
                            await reader.read()  # hold the line until the app gives up
                            log.closed_by_app = True
                            return log
                        if fault.kind == "hangup":
                            dead = log.caller_hung_up = True
                            send("200 result=-1", "HANGUP")
                            continue
                if dead:
                    send("511 Command Not Permitted on a dead channel or intercepted channel")
                elif command == "ANSWER":
                    send("200 result=0")
                elif verb == "STREAM FILE" and shlex.split(command)[2] in missing:
                    send("200 result=-1 endpos=0")
                elif verb == "GET DATA" and command.split()[2] in missing:
                    send("200 result=-1")
                elif verb == "STREAM FILE":
                    prompt = shlex.split(command)[2]
                    key = (stream_keys or {}).get(prompt)
                    send(
                        f"200 result={ord(key)} endpos=5120" if key else "200 result=0 endpos=11360"
                    )
                elif verb == "GET DATA":
                    key = pending.pop(0) if pending else None
                    if key == HANGUP:
                        dead = log.caller_hung_up = True
                        send("200 result=-1", "HANGUP")
                    elif key is None:
                        send("200 result= (timeout)")
                    else:
                        send(f"200 result={key}")
                elif verb == "SET VARIABLE":
                    _, _, name, value = agi_words(command)
                    for one, its in assignments(name, value):  # ARRAY(…): several
                        log.variables[one] = its
                        log.set_order.append(one)
                    send("200 result=1")
                elif verb == "GET VARIABLE":
                    name = command.split(" ", 2)[2]
                    send(
                        f"200 result=1 ({linkedid})"
                        if name == "CHANNEL(linkedid)"
                        else "200 result=0"
                    )
                elif verb.split()[0] == "EXEC":  # MixMonitor and the like: started
                    send("200 result=0")
                elif command == "HANGUP":
                    log.hung_up_by_app = True
                    dead = True
                    send("200 result=1")
                else:
                    send("510 Invalid or unknown command")
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass
