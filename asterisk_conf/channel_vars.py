"""The channel-variable contract between the dialplan, the IVR and the call tracker.

The IVR sets these on the caller's channel (FastAGI ``SET VARIABLE``); the rendered dialplan
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
    "HOTLINE_CHOICE", "the menu choice: a digit, 'timeout' or 'invalid'", "1"
)
PRIORITY = ChannelVar("HOTLINE_PRIORITY", "queue priority (higher is served first)", "0")

CONTRACT: tuple[ChannelVar, ...] = (QUEUE, CHOICE, PRIORITY)
NAMES: frozenset[str] = frozenset(var.name for var in CONTRACT)
