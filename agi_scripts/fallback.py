"""The degraded path: route a call when the FastAGI IVR service cannot.

Run by the dialplan as a classic AGI script (agi_scripts/hotline_fallback.py) when the IVR
answered AGISTATUS=FAILURE or gave no queue. Plays the cached greeting sounds and the active
announcements, then sends the caller to the general queue with HOTLINE_CHOICE=fallback.
The routing variables are set even if the caller hung up meanwhile (SET VARIABLE works on a
dead channel) so the call record still says how the call was routed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from asterisk.agi import AGIAppError, AGIError, AGIHangup

from agi_scripts.announcements import load_active
from agi_scripts.pyst_edge import AGIUnsafeCommand, HotlineAGI
from asterisk_conf import channel_vars

log = logging.getLogger("hotline_fallback")

DEFAULT_ANNOUNCEMENTS = Path("/var/lib/hotline/announcements.json")
DEFAULT_QUEUE = "hotline-general"
# A caller on the degraded path hears at most this many announcements before queueing.
MAX_ANNOUNCEMENTS = 3


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hotline_fallback.py", description=__doc__)
    parser.add_argument(
        "--announcements",
        type=Path,
        default=Path(os.environ.get("HOTLINE_ANNOUNCEMENTS_FILE", DEFAULT_ANNOUNCEMENTS)),
        help="JSON file of announcements the service refreshes (env HOTLINE_ANNOUNCEMENTS_FILE)",
    )
    parser.add_argument("--queue", default=DEFAULT_QUEUE, help="the general queue")
    parser.add_argument(
        "--greeting", action="append", default=[], help="sound to play first (repeatable)"
    )
    parser.add_argument("--max-announcements", type=int, default=MAX_ANNOUNCEMENTS)
    options, unknown = parser.parse_known_args(argv)
    if unknown:
        # A newer dialplan may pass more; this call must still be routed.
        log.warning("ignoring unknown arguments %s", unknown)
    return options


def play(agi: HotlineAGI, sound: str) -> None:
    """Play one sound; a missing sound is logged and skipped, a hang-up propagates."""
    if agi.gone:
        raise AGIHangup("caller hung up")
    try:
        agi.stream_file(sound)
    except AGIUnsafeCommand as error:
        log.error("sound %r not played: %s", sound, error)  # the next sound may be fine
    except AGIAppError as error:
        if isinstance(error, AGIHangup):
            raise
        # result=-1: the file is missing, or the caller hung up (then HANGUP/511 follows
        # and the next command raises AGIHangup).
        log.warning("could not play %s: %s", sound, error)
    if agi.gone:
        raise AGIHangup("caller hung up during playback")


def route(agi: HotlineAGI, queue: str) -> None:
    agi.set_variable(channel_vars.QUEUE.name, queue)
    agi.set_variable(channel_vars.CHOICE.name, channel_vars.FALLBACK_CHOICE)
    agi.set_variable(channel_vars.PRIORITY.name, "0")


def run(agi: HotlineAGI, options: argparse.Namespace, now: datetime) -> None:
    try:
        agi.answer()
        announcements = load_active(options.announcements, now)[: options.max_announcements]
        for sound in [*options.greeting, *(a.sound for a in announcements)]:
            play(agi, sound)
    except AGIHangup as error:
        log.info("caller gone before routing (%s): still recording the route", error)
    except AGIError as error:
        log.error("AGI error before routing (%s): routing anyway", error)
    except Exception:
        # Whatever broke while greeting the caller, the route below must still be set.
        log.exception("unexpected error before routing: routing anyway")
    try:
        route(agi, options.queue)
    except AGIHangup as error:
        log.warning("could not set the route on the dead channel: %s", error)
    except AGIError as error:
        log.error("could not set the route (%s): the dialplan falls back to its default", error)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="hotline_fallback: %(levelname)s %(message)s"
    )
    options = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        agi = HotlineAGI()
    except OSError as error:
        log.error("no AGI session on stdin: %s", error)
        return 1
    run(agi, options, datetime.now(UTC))
    return 0
