from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agi_scripts.announcements import Announcement, load_active, write_announcements

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_written_file_reads_back_filtered_by_time(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "announcements.json"
    items = [
        Announcement("a", "hotline/incidents/a", NOW - timedelta(hours=1), None),
        Announcement("b", "/var/lib/hotline/sounds/b", None, NOW + timedelta(minutes=1)),
        Announcement("c", "hotline/incidents/c", None, NOW),  # ended exactly now
        Announcement("d", "hotline/incidents/d", NOW + timedelta(seconds=1), None),
    ]
    write_announcements(path, items, NOW)
    assert [a.id for a in load_active(path, NOW)] == ["a", "b"]
    assert load_active(path, NOW + timedelta(hours=1)) == [items[0], items[3]]
    assert json.loads(path.read_text("utf-8"))["updated_at"] == NOW.isoformat()
    assert [p.name for p in path.parent.iterdir()] == ["announcements.json"]


def test_refuses_to_write_what_the_script_would_skip(tmp_path: Path) -> None:
    path = tmp_path / "announcements.json"
    with pytest.raises(ValueError, match="is not a sound name"):
        write_announcements(path, [Announcement("x", "sound with space")], NOW)
    assert not path.exists()


def test_bad_entries_are_skipped_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "announcements.json"
    path.write_text(
        json.dumps(
            {
                "announcements": [
                    {"id": "naive", "sound": "s/a", "starts_at": "2026-11-25T07:00:00"},
                    {"id": "", "sound": "s/b"},
                    "text",
                    {"id": "when", "sound": "s/c", "ends_at": 5},
                    {"id": "dots", "sound": "s/../../x"},
                    {"id": "ok", "sound": "s/ok"},
                ]
            }
        ),
        "utf-8",
    )
    with caplog.at_level(logging.ERROR):
        assert [a.id for a in load_active(path, NOW)] == ["ok"]
    skipped = [r.getMessage() for r in caplog.records]
    assert len(skipped) == 5
    assert "must carry a UTC offset" in skipped[0]
