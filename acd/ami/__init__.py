"""The AMI edge: framing of the byte stream and the supervised link to Asterisk."""

from acd.ami.framing import AmiFramer, iter_messages, parse_frame
from acd.ami.link import (
    AmiActionError,
    AmiActionTimeout,
    AmiConnectionLost,
    AmiError,
    AmiLink,
    AmiLoginError,
    AmiNotConnected,
)
from acd.ami.message import AmiMessage, from_pairs

__all__ = [
    "AmiActionError",
    "AmiActionTimeout",
    "AmiConnectionLost",
    "AmiError",
    "AmiFramer",
    "AmiLink",
    "AmiLoginError",
    "AmiMessage",
    "AmiNotConnected",
    "from_pairs",
    "iter_messages",
    "parse_frame",
]
