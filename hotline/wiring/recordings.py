"""Recordings: the retention job of ``[recordings]`` over the configured recordings
directories, logging into the store's access log."""

from __future__ import annotations

from hotline.recording_files import RecordingFiles
from hotline.recording_retention import RetentionJob
from hotline.settings import Settings
from ticketing.store import TicketStore


def start_retention(store: TicketStore, settings: Settings) -> RetentionJob | None:
    """The retention job, started; None when recordings are kept forever (retention_days 0)."""
    recordings = settings.recordings
    if recordings.retention_days == 0:
        return None
    job = RetentionJob(
        RecordingFiles.from_settings(settings),
        recordings.retention_days,
        store.log_access,
        interval_s=recordings.retention_interval_s,
    )
    job.start()
    return job
