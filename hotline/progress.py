"""A terminal view of the live system for the demo: calls in flight and today's key figures."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from hotline.web.wallboard import STAGES, LiveView, build_snapshot

_STAGE_LABELS = {
    "ivr": "IVR导航 ivr",
    "queued": "排队 queued",
    "ringing": "振铃 ringing",
    "talking": "通话 talking",
}
# The figures the demo shows, in this order.
_FIGURES = ("offered", "answered", "abandoned", "answer_timeliness", "connect_rate")


def _format(figure: dict[str, Any]) -> Text:
    value = figure.get("value")
    if value is None:
        return Text("—", style="dim")
    if figure.get("unit") == "ratio" and isinstance(value, int | float):
        shown = f"{value * 100:.1f} %"
    elif isinstance(value, float):
        shown = f"{value:.1f}"
    else:
        shown = str(value)
    verdict = figure.get("meets_target")
    style = "bold green" if verdict is True else "bold red" if verdict is False else "bold"
    return Text(shown, style=style)


def render_progress(live: LiveView) -> Panel:
    """A rich renderable (for ``rich.live.Live``); caller numbers are masked."""
    snapshot = build_snapshot(live)
    summary = snapshot["summary"]

    calls = Table.grid(padding=(0, 2))
    calls.add_row(Text("进行中 in flight", style="bold"), Text(str(summary["in_flight"]), "bold"))
    for stage in STAGES:
        calls.add_row(_STAGE_LABELS[stage], str(summary["by_stage"].get(stage, 0)))

    figures = Table(show_header=True, header_style="bold", box=None, padding=(0, 2))
    figures.add_column("指标 figure")
    figures.add_column("值 value", justify="right")
    figures.add_column("目标 target", justify="right")
    figures.add_column("= formula", style="dim")
    kpis: dict[str, dict[str, Any]] = snapshot["kpis"]
    for name in _FIGURES:
        figure = kpis.get(name)
        if figure is None:
            continue
        target = figure.get("target")
        op = "≤" if figure.get("target_op") == "<=" else "≥"
        target_text = (
            ""
            if target is None
            else f"{op} {target * 100:.0f} %"
            if (figure.get("unit") == "ratio")
            else f"{op} {target}"
        )
        fraction = (
            f"{figure['numerator']} ÷ {figure['denominator']}"
            if figure.get("numerator") is not None and figure.get("denominator") is not None
            else ""
        )
        figures.add_row(
            f"{figure['label_zh']} {figure['label_en']}",
            _format(figure),
            target_text,
            fraction,
        )
    parts: list[Any] = [calls, Text(""), figures]
    if snapshot["errors"]:
        parts.append(Text(f"live view problems: {snapshot['errors']}", style="red"))
    return Panel(Group(*parts), title="12345 热线 hotline — live", border_style="cyan")
