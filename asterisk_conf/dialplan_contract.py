"""Check a dialplan's HOTLINE_* variables against the channel-variable contract."""

from __future__ import annotations

import re

from asterisk_conf.channel_vars import ALL_NAMES, NAMES, PREFIX

# A HOTLINE_ name as the dialplan reads (${HOTLINE_X}) or writes (Set(HOTLINE_X=…)) it.
_NAME = re.compile(rf"(?<![A-Za-z0-9_]){PREFIX}[A-Z0-9_]+")


def _code(line: str) -> str:
    # Comments may mention names freely; an escaped "\;" is not a comment.
    return re.split(r"(?<!\\);", line, maxsplit=1)[0]


def hotline_variables(dialplan: str) -> set[str]:
    """Every HOTLINE_* name the dialplan's code (not its comments) uses."""
    return {name for line in dialplan.splitlines() for name in _NAME.findall(_code(line))}


def contract_problems(dialplan: str) -> list[str]:
    """One line per name outside the contract and per contract name the dialplan misses.

    The dialplan must read every name it routes by (CONTRACT); it may read the IVR's report
    (IVR_INFO) too, and nothing else.
    """
    used = hotline_variables(dialplan)
    unknown = [
        f"{name} is not in asterisk_conf/channel_vars.py" for name in sorted(used - ALL_NAMES)
    ]
    missing = [f"{name} is never used by the dialplan" for name in sorted(NAMES - used)]
    return unknown + missing


# ---- The outbound route (回访): where agents and the callback list call citizens ----
# Rendered only when the carrier trunk has a host (pbx.trunk_host). Softphones reach it from
# their own context ([hotline-agents] includes it) by dialling pbx.outbound_prefix + the
# citizen's number; the prefix is removed before the call leaves through the trunk, and the
# citizen sees pbx.outbound_caller_id (default: the hotline number).
OUTBOUND_CONTEXT = "hotline-outbound"


def callback_originate(
    agent_interface: str, citizen_number: str, outbound_prefix: str
) -> dict[str, str]:
    """The AMI Originate fields of a call-back from the callback list.

    Asterisk first rings the agent (``agent_interface``, e.g. ``PJSIP/1001``), showing the
    citizen's number; once the agent answers, the agent's channel runs the outbound route,
    which dials the citizen through the trunk. The AMI user needs the ``originate`` write class
    (manager.conf as rendered has it).
    """
    if not citizen_number.isdigit():
        raise ValueError(f"citizen number {citizen_number!r}: digits only")
    return {
        "Channel": agent_interface,
        "Context": OUTBOUND_CONTEXT,
        "Exten": f"{outbound_prefix}{citizen_number}",
        "Priority": "1",
        "CallerID": f'"回访" <{citizen_number}>',
    }
