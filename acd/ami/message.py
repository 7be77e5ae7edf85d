"""One AMI message: ordered (key, value) pairs, as Asterisk sent them.

Kept deliberately small and cheap: about 44 % of a real stream is VarSet that the tracker drops
after one look at the ``Event`` header, so nothing is decoded into richer objects up front.
"""

from __future__ import annotations

from collections.abc import Iterable


class AmiMessage:
    __slots__ = ("_index", "fields")

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = fields
        self._index: dict[str, str] | None = None

    @classmethod
    def of(cls, *pairs: tuple[str, str], **headers: str) -> AmiMessage:
        return cls([*pairs, *headers.items()])

    @property
    def kind(self) -> str:
        """``event`` or ``response`` (from the first header), else ``unknown``."""
        if not self.fields:
            return "unknown"
        first = self.fields[0][0]
        if first == "Event":
            return "event"
        if first == "Response":
            return "response"
        return "unknown"

    @property
    def name(self) -> str:
        """The event name (``Newchannel``) or the response status (``Success``)."""
        return self.fields[0][1] if self.fields else ""

    @property
    def frame_text(self) -> str | None:
        """The frame exactly as received (CRLF lines, no blank line), if it came off the wire
        and its fields were not changed since; None for a message built from fields."""
        return None

    def _headers(self) -> dict[str, str]:
        index = self._index
        if index is None:
            index = {}
            for key, value in self.fields:
                index.setdefault(key, value)
            self._index = index
        return index

    def get(self, key: str, default: str | None = None) -> str | None:
        """First value of a header (header names are case-sensitive as on the wire)."""
        return self._headers().get(key, default)

    def __getitem__(self, key: str) -> str:
        return self._headers()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._headers()

    def getall(self, key: str) -> list[str]:
        """Every value of a repeated header (``Variable``, ``Output``…), in wire order."""
        return [value for name, value in self.fields if name == key]

    def to_bytes(self) -> bytes:
        """The message as Asterisk frames it: ``Key: value`` lines, CRLF, blank line."""
        body = "".join(f"{key}: {value}\r\n" for key, value in self.fields)
        return (body + "\r\n").encode("utf-8")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AmiMessage) and other.fields == self.fields

    def __hash__(self) -> int:
        return hash(tuple(self.fields))

    def __repr__(self) -> str:
        return f"AmiMessage({self.name!r}, {len(self.fields)} fields)"


def from_pairs(pairs: Iterable[Iterable[str]]) -> AmiMessage:
    """Build a message from ``[[key, value], …]`` as stored in the captures' ami.jsonl."""
    return AmiMessage([(str(k), str(v)) for k, v in pairs])
