"""The recordings retention job on real files in a temporary directory with a fixed clock:
what is older than the setting goes (and is logged), nothing else is touched."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hotline.recording_files import RecordingFiles
from hotline.recording_retention import RetentionJob
from hotline.settings import Settings
from hotline.wiring.recordings import start_retention
from tests.web.recording_helpers import write_wav
from ticketing.store import TicketStore

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


def aged(path: Path, days: float) -> Path:
    when = (NOW - timedelta(days=days)).timestamp()
    os.utime(path, (when, when))
    return path


class AuditLog:
    def __init__(self) -> None:
        self.entries: list[tuple[str, str, str, str | None, dict[str, Any]]] = []

    async def __call__(
        self, actor: str, role: str, action: str, target: str | None, detail: dict[str, Any]
    ) -> None:
        self.entries.append((actor, role, action, target, detail))


def job(roots: list[Path], audit: AuditLog, days: int = 30) -> RetentionJob:
    return RetentionJob(RecordingFiles(roots), days, audit, clock=lambda: NOW)


async def test_expired_recordings_and_messages_go_and_each_is_logged(tmp_path: Path) -> None:
    monitor = tmp_path / "monitor"
    monitor.mkdir()
    old_call = aged(write_wav(monitor / "hotline-1795445510.1.wav", 0.1), 31)
    old_message = aged(write_wav(monitor / "callback-1795445530.1.wav", 0.1), 400)
    fresh = aged(write_wav(monitor / "hotline-1795445520.1.wav", 0.1), 29)
    edge = aged(write_wav(monitor / "hotline-1795445521.1.wav", 0.1), 30)  # exactly 30 days
    other = monitor / "notes.txt"
    other.write_text("not ours")
    aged(other, 999)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = aged(write_wav(elsewhere / "hotline-9.wav", 0.1), 999)
    link = monitor / "hotline-link.wav"
    link.symlink_to(target)
    nested = monitor / "sub"
    nested.mkdir()
    deep = aged(write_wav(nested / "hotline-8.wav", 0.1), 999)
    audit = AuditLog()

    removed = await job([monitor], audit).run_once()

    assert [item.path for item in removed] == [old_message, old_call]  # oldest first
    assert not old_call.exists() and not old_message.exists()
    for kept in (fresh, edge, other, target, link, deep):
        assert kept.exists() or kept.is_symlink(), kept
    assert [(a, r, act, t) for a, r, act, t, _ in audit.entries] == [
        ("retention", "system", "recording.expired", str(old_message)),
        ("retention", "system", "recording.expired", str(old_call)),
    ]
    detail = audit.entries[1][4]
    assert detail["bytes"] > 44 and detail["kept_days"] == 30
    assert detail["modified"] == (NOW - timedelta(days=31)).isoformat()
    # A second run finds nothing more.
    assert await job([monitor], audit).run_once() == []


async def test_an_undeletable_file_is_logged_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monitor = tmp_path / "monitor"
    monitor.mkdir()
    stuck = aged(write_wav(monitor / "hotline-1.wav", 0.1), 99)
    audit = AuditLog()
    (tmp_path / "not-a-folder").write_text("x", "utf-8")
    retention = job([monitor, tmp_path / "not-a-folder", tmp_path / "missing"], audit)
    unlink = Path.unlink

    def refuse(path: Path, missing_ok: bool = False) -> None:
        if path == stuck:
            raise PermissionError(13, "Permission denied", str(path))
        unlink(path, missing_ok)

    # Permissions cannot stop root (the test user here), so the refusal is the OS's error.
    monkeypatch.setattr(Path, "unlink", refuse)
    assert await retention.run_once() == []
    assert stuck.exists() and audit.entries == []
    assert "cannot delete" in caplog.text and "cannot list" in caplog.text
    # A folder nothing has been recorded into yet is no trouble: it is not named.
    assert "missing" not in caplog.text
    monkeypatch.setattr(Path, "unlink", unlink)
    assert [item.path for item in await retention.run_once()] == [stuck]


def test_zero_days_means_keep_forever(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetentionJob(RecordingFiles([tmp_path]), 0, AuditLog())


async def test_the_service_wiring_logs_into_the_access_log(
    tmp_path: Path, store: TicketStore
) -> None:
    monitor = tmp_path / "monitor"
    monitor.mkdir()
    settings = Settings.model_validate(
        {"asterisk": {"recordings_dir": str(monitor)}, "recordings": {"retention_days": 0}}
    )
    assert start_retention(store, settings) is None
    settings.recordings.retention_days = 1
    aged_file = write_wav(monitor / "hotline-7.wav", 0.1)
    three_days_ago = (datetime.now(UTC) - timedelta(days=3)).timestamp()  # the wall clock's
    os.utime(aged_file, (three_days_ago, three_days_ago))
    retention = start_retention(store, settings)
    assert retention is not None
    try:
        await retention.stop()  # the first run may or may not have happened: run one here
        await retention.run_once()
    finally:
        await retention.stop()
    assert not aged_file.exists()
    entries = [e for e in await store.access_log() if e["action"] == "recording.expired"]
    assert [e["target"] for e in entries] == [str(aged_file)]
    assert retention.status()["ok"] is True


@pytest.fixture
async def store(tmp_path: Path) -> Any:
    opened = await TicketStore.open(f"sqlite+aiosqlite:///{tmp_path / 'r.sqlite3'}")
    try:
        yield opened
    finally:
        await opened.close()
