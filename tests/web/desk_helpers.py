"""Tracker events as the desk hears them (events.payloads shapes), and a desk client."""

from __future__ import annotations

import time
from typing import Any

from aiohttp.test_utils import TestClient

from events import topics as t

CALLER = "13800138001"


def ids(linkedid: str, at: float, caller: str = CALLER, pbx: str = "pbx1") -> dict[str, Any]:
    return {
        "pbx": pbx,
        "linkedid": linkedid,
        "uniqueid": linkedid,
        "channel": f"PJSIP/trunk-{linkedid}",
        "caller_num": caller,
        "caller_name": "张三",
        "at": at,
    }


def queued(linkedid: str, at: float, caller: str = CALLER) -> tuple[str, dict[str, Any]]:
    return t.CALL_QUEUED, {**ids(linkedid, at, caller), "queue": "hotline-complaint",
                           "position": 1, "priority": 5, "leg": 0}  # fmt: skip


def ringing(
    linkedid: str, at: float, member: str, caller: str = CALLER, pbx: str = "pbx1"
) -> tuple[str, dict[str, Any]]:
    return t.CALL_RINGING, {
        **ids(linkedid, at, caller, pbx),
        "queue": "hotline-complaint",
        "leg": 0,
        "member": member,
        "interface": f"PJSIP/{member}",
        "agent_channel": f"PJSIP/{member}-0001",
        "ivr_digits": "2",
        "ivr_choice": "2",
        "priority": 5,
        "vars": {
            "HOTLINE_PATH": "welcome,main,complaint",
            "HOTLINE_CATEGORY": "complaint",
            "HOTLINE_PRIORITY": "5",
        },
    }


def answered(
    linkedid: str, at: float, member: str, pbx: str = "pbx1"
) -> tuple[str, dict[str, Any]]:
    return t.CALL_ANSWERED, {**ids(linkedid, at, pbx=pbx), "queue": "hotline-complaint", "leg": 0,
                             "member": member, "interface": f"PJSIP/{member}",
                             "agent_channel": f"PJSIP/{member}-0001", "wait_s": 9}  # fmt: skip


def ring_no_answer(linkedid: str, at: float, member: str) -> tuple[str, dict[str, Any]]:
    return t.CALL_RING_NO_ANSWER, {**ids(linkedid, at), "queue": "hotline-complaint", "leg": 0,
                                   "member": member, "interface": f"PJSIP/{member}",
                                   "ring_ms": 15000}  # fmt: skip


def abandoned(linkedid: str, at: float, pbx: str = "pbx1") -> tuple[str, dict[str, Any]]:
    return t.CALL_ABANDONED, {**ids(linkedid, at, pbx=pbx), "queue": "hotline-complaint", "leg": 0,
                              "position": 1, "wait_s": 30}  # fmt: skip


def now() -> float:
    return time.time()


async def next_message(ws: Any, kind: str | None = None, wait_s: float = 5.0) -> dict[str, Any]:
    """The next message (of ``kind``), skipping hellos."""
    while True:
        message: dict[str, Any] = await ws.receive_json(timeout=wait_s)
        if message["type"] == "hello":
            continue
        if kind is None or message["type"] == kind:
            return message


async def desk_socket(client: TestClient[Any, Any], headers: dict[str, str]) -> Any:
    ws = await client.ws_connect("/ws/desk", headers=headers)
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "hello"
    return ws
