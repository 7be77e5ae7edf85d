"""The store's rule for times it is handed: they must carry a time zone."""

from __future__ import annotations

from datetime import datetime


def require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
