"""The monthly briefing's XLSX on a big month: hotline/reports/xlsx.py before and after it
moved to openpyxl's write-only mode, side by side (issue 12: the whole briefing ≤ 10 s).

The report is synthetic but shaped by the project's own code (build.call_section,
case_section_from_counts, unit_scores_from_counts, agent_scores, hot_topics): a 30-day month
(720 hour rows), 3 queues, 400 agents, 30 units, 12 areas, 20 categories, and the drill-down
lists full — 5,000 rows for each of the four call and five case figures (45,000 rows), as
build.report_drills gives them at DRILL_LIMIT. "Before" is xlsx.py as it was at ``--before``
(a commit of main), loaded from ``git show`` into a temporary module; "after" is the
worktree's. Figures only: nothing here asserts a time.

    .venv/bin/python -m bench.report_xlsx
    .venv/bin/python -m bench.report_xlsx --repeats 5 --before <commit>
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl import load_workbook

from acd.kpi import KpiParams
from hotline.reports import build
from hotline.reports.build import CALL_DRILLS, CASE_DRILLS, ReportPolicy
from hotline.reports.xlsx import to_xlsx
from ticketing.reports import DRILL_LIMIT, ReportFilter

# The last commit of main with the normal-mode writer (rows counted, one sheet per group).
BEFORE = "9a83027"
ROOT = Path(__file__).resolve().parent.parent
TALLY = (
    "offered", "answered", "answered_within", "abandoned", "short_abandons", "timeouts",
    "join_rejections", "ivr_hangups", "transfers", "handlings", "ring_no_answer",
    "satisfied", "basically_satisfied", "dissatisfied", "survey_none", "deflected",
)  # fmt: skip


def _tally_row(rnd: random.Random, units_name: str, units: int) -> dict[str, Any]:
    answered = int(units * rnd.uniform(0.85, 0.97))
    row: dict[str, Any] = dict.fromkeys(TALLY, 0)
    row.update({
        units_name: units, "offered": units, "answered": answered,
        "answered_within": int(answered * rnd.uniform(0.8, 0.9)), "abandoned": units - answered,
        "short_abandons": (units - answered) // 4, "handlings": answered,
        "satisfied": answered // 2, "basically_satisfied": answered // 5,
        "dissatisfied": answered // 20, "survey_none": answered // 5,
        "answered_wait_s": answered * rnd.uniform(5, 12), "talk_s": answered * 180.0,
        "longest_wait": rnd.uniform(60, 400),
    })  # fmt: skip
    return row


def big_report(seed: int = 12) -> tuple[dict[str, Any], dict[str, Any]]:
    """(report, drills) of a busy 30-day month, every drill-down list at DRILL_LIMIT."""
    rnd = random.Random(seed)
    params = KpiParams()
    start = datetime(2025, 10, 31, 16, tzinfo=UTC)  # 1 November, Asia/Shanghai
    end = start + timedelta(days=30)
    hours = [
        {"hour": start + timedelta(hours=h), **_tally_row(rnd, "calls", rnd.randint(200, 2500))}
        for h in range(720)
    ]
    queues = [{"key": f"hotline-{q}", **_tally_row(rnd, "legs", 300_000)} for q in range(3)]
    agents = [{"key": f"PJSIP/{1000 + a}", **_tally_row(rnd, "legs", 2000)} for a in range(400)]
    units = [f"单位{u:02d}" for u in range(30)]
    areas = [f"区域{a:02d}" for a in range(12)]
    categories = [f"类别{c:02d}" for c in range(20)]
    groups = {
        by: [{"key": k, **_tally_row(rnd, "calls", 20_000)} for k in keys]
        for by, keys in (("category", categories), ("area", areas), ("unit", units))
    }
    calls = build.call_section(hours, queues, agents, {"系统故障": 1234}, params, groups)

    def events() -> dict[str, int]:
        n = rnd.randint(5_000, 40_000)
        return {"dispatched": n, "answered": n - 100, "on_time": n - 900, "extended": n // 30,
                "redone": n // 40, "returned": n // 50, "rated": n // 3,
                "satisfied": n // 4, "top": n // 6, "late_returns": n // 500}  # fmt: skip

    def backs() -> dict[str, int]:
        n = rnd.randint(5_000, 40_000)
        return {"done": n, "called_back": n - 500, "rated": n // 2, "satisfied": n // 3,
                "process_rated": n // 2, "process_satisfied": n // 3}  # fmt: skip

    counts = {by: {k: rnd.randint(10_000, 90_000) for k in keys}
              for by, keys in (("category", categories), ("area", areas))}  # fmt: skip
    by_events = {"unit": {u: events() for u in units}, "total": {"": events()},
                 **{by: {k: events() for k in counts[by]} for by in counts}}  # fmt: skip
    by_backs = {"total": {"": backs()}, **{by: {k: backs() for k in counts[by]} for by in counts}}
    cases = build.case_section_from_counts(counts, by_events, by_backs)
    qa = [{"agent": a["key"], "score": rnd.uniform(70, 100), "calls": 12} for a in agents]
    report = {
        "kind": "monthly", "title": "月度简报 monthly briefing", "label": "2025-11",
        "from": start.isoformat(), "to": end.isoformat(),
        "previous": {"from": (start - timedelta(days=31)).isoformat(), "to": start.isoformat()},
        "filter": ReportFilter().to_json(), "params": params.to_json(),
        "generated_at": end.isoformat(), "call_kpis": calls, "case_kpis": cases,
        "unit_scores": build.unit_scores_from_counts(by_events["unit"], ReportPolicy()),
        "agent_scores": build.agent_scores(qa, calls["by_agent"]),
        "hot_topics": {
            "categories": build.hot_topics(counts["category"], {}),
            "areas": build.hot_topics(counts["area"], {}),
        },
    }  # fmt: skip
    drills: dict[str, Any] = {"calls": {}, "cases": {}}
    for label in CALL_DRILLS.values():
        drills["calls"][label] = [
            {"pbx": "pbx-a", "uniqueid": f"1761926400.{i}", "linkedid": f"1761926400.{i}",
             "at": (start + timedelta(seconds=500 * i)).isoformat(),
             "caller_num": f"139****{i % 10_000:04d}", "queue": "hotline-0",
             "outcome": "abandoned", "wait_s": rnd.randint(0, 300), "survey": None}
            for i in range(DRILL_LIMIT)
        ]  # fmt: skip
    for label in CASE_DRILLS:
        drills["cases"][label] = [
            {"id": i, "number": f"12345-20251101-{i:06d}", "category": rnd.choice(categories),
             "area": rnd.choice(areas), "unit": rnd.choice(units), "status": "archived",
             "created_at": (start + timedelta(seconds=500 * i)).isoformat(),
             "caller_num": f"139****{i % 10_000:04d}"}
            for i in range(DRILL_LIMIT)
        ]  # fmt: skip
    return report, drills


def old_writer(commit: str) -> Callable[..., bytes]:
    """to_xlsx as it was at ``commit`` (git show into a temporary module)."""
    source = subprocess.run(
        ["git", "show", f"{commit}:hotline/reports/xlsx.py"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="xlsx-before-") as folder:  # gone once loaded
        path = Path(folder) / "xlsx_before.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("xlsx_before", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module.to_xlsx


def differences(before: bytes, after: bytes) -> list[str]:
    """Where two workbooks differ in what a reader sees: sheets and their order, each cell's
    value, type, number format and font, freeze panes, column widths (empty if none)."""
    books = [load_workbook(io.BytesIO(data)) for data in (before, after)]
    if books[0].sheetnames != books[1].sheetnames:
        return [f"sheets {books[0].sheetnames} != {books[1].sheetnames}"]
    out = []
    for name in books[0].sheetnames:
        sheets = [book[name] for book in books]
        seen = [
            {(c.coordinate, c.value, c.data_type, c.number_format, c.font.b, c.font.sz)
             for row in sheet.iter_rows() for c in row if c.value is not None}
            for sheet in sheets
        ]  # fmt: skip
        for got in sorted(seen[0] ^ seen[1], key=str)[:5]:
            out.append(f"{name}: {'before' if got in seen[0] else 'after'} only {got}")
        panes = [sheet.freeze_panes for sheet in sheets]
        widths = [{k: d.width for k, d in s.column_dimensions.items() if d.customWidth}
                  for s in sheets]  # fmt: skip
        if panes[0] != panes[1] or widths[0] != widths[1]:
            out.append(f"{name}: freeze panes {panes}, column widths {widths}")
    return out


def _time(write: Callable[..., bytes], report: Any, drills: Any) -> tuple[float, float]:
    """(wall, CPU) seconds of one write: CPU time is the steadier figure on a shared host."""
    wall, cpu = time.perf_counter(), time.process_time()
    write(report, drills)
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="commit of the old xlsx.py")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    report, drills = big_report()
    rows = sum(len(r) for part in drills.values() for r in part.values())
    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"{len(report['call_kpis']['by_hour'])} hour rows, {rows} drill rows")  # fmt: skip
    writers = {"before": old_writer(args.before), "after": to_xlsx}
    sizes = {name: len(write(report, drills)) for name, write in writers.items()}  # warm-up
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in writers}
    for _ in range(args.repeats):  # interleaved: a burst of load hits both alike
        for name, write in writers.items():
            runs[name].append(_time(write, report, drills))
    print(f"openpyxl {openpyxl.__version__}, lxml {'yes' if openpyxl.LXML else 'no'}, "
          f"median of {args.repeats}, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    for name, times in runs.items():
        where = args.before if name == "before" else "worktree"
        wall = statistics.median(t[0] for t in times)
        cpu = statistics.median(t[1] for t in times)
        print(f"{name:>6} ({where}): {wall:.2f} s wall, {cpu:.2f} s CPU, "
              f"{sizes[name] / 1e6:.1f} MB")  # fmt: skip
    same = differences(old_writer(args.before)(report, drills), to_xlsx(report, drills))
    print("same cells, types, formats, fonts, panes and widths:", "yes" if not same else "NO")
    for line in same:
        print("  ", line)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
