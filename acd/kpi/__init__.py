"""The call KPI engine: pure functions from call records to figures with their formulas.

How legs count: a call transferred to another queue has one record per queue leg.
Hotline-wide, hourly and daily figures count the call once (offered once; answered if any
agent answered it; its wait is the wait until the first answer). Per-queue figures count legs
(each queue was offered the call); per-agent figures count the legs the agent answered.
See acd/kpi/figures.py for every definition.
"""

from acd.kpi.figures import Figure, FigureSet, figures, figures_json
from acd.kpi.legs import Rejected
from acd.kpi.live import LiveKpi
from acd.kpi.params import KpiParams
from acd.kpi.report import Exclusions, KpiReport, compute
from acd.kpi.tally import Tally
from acd.kpi.windows import ExclusionWindow, day_key, hour_key

__all__ = [
    "ExclusionWindow",
    "Exclusions",
    "Figure",
    "FigureSet",
    "KpiParams",
    "KpiReport",
    "LiveKpi",
    "Rejected",
    "Tally",
    "compute",
    "day_key",
    "figures",
    "figures_json",
    "hour_key",
]
