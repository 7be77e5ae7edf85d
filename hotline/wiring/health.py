"""/healthz: the board each capability adds its probe to as it starts.

The web app gets the board itself (a ``HealthCheck`` callable), so what /healthz reports is
state owned by the objects that run — the AMI links, the writer, the bus, the IVR and its
calendar, the MQTT bridge — never module globals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Probe = Callable[[], Mapping[str, Any] | None]
ManyProbe = Callable[[], Mapping[str, Mapping[str, Any]]]


class HealthBoard:
    """``board()`` → ``{component: {"ok": …, …}}`` from every probe added so far, in order."""

    def __init__(self) -> None:
        self._probes: list[tuple[str | None, Callable[[], Any]]] = []

    def add(self, name: str, probe: Probe) -> None:
        """One component; a probe answering None is left out (not running, nothing to say)."""
        self._probes.append((name, probe))

    def add_many(self, probe: ManyProbe) -> None:
        """A capability that reports several components (the IVR: ivr, calendar, incidents…)."""
        self._probes.append((None, probe))

    def __call__(self) -> dict[str, Any]:
        components: dict[str, Any] = {}
        for name, probe in self._probes:
            answer = probe()
            if answer is None:
                continue
            if name is None:
                components.update(answer)
            else:
                components[name] = dict(answer)
        return components
