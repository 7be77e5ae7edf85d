"""Sound names played outside the menu tree, shared by the dialplan, the service and the menu.

The rendered dialplan plays these itself (callback and rejected paths), and the service falls
back to ``INCIDENT_GENERIC`` when an incident's own announcement cannot be built. Each must be a
prompt of the menu's ``[prompts]`` table so ``hotline prompts build`` makes it in the hotline's
language: Asterisk's stock English sounds (vm-intro, all-circuits-busy-now…) are not used.
"""

from __future__ import annotations

# Before the caller records a message for a callback (queue timed out or emptied).
CALLBACK_INTRO = "hotline/callback-intro"
# After that message.
CALLBACK_GOODBYE = "hotline/callback-goodbye"
# The queue refused the caller (no agent logged in, full, or unknown to Asterisk).
ALL_BUSY = "hotline/all-busy"
# Before anything else, when calls are recorded (pbx.record_calls): 通话将被录音.
RECORDING_NOTICE = "hotline/recording-notice"
# An incident whose own announcement could not be synthesised.
INCIDENT_GENERIC = "hotline/incident-generic"

# What app_queue says to a waiting caller when a queue announces position or hold time
# (pbx.queues' announce_*): its queues.conf sound options name these instead of Asterisk's
# stock English queue-* files; option → sound.
QUEUE_ANNOUNCE: dict[str, str] = {
    "queue-youarenext": "hotline/queue-youarenext",
    "queue-thereare": "hotline/queue-thereare",
    "queue-callswaiting": "hotline/queue-callswaiting",
    "queue-holdtime": "hotline/queue-holdtime",
    "queue-minutes": "hotline/queue-minutes",
    "queue-minute": "hotline/queue-minutes",
    "queue-seconds": "hotline/queue-seconds",
    "queue-thankyou": "hotline/queue-thankyou",
}
# The numbers in between are said by Asterisk (ast_say_number, main/say.c) from digits/N in
# the channel's language; for Chinese (and Cantonese, which says them the same way): 0-19,
# the tens, hundred, thousand and wan (万). Positions and minutes stay well below.
DIGITS: tuple[str, ...] = (
    *(f"digits/{n}" for n in range(20)),
    *(f"digits/{n}" for n in range(20, 100, 10)),
    "digits/hundred",
    "digits/thousand",
    "digits/wan",
)

DIALPLAN: dict[str, str] = {
    "callback_intro": CALLBACK_INTRO,
    "callback_goodbye": CALLBACK_GOODBYE,
    "all_busy": ALL_BUSY,
    "recording_notice": RECORDING_NOTICE,
}
# Every sound the service needs besides the menu's own and pbx.fallback_prompts.
SERVICE: tuple[str, ...] = (*DIALPLAN.values(), INCIDENT_GENERIC)
# Needed besides when a queue announces position or hold time (the shipped menu has them all).
QUEUE_SOUNDS: tuple[str, ...] = (*dict.fromkeys(QUEUE_ANNOUNCE.values()), *DIGITS)
