"""/healthz reads the objects that run, through the board they add their probes to."""

from __future__ import annotations

from typing import Any

from hotline.web.app import health_report
from hotline.wiring.health import HealthBoard


def test_the_board_reports_what_was_added_and_only_that() -> None:
    board = HealthBoard()
    assert board() == {}
    state: dict[str, Any] = {"connected": True}
    board.add("ami", lambda: {**state, "ok": state["connected"]})
    board.add("mqtt", lambda: None)  # nothing to say: left out
    board.add_many(lambda: {"ivr": {"ok": True, "port": 4573}, "calendar": {"ok": True}})
    assert board() == {
        "ami": {"connected": True, "ok": True},
        "ivr": {"ok": True, "port": 4573},
        "calendar": {"ok": True},
    }
    # Read at every request: a link that drops shows at once, and fails the report.
    state["connected"] = False
    healthy, body = health_report(board)
    assert not healthy
    assert body["components"]["ami"]["ok"] is False
