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
