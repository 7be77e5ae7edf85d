"""The channel-variable contract between the dialplan, the IVR and the call tracker.

The IVR sets these on the caller's channel (FastAGI ``SET VARIABLE``, several at once as
``SET VARIABLE ARRAY(…)``: the same VarSet events, one round trip); the rendered dialplan
reads them (``Queue(${HOTLINE_QUEUE},…)``); the AMI call tracker sees them as ``VarSet`` events.
The names the real captures use (HOTLINE_QUEUE, HOTLINE_CHOICE, HOTLINE_PRIORITY) are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "HOTLINE_"


@dataclass(frozen=True, slots=True)
class ChannelVar:
    name: str
    meaning: str
    example: str


QUEUE = ChannelVar("HOTLINE_QUEUE", "app_queue queue the caller is sent to", "hotline-general")
CHOICE = ChannelVar(
    "HOTLINE_CHOICE",
    "why the caller is routed: the keys that chose (one digit '1' or several '21', the agent "
    "key '0'), or the menu's own choice for that route; 'timeout' / 'invalid' (no valid key "
    "after the retries); 'none' (routed without a key); 'emergency-110|119|120|all'; "
    "'too-many-steps' (menu walk cut short); 'night-loop' (night destinations in a loop); "
    "'error' (IVR failed, safe defaults); 'fallback' (degraded path, no IVR); 'blocked' "
    "(a blocklisted number: notice, recorded, hung up)",
    "1",
)
# The fixed HOTLINE_CHOICE values besides keys and the menu's own choices.
CHOICE_VALUES: tuple[str, ...] = (
    "timeout",
    "invalid",
    "none",
    "emergency-110",
    "emergency-119",
    "emergency-120",
    "emergency-all",
    "too-many-steps",
    "night-loop",
    "error",
    "fallback",
    "blocked",
)
PRIORITY = ChannelVar("HOTLINE_PRIORITY", "queue priority (higher is served first)", "0")

CONTRACT: tuple[ChannelVar, ...] = (QUEUE, CHOICE, PRIORITY)
NAMES: frozenset[str] = frozenset(var.name for var in CONTRACT)

# Set by the IVR for the call tracker (seen as AMI VarSet) and the survey; the dialplan does not
# read them, so they stay out of CONTRACT (which dialplan_contract checks both ways). They are
# the only way the IVR's outcome reaches a call record: the IVR may run in another process or
# on another machine, and what it decided travels with the call. The IVR sets each as soon as
# it is known (not at the end), so a caller hanging up mid-menu still leaves the path so far.
PATH = ChannelVar(
    "HOTLINE_PATH", "menu nodes the caller walked, comma-separated, in order", "welcome,main"
)
LANGUAGE = ChannelVar("HOTLINE_LANGUAGE", "language of the menu the caller heard", "zh")
DIGITS = ChannelVar(
    "HOTLINE_DIGITS",
    "every key the IVR received, in order (the record's ivr_digits when AMI saw no DTMF)",
    "11",
)
CALLBACK = ChannelVar("HOTLINE_CALLBACK", "1 when the caller asked for a callback in the IVR", "1")
INCIDENT = ChannelVar("HOTLINE_INCIDENT", "incident the caller registered against (并单)", "inc-7")
SURVEY = ChannelVar(
    "HOTLINE_SURVEY",
    "survey answer: satisfied, basically_satisfied, dissatisfied or none",
    "satisfied",
)
CATEGORY = ChannelVar(
    "HOTLINE_CATEGORY",
    "ticket category of the caller's request, from the menu's own choice definition "
    "(its `category`); the ticket is filed under it",
    "complaint",
)
# The ticket categories a menu may name (ticketing.models.TICKET_CATEGORIES, held equal by
# tests/ivr/test_categories.py: ivr and ticketing do not import each other).
CATEGORY_VALUES: tuple[str, ...] = (
    "consultation",
    "help",
    "complaint",
    "report",
    "suggestion",
    "praise",
    "other",
)
BLOCKED = ChannelVar(
    "HOTLINE_BLOCKED",
    "the blocklist entry (its id) that turned a nuisance caller away: notice, recorded, hung up",
    "17",
)
IVR_INFO: tuple[ChannelVar, ...] = (
    PATH,
    LANGUAGE,
    DIGITS,
    CATEGORY,
    CALLBACK,
    INCIDENT,
    SURVEY,
    BLOCKED,
)
# Every HOTLINE_* name there is: a dialplan may read any of them, and nothing else.
ALL_NAMES: frozenset[str] = NAMES | frozenset(var.name for var in IVR_INFO)
# HOTLINE_PATH joins node ids with this (menu node ids are TOML keys without commas).
PATH_SEPARATOR = ","

# HOTLINE_CHOICE set by the degraded path (agi_scripts/hotline_fallback.py): no menu was walked.
FALLBACK_CHOICE = "fallback"


def by_key() -> dict[str, ChannelVar]:
    """The contract keyed by the constant's name (``QUEUE`` -> HOTLINE_QUEUE), for templates."""
    return {"QUEUE": QUEUE, "CHOICE": CHOICE, "PRIORITY": PRIORITY}


# What the IVR decided, copied by the dialplan into the CDR's userfield before Queue() (and
# logged by cdr_csv with loguserfield = yes): it outlives an outage of AMI or of the service,
# so a call rebuilt from queue_log and the CDR keeps its route and menu walk. The path goes
# last: Asterisk keeps 255 characters of a userfield, and the reader drops a cut-off pair.
CDR_USERFIELD: tuple[ChannelVar, ...] = (
    CHOICE,
    PRIORITY,
    DIGITS,
    LANGUAGE,
    CATEGORY,
    CALLBACK,
    INCIDENT,
    PATH,
)
USERFIELD_SEPARATOR = "&"
# The recording MixMonitor writes for a call (the dialplan's MixMonitor(hotline-${UNIQUEID}.wav)
# in astspooldir/monitor): how a call whose MixMonitor started unseen finds its file.
RECORDING_NAME = "hotline-{uniqueid}.wav"
# The message a caller leaves at the dialplan's callback step (its Record() in the same folder):
# how a callback request rebuilt from queue_log (CALLBACKREQ) finds what to call back about.
CALLBACK_MESSAGE_NAME = "callback-{uniqueid}.wav"


def cdr_userfield() -> str:
    """The dialplan expression of the CDR userfield: ``HOTLINE_CHOICE=${HOTLINE_CHOICE}&…``."""
    return USERFIELD_SEPARATOR.join(f"{var.name}=${{{var.name}}}" for var in CDR_USERFIELD)


def parse_userfield(text: str) -> dict[str, str]:
    """The HOTLINE_* values a CDR userfield carries (empty ones left out); anything else in
    it (another dialplan's userfield, a pair cut at 255 characters) is ignored."""
    names = {var.name: var for var in CDR_USERFIELD}
    values: dict[str, str] = {}
    pairs = text.split(USERFIELD_SEPARATOR)
    full = len(text) < 255
    for index, pair in enumerate(pairs):
        name, sep, value = pair.partition("=")
        if not sep or name not in names or not value:
            continue
        if not full and index == len(pairs) - 1:
            continue  # may have been cut
        values[name] = value
    return values
