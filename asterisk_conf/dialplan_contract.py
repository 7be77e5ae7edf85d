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
