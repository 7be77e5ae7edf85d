"""The duplicate window: equal stamped events are one event; distinct events that share a
microsecond are both kept; the window forgets the oldest first."""

from __future__ import annotations

from acd.tracker.duplicates import RecentEvents


def _event(stamp: str, member: str) -> list[tuple[str, str]]:
    return [("Event", "QueueMemberStatus"), ("Timestamp", stamp), ("MemberName", member)]


def test_a_copy_is_seen_and_a_sibling_of_the_same_microsecond_is_not() -> None:
    recent = RecentEvents()
    assert recent.first_time("1.000001", _event("1.000001", "a"))
    assert recent.first_time("1.000001", _event("1.000001", "b"))
    assert recent.first_time("1.000001", _event("1.000001", "c"))
    assert not recent.first_time("1.000001", _event("1.000001", "a"))
    assert not recent.first_time("1.000001", _event("1.000001", "c"))


def test_the_window_forgets_the_oldest_event_first() -> None:
    recent = RecentEvents(size=3)
    for member in "abc":
        assert recent.first_time("7.0", _event("7.0", member))
    assert recent.first_time("8.0", _event("8.0", "d"))  # "a" leaves the window
    assert recent.first_time("7.0", _event("7.0", "a"))
    assert not recent.first_time("7.0", _event("7.0", "c"))
    assert not recent.first_time("8.0", _event("8.0", "d"))


def test_a_frame_text_and_its_headers_are_one_event() -> None:
    # Off the wire the window keeps the frame's text; equal headers are a copy whatever the
    # form (a frame, a message built from fields) or the spacing after the colon.
    text = "Event: QueueMemberStatus\r\nTimestamp: 9.000001\r\nMemberName: a"
    recent = RecentEvents()
    assert recent.first_time("9.000001", text)
    assert not recent.first_time("9.000001", _event("9.000001", "a"))
    assert not recent.first_time("9.000001", text.replace(": ", ":"))
    assert recent.first_time("9.000001", text.replace("MemberName: a", "MemberName: b"))
    assert not recent.first_time("9.000001", _event("9.000001", "b"))
