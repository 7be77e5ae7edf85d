"""Simulated channels and the AMI field blocks Asterisk 22 prints for them.

Every channel-bearing AMI event carries the same 14-field block (``Channel`` … ``Linkedid``),
possibly prefixed (``Dest…``, ``LocalOne…``); building it from one place keeps the simulator's
shapes identical to the captures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STATE_DESC: dict[int, str] = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}

DOWN, RING, RINGING, UP = 0, 4, 5, 6

UNKNOWN = "<unknown>"


@dataclass(slots=True)
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    created: float
    state: int = DOWN
    priority: int = 1
    cid_num: str = UNKNOWN
    cid_name: str = UNKNOWN
    conn_num: str = UNKNOWN
    conn_name: str = UNKNOWN
    language: str = "en"
    accountcode: str = ""
    answered: float | None = None
    # What CoreShowChannels reports as Application/ApplicationData.
    app: str = ""
    appdata: str = ""
    bridge_id: str = ""
    alive: bool = True
    # The robot half of a Local pair that a PJSIP call does not have: never on the wire.
    ghost: bool = False
    cdr_segments: list[tuple[float, float]] = field(default_factory=list)
    # The channel's variables as its VarSet events set them (what AMI Getvar reads).
    variables: dict[str, str] = field(default_factory=dict)

    def set_callerid(self, num: str, name: str) -> None:
        self.cid_num, self.cid_name = num, name
        self.conn_num, self.conn_name = num, name


_FIELDS = (
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
)
_PREFIXED: dict[str, tuple[str, ...]] = {"": _FIELDS}


def channel_block(ch: Channel, prefix: str = "") -> list[tuple[str, str]]:
    """The channel snapshot block, in Asterisk's field order."""
    keys = _PREFIXED.get(prefix)
    if keys is None:
        keys = _PREFIXED[prefix] = tuple(prefix + k for k in _FIELDS)
    return list(
        zip(
            keys,
            (
                ch.name,
                str(ch.state),
                STATE_DESC.get(ch.state, "Unknown"),
                ch.cid_num,
                ch.cid_name,
                ch.conn_num,
                ch.conn_name,
                ch.language,
                ch.accountcode,
                ch.context,
                ch.exten,
                str(ch.priority),
                ch.uniqueid,
                ch.linkedid,
            ),
            strict=True,
        )
    )


def bridge_block(bridge_id: str, num_channels: int) -> list[tuple[str, str]]:
    return [
        ("BridgeUniqueid", bridge_id),
        ("BridgeType", "basic"),
        ("BridgeTechnology", "simple_bridge"),
        ("BridgeCreator", UNKNOWN),
        ("BridgeName", UNKNOWN),
        ("BridgeNumChannels", str(num_channels)),
        ("BridgeVideoSourceMode", "none"),
    ]
