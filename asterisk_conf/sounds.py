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

DIALPLAN: dict[str, str] = {
    "callback_intro": CALLBACK_INTRO,
    "callback_goodbye": CALLBACK_GOODBYE,
    "all_busy": ALL_BUSY,
    "recording_notice": RECORDING_NOTICE,
}
# Every sound the service needs besides the menu's own and pbx.fallback_prompts.
SERVICE: tuple[str, ...] = (*DIALPLAN.values(), INCIDENT_GENERIC)
