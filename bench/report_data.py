"""A big city's year of calls and cases, generated inside PostgreSQL for the report benchmark.

Everything lands in the project's own tables (migrated by ticketing.migrate), the way the
service would have stored it: one call_records row per queue leg (a transfer adds a second
leg), the caller's survey answer, one ticket per call with its 'created' event, and for the
calls an agent registered the case's walk through the workflow (ticketing.workflow.table):
answered directly / referred / invalid / merged, or dispatched → signed → in progress
(→ extension) → answered → called back (→ redo) → archived, with its deadlines, returns and
chases, each step a ticket_events row shaped like the one ticketing.workflow.cases appends.

Speed: the rows are made by the server (generate_series, random()) in one INSERT … SELECT
per table and month; Python only computes the 8,760 hourly call counts (the hour-of-day and
weekday curves, public holidays from working_days, a seasonal swell, a few outage bursts) and
the per-hour mean wait that puts ~85 % of answers within 15 s (longer at the peaks). Rows are
made in time order, as a live system appends them. Foreign-key triggers are skipped for the
session (session_replication_role = replica: the generator makes consistent keys itself and
checking 60 million references one by one would double the load time).

Approximations, deliberately: working-day deadlines are calendar days × 7/5; a merged case's
target gets no 'merged' event; unanswered calls keep their ticket 'registered'. Random draws
come from setseed(seed): the same seed gives the same data on the same PostgreSQL version.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from working_days.calendar import WorkingCalendar

ZONE = ZoneInfo("Asia/Shanghai")
# Relative call volume per local hour of day (a 12345 line: a morning and an afternoon peak,
# a lunch dip, a quiet night that never stops).
HOUR_CURVE = (
    0.8, 0.5, 0.35, 0.3, 0.3, 0.45, 1.0, 2.2, 4.8, 7.2, 7.6, 6.6,
    4.6, 5.2, 6.8, 7.0, 6.5, 5.2, 4.0, 3.6, 3.2, 2.6, 1.8, 1.2,
)  # fmt: skip
# Monday is the busiest day (the weekend's matters), the weekend the quietest.
WEEKDAY_CURVE = (1.18, 1.08, 1.03, 1.0, 0.97, 0.78, 0.76)
# Summer (water, power, heat) and the heating season swell; the Spring Festival month dips.
MONTH_CURVE = (0.9, 0.85, 0.95, 1.0, 1.0, 1.05, 1.15, 1.15, 1.0, 0.95, 1.05, 1.1)
HOLIDAY_FACTOR = 0.7
TIMELY_SHARE = 0.85  # of answered calls, answered within 15 s
THRESHOLD_S = 15

DISTRICTS = (
    "中心区", "东城区", "西城区", "南湖区", "北山区", "高新区",
    "开发区", "江北区", "临港区", "西山县", "东平县", "南溪县",
)  # fmt: skip
DEPARTMENTS = (
    "市住建局", "市交通运输局", "市市场监管局", "市供电公司", "市水务集团", "市燃气集团",
    "市人社局", "市公安局", "市城管局", "市教育局", "市卫健委", "市生态环境局",
    "市民政局", "市医保局", "市自然资源局", "市文旅局", "市税务局", "市通信管理局",
)  # fmt: skip
UNITS = tuple(f"{d}人民政府" for d in DISTRICTS) + DEPARTMENTS
QUEUES = ("hotline-general", "hotline-complaint", "hotline-report")
SUBJECTS = {
    "consultation": ("社保缴费咨询", "户籍办理咨询", "公积金提取咨询", "招生咨询", "医保咨询"),
    "help": ("停水求助", "停电求助", "燃气泄漏求助", "路灯不亮", "井盖缺失"),
    "complaint": ("噪音扰民", "物业服务投诉", "拖欠工资", "商家欺诈", "违章停车"),
    "report": ("违法建设举报", "食品安全举报", "环境污染举报", "无证经营举报", "偷排污水举报"),
    "suggestion": ("增设公交线路建议", "公园设施建议", "信号灯建议", "垃圾分类建议", "便民建议"),
    "praise": ("表扬社区工作人员", "表扬民警", "表扬公交司机", "表扬医护人员", "表扬环卫工人"),
    "other": ("其他事项", "其他事项", "其他事项", "其他事项", "其他事项"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Plan:
    """What to generate: ``calls`` first-leg calls over the local calendar ``year``."""

    calls: int
    year: int = 2025
    seed: int = 12345

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, 1, 1, tzinfo=ZONE)

    @property
    def end(self) -> dt.datetime:
        """Also the bench's "now": cases still open then stay open."""
        return dt.datetime(self.year + 1, 1, 1, tzinfo=ZONE)

    @property
    def agents(self) -> int:
        # ~25,000 calls a year per seat-holder: 400 agents for 10 million calls.
        return max(12, self.calls // 25_000)

    @property
    def callers(self) -> int:
        return max(1_000, int(self.calls * 0.35))


@dataclass(frozen=True, slots=True)
class Hour:
    index: int
    start: dt.datetime
    calls: int
    wait_mean: float  # seconds: the mean queue wait of an answered call in this hour


def hours(plan: Plan) -> list[Hour]:
    """The year's hours with their call counts (summing to ``plan.calls``) and mean waits."""
    calendar = WorkingCalendar()
    rng = random.Random(plan.seed)
    starts: list[dt.datetime] = []
    weights: list[float] = []
    at = plan.start.astimezone(dt.UTC)
    while at < plan.end:
        local = at.astimezone(ZONE)
        day = local.date()
        weight = HOUR_CURVE[local.hour] * MONTH_CURVE[local.month - 1]
        if calendar.holiday_name(day) is not None:
            weight *= HOLIDAY_FACTOR * WEEKDAY_CURVE[6]
        elif calendar.is_makeup_working_day(day):
            weight *= WEEKDAY_CURVE[0]  # a make-up working day is as busy as a Monday
        else:
            weight *= WEEKDAY_CURVE[local.weekday()]
        starts.append(at)
        weights.append(weight * rng.uniform(0.9, 1.1))
        at += dt.timedelta(hours=1)
    for _ in range(6):  # outages: a burst of calls about one matter, 3× the hour's volume
        weights[rng.randrange(len(weights))] *= 3
    total = sum(weights)
    exact = [plan.calls * w / total for w in weights]
    counts = [math.floor(x) for x in exact]
    # Largest remainders: the counts sum to exactly plan.calls.
    for i in sorted(range(len(exact)), key=lambda i: counts[i] - exact[i])[
        : plan.calls - sum(counts)
    ]:
        counts[i] += 1
    peak = max(counts) or 1
    loads = [c / peak for c in counts]
    scale = _wait_scale(counts, loads)
    return [
        Hour(i, s, c, scale * (0.6 + 0.8 * load))
        for i, (s, c, load) in enumerate(zip(starts, counts, loads, strict=True))
    ]


def _wait_scale(counts: list[int], loads: list[float]) -> float:
    """The scale of the per-hour mean wait (longer when busier) that makes TIMELY_SHARE of
    the year's answers come within THRESHOLD_S: waits are whole seconds of an exponential,
    so wait ≤ 15 s is X < 16 s."""
    total = sum(counts) or 1

    def timely(scale: float) -> float:
        return (
            sum(
                c * (1 - math.exp(-(THRESHOLD_S + 1) / (scale * (0.6 + 0.8 * load))))
                for c, load in zip(counts, loads, strict=True)
            )
            / total
        )

    low, high = 0.1, 200.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if timely(middle) > TIMELY_SHARE else (low, middle)
    return low


def months(plan: Plan, table: list[Hour]) -> list[tuple[int, int, dt.datetime, dt.datetime]]:
    """(first hour index, end hour index, start, end) of each local month: the chunks."""
    chunks = []
    first = 0
    for i in range(1, len(table) + 1):
        if i == len(table) or (
            table[i].start.astimezone(ZONE).day == 1 and (table[i].start.astimezone(ZONE).hour == 0)
        ):
            end = table[i].start if i < len(table) else plan.end.astimezone(dt.UTC)
            chunks.append((first, i, table[first].start, end))
            first = i
    return chunks


def _text_array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]::text[]"


def _pick(values: tuple[str, ...], draw: str, skew: float = 1.0) -> str:
    """SQL choosing one of ``values`` with the uniform draw ``draw`` (skewed to the first)."""
    index = draw if skew == 1.0 else f"power({draw}, {skew})"
    return f"({_text_array(values)})[1 + floor({index} * {len(values)})::int]"


# ---- calls -----------------------------------------------------------------------------------

CALL_COLUMNS = (
    "pbx, key, linkedid, uniqueid, leg, caller_num, ivr_digits, ivr_choice, ivr_path, priority,"
    " queue, outcome, wait_s, talk_s, answered_by, member_interface, ring_no_answer, hangup_by,"
    " recording, started_at, ivr_ended_at, queue_entered_at, answered_at, ended_at,"
    " transferred_to, recovered, vars, callback_requested, language, recording_audio,"
    " counted_at, stored_at"
)


def calls_sql(plan: Plan) -> str:
    """First legs of the calls of the hours [:lo, :hi)."""
    agents = plan.agents
    general = max(1, int(agents * 0.7))
    complaint = max(1, int(agents * 0.2))
    report = max(1, agents - general - complaint)
    return f"""
INSERT INTO call_records ({CALL_COLUMNS})
SELECT 'pbx' || (1 + i % 2), uid || '#0', uid, uid, 0,
  (13000000000 + (caller * 7919) % 6000000000)::text, choice, choice,
  jsonb_build_array('welcome', 'main', choice), priority, queue, outcome, wait, talk,
  CASE WHEN answered THEN 'Agent ' || agent END,
  CASE WHEN answered THEN 'PJSIP/' || agent END,
  CASE WHEN answered AND r_misc < 0.08 THEN jsonb_build_array('Agent ' || (agent + 1))
       ELSE '[]'::jsonb END,
  CASE WHEN answered THEN CASE WHEN r_misc < 0.8 THEN 'caller' ELSE 'agent' END
       WHEN outcome = 'abandoned' OR outcome = 'ivr_hangup' THEN 'caller' END,
  CASE WHEN answered THEN '/var/spool/asterisk/monitor/hotline-' || uid || '.wav' END,
  started, ivr_end, queued, answered_at, ended,
  CASE WHEN outcome = 'transferred' THEN 'hotline-complaint' END,
  false, '{{}}'::jsonb, outcome IN ('abandoned', 'timeout') AND r_misc < 0.1, 'zh',
  CASE WHEN answered THEN true END,
  coalesce(queued, started), ended + interval '2 seconds'
FROM (
  SELECT *, t AS queued_or_start,
    CASE WHEN outcome = 'ivr_hangup' THEN t ELSE t - ivr_s * interval '1 second' END AS started,
    CASE WHEN outcome = 'ivr_hangup' THEN t + ivr_s * interval '1 second' ELSE t END AS ivr_end,
    CASE WHEN outcome <> 'ivr_hangup' THEN t END AS queued,
    CASE WHEN answered THEN t + wait * interval '1 second' END AS answered_at,
    CASE WHEN outcome = 'ivr_hangup' THEN t + ivr_s * interval '1 second'
         ELSE t + (coalesce(wait, 0) + coalesce(talk, 0)) * interval '1 second' END AS ended
  FROM (
    SELECT *,
      outcome IN ('answered', 'transferred') AS answered,
      CASE outcome
        WHEN 'answered' THEN floor(-ln(1 - r_wait) * wait_mean)::int
        WHEN 'transferred' THEN floor(-ln(1 - r_wait) * wait_mean)::int
        WHEN 'abandoned' THEN floor(-ln(1 - r_wait) * 15)::int
        WHEN 'timeout' THEN 120 + floor(r_wait * 5)::int
        WHEN 'joinempty' THEN 0
      END AS wait,
      CASE outcome
        WHEN 'answered' THEN least(3600, greatest(10,
          floor(exp(ln(170) + 0.65 * sqrt(-2 * ln(1 - r_talk1)) * cos(2 * pi() * r_talk2)))))::int
        WHEN 'transferred' THEN 20 + floor(r_talk1 * 60)::int
      END AS talk,
      CASE queue
        WHEN 'hotline-general' THEN 1001 + floor(r_agent * {general})::int
        WHEN 'hotline-complaint' THEN {1001 + general} + floor(r_agent * {complaint})::int
        ELSE {1001 + general + complaint} + floor(r_agent * {report})::int
      END AS agent
    FROM (
      SELECT *,
        CASE WHEN choice = '2' THEN 'hotline-complaint' WHEN choice = '4' THEN 'hotline-report'
             ELSE 'hotline-general' END AS queue,
        CASE WHEN r_out < 0.07 THEN 'ivr_hangup'
             WHEN r_out < 0.0747 THEN 'joinempty'
             WHEN r_out < 0.1398 THEN 'abandoned'
             WHEN r_out < 0.1491 THEN 'timeout'
             WHEN r_out < 0.1723 THEN 'transferred'
             ELSE 'answered' END AS outcome,
        CASE WHEN r_misc > 0.985 THEN 1 ELSE 0 END AS priority,
        floor({plan.callers} * power(r_caller, 2))::bigint AS caller,
        20 + floor(r_ivr * 40)::int AS ivr_s,
        floor(extract(epoch FROM t))::bigint || '.' || (idx::bigint * 100000 + i) AS uid
      FROM (
        SELECT h.idx, h.wait_mean, i,
          h.hour_start + ((i - 1 + random()) * 3600.0 / h.n) * interval '1 second' AS t,
          CASE WHEN random() < 0.40 THEN '1' ELSE
            ({_text_array(("2", "2", "3", "3", "3", "4", "5", "0", "0"))})
              [1 + floor(random() * 9)::int] END AS choice,
          random() AS r_out, random() AS r_wait, random() AS r_talk1, random() AS r_talk2,
          random() AS r_agent, random() AS r_caller, random() AS r_ivr, random() AS r_misc
        FROM bench_hours h, generate_series(1, h.n) AS i
        WHERE h.idx >= :lo AND h.idx < :hi
        OFFSET 0
      ) drawn
      OFFSET 0
    ) b
    OFFSET 0
  ) c
  OFFSET 0
) d
"""


# A transfer: the first agent moved the call to the complaint queue, where it was answered.
SECOND_LEGS_SQL = f"""
INSERT INTO call_records ({CALL_COLUMNS})
SELECT pbx, uniqueid || '#1', linkedid, uniqueid, 1, caller_num, ivr_digits, ivr_choice,
  ivr_path, priority, 'hotline-complaint', 'answered', w, t,
  answered_by, member_interface, '[]'::jsonb, 'caller', recording,
  started_at, ivr_ended_at, q, q + w * interval '1 second',
  q + (w + t) * interval '1 second', NULL, false, '{{}}'::jsonb, false, language, true,
  q, q + (w + t + 2) * interval '1 second'
FROM (
  SELECT *, ended_at AS q, floor(-ln(1 - random()) * 6)::int AS w,
    60 + floor(random() * 400)::int AS t
  FROM call_records
  WHERE leg = 0 AND outcome = 'transferred' AND counted_at >= :start AND counted_at < :end
) legs
"""

SURVEYS_SQL = """
INSERT INTO survey_results (linkedid, answer, digit, at, stored_at)
SELECT linkedid, answer,
  CASE answer WHEN 'satisfied' THEN '1' WHEN 'basically_satisfied' THEN '2'
              WHEN 'dissatisfied' THEN '3' END,
  ended_at + interval '20 seconds', ended_at + interval '21 seconds'
FROM (
  SELECT linkedid, ended_at, r,
    CASE WHEN r < 0.50 THEN 'satisfied' WHEN r < 0.60 THEN 'basically_satisfied'
         WHEN r < 0.645 THEN 'dissatisfied' ELSE 'none' END AS answer
  FROM (SELECT linkedid, ended_at, random() AS r FROM call_records
        WHERE leg = 0 AND outcome IN ('answered', 'transferred')
          AND counted_at >= :start AND counted_at < :end) drawn
  WHERE r < 0.70
) rated
"""

CALLBACKS_SQL = """
INSERT INTO callbacks (kind, pbx, linkedid, uniqueid, caller_num, queue, called_at, created_at,
  status, claimed_by, claimed_at, attempts, result, closed_at)
SELECT CASE WHEN callback_requested THEN 'callback_request' ELSE outcome END, pbx, linkedid,
  uniqueid, caller_num, queue, counted_at, ended_at, 'done', 'agent1001',
  ended_at + interval '10 minutes', 1,
  CASE WHEN random() < 0.8 THEN 'reached' ELSE 'no_answer' END, ended_at + interval '15 minutes'
FROM call_records
WHERE leg = 0 AND outcome IN ('abandoned', 'timeout') AND (wait_s > 5 OR callback_requested)
  AND counted_at >= :start AND counted_at < :end
"""

QA_SQL = """
INSERT INTO qa_scores (call_id, agent, call_at, reviewer, items, total, comment, scored_at)
SELECT id, 'a' || substr(answered_by, 7), counted_at, 'qa1', '[]'::jsonb,
  60 + floor(random() * 41)::int, NULL, ended_at + interval '2 days'
FROM call_records
WHERE leg = 0 AND outcome = 'answered' AND counted_at >= :start AND counted_at < :end
  AND random() < 0.02
"""

# ---- cases -----------------------------------------------------------------------------------

CATEGORY_BY_CHOICE = {"1": "consultation", "2": "complaint", "3": "help", "4": "report"}
# Share of each category's registered calls that are dispatched to a handling unit.
DISPATCH_SHARE = {
    "consultation": 0.12, "help": 0.55, "complaint": 0.65, "report": 0.7,
    "suggestion": 0.5, "praise": 0.3, "other": 0.2,
}  # fmt: skip


# What the tickets and their events are made from (the draws and steps in between are not
# kept: a narrow temporary table is what makes a big month fit in temp_buffers).
CASE_COLUMNS = (
    "id, number, pbx, key, linkedid, caller_num, category, urgency, district, subject, ending,"
    " unit, unit0, unit1, created, reg_at, agent, previous_number, limit_days, r_ext, d_at,"
    " dispatch_at, return_at, approve_return_at, dispatch2_at, sign_at, start_at, ext_req_at,"
    " ext_done_at, due0, due1, answer_at, chase_at, callback_at, sat, psat, redo_at, due2,"
    " start2_at, answer2_at, callback2_at, sat2, archive_at"
)


def _case_plan_sql(plan: Plan) -> str:
    """bench_cases: one row per first leg of the chunk, with every moment of its case."""
    dispatch_share = " ".join(f"WHEN '{c}' THEN {s}" for c, s in DISPATCH_SHARE.items())
    subjects = " ".join(f"WHEN '{c}' THEN {_pick(s, 'r_subj')}" for c, s in SUBJECTS.items())
    day = "interval '1 day'"
    hour = "interval '1 hour'"
    return f"""
CREATE TEMP TABLE bench_cases AS
SELECT {CASE_COLUMNS},
  CASE WHEN archive_at IS NOT NULL AND archive_at < :now THEN 'archived'
       WHEN ending = 'answered_directly' THEN
         CASE WHEN callback_at < :now THEN 'callback' ELSE 'closed' END
       WHEN ending = 'referred' THEN 'closed'
       WHEN ending = 'invalid' THEN 'invalid'
       WHEN ending = 'merged' THEN 'merged'
       WHEN ending IS NULL THEN 'registered'
       WHEN callback2_at < :now THEN 'callback'
       WHEN answer2_at < :now THEN 'answered'
       WHEN start2_at < :now THEN 'in_progress'
       WHEN redo_at < :now THEN 'redo'
       WHEN callback_at < :now THEN 'callback'
       WHEN answer_at < :now THEN 'answered'
       WHEN ext_done_at < :now THEN 'in_progress'
       WHEN ext_req_at < :now THEN 'extension_requested'
       WHEN start_at < :now THEN 'in_progress'
       WHEN sign_at < :now THEN 'signed'
       WHEN dispatch2_at < :now THEN 'dispatched'
       WHEN approve_return_at < :now THEN 'to_dispatch'
       WHEN return_at < :now THEN 'return_requested'
       WHEN dispatch_at < :now THEN 'dispatched'
       ELSE 'to_dispatch' END AS status
FROM (
  SELECT *,
    CASE WHEN ending = 'invalid' THEN reg_at + {day}
         WHEN redo_at IS NOT NULL THEN callback2_at + (1 + r_d4 * 23) * {hour}
         WHEN sat = 'dissatisfied' THEN callback_at + 2 * {day}
         WHEN callback_at IS NOT NULL AND ending = 'dispatched'
           THEN callback_at + (1 + r_d4 * 23) * {hour}
         WHEN ending = 'answered_directly' AND callback_at IS NOT NULL
           THEN callback_at + {day}
    END AS archive_at
  FROM (
    SELECT *,
      CASE WHEN redo_at IS NOT NULL THEN answer2_at + (4 + r_d3 * 44) * {hour} END
        AS callback2_at,
      CASE WHEN redo_at IS NOT NULL THEN
        CASE WHEN r_sat2 < 0.6 THEN 'satisfied' WHEN r_sat2 < 0.85 THEN 'basically_satisfied'
             ELSE 'dissatisfied' END END AS sat2
    FROM (
      SELECT *,
        redo_at + (1 + r_d2 * 7) * {hour} AS start2_at,
        redo_at + limit_days * {day} AS due2,
        redo_at + 8 * {hour} + (0.1 + 0.8 * r_d3) * limit_days * {day} AS answer2_at
      FROM (
        SELECT *,
          CASE WHEN sat = 'dissatisfied' AND r_redo < 0.7 AND ending = 'dispatched'
               THEN callback_at + (2 + r_d1 * 22) * {hour} END AS redo_at
        FROM (
          SELECT *,
            CASE WHEN ending = 'dispatched' AND r_cb < 0.95
                   THEN answer_at + (4 + r_d4 * 44) * {hour}
                 WHEN ending = 'answered_directly' AND r_cb < 0.3
                   THEN reg_at + (1 + r_d4 * 2) * {day} END AS callback_at,
            CASE WHEN r_sat < 0.74 THEN 'satisfied' WHEN r_sat < 0.91 THEN 'basically_satisfied'
                 ELSE 'dissatisfied' END AS sat,
            CASE WHEN r_psat < 0.78 THEN 'satisfied' WHEN r_psat < 0.94
                 THEN 'basically_satisfied' ELSE 'dissatisfied' END AS psat,
            CASE WHEN answer_at > due1 THEN due1 + {hour} END AS chase_at
          FROM (
            SELECT *,
              CASE WHEN r_late < 0.08 THEN due1 + (0.1 + r_d3 * 5) * {day}
                   ELSE greatest(start_at + {hour}, ext_done_at + {hour},
                                 start_at + (0.1 + 0.85 * r_d3) * (due1 - start_at)) END
                AS answer_at
            FROM (
              SELECT *,
                CASE WHEN r_ext < 0.06 THEN start_at + (0.2 + r_d2) * {day} END AS ext_req_at,
                CASE WHEN r_ext < 0.06 THEN start_at + (0.4 + r_d2) * {day} END AS ext_done_at,
                CASE WHEN r_ext < 0.05 THEN due0 + 7 * {day} ELSE due0 END AS due1
              FROM (
                SELECT *,
                  d_at + limit_days * {day} AS due0,
                  d_at + (0.5 + r_d1 * 20) * {hour} AS sign_at,
                  d_at + (1 + r_d1 * 20 + r_d2 * 6) * {hour} AS start_at
                FROM (
                  SELECT *, coalesce(dispatch2_at, dispatch_at) AS d_at,
                    CASE WHEN dispatch2_at IS NOT NULL THEN unit1 ELSE unit0 END AS unit
                  FROM (
                    SELECT *,
                      CASE WHEN ending = 'dispatched' THEN reg_at + (0.2 + r_d1 * 4) * {hour}
                        END AS dispatch_at,
                      CASE WHEN ending = 'dispatched' AND r_ret < 0.04
                        THEN reg_at + (3 + r_d2 * 20) * {hour} END AS return_at,
                      CASE WHEN ending = 'dispatched' AND r_ret < 0.04
                        THEN reg_at + (6 + r_d2 * 24) * {hour} END AS approve_return_at,
                      CASE WHEN ending = 'dispatched' AND r_ret < 0.04
                        THEN reg_at + (8 + r_d2 * 26) * {hour} END AS dispatch2_at,
                      CASE WHEN urgency = 'urgent' THEN 1.4 WHEN category = 'consultation'
                        THEN 4.2 ELSE 7 END AS limit_days
                    FROM (
                      SELECT *,
                        CASE WHEN NOT answered THEN NULL
                             WHEN r_end < (CASE category {dispatch_share} END) THEN 'dispatched'
                             WHEN r_end < (CASE category {dispatch_share} END) + 0.06
                               THEN 'referred'
                             WHEN r_end < (CASE category {dispatch_share} END) + 0.09
                               THEN 'invalid'
                             WHEN r_end < (CASE category {dispatch_share} END) + 0.14
                               AND previous_number IS NOT NULL THEN 'merged'
                             ELSE 'answered_directly' END AS ending,
                        CASE category {subjects} END AS subject,
                        CASE WHEN r_unit < 0.5 THEN district || '人民政府'
                             ELSE {_pick(DEPARTMENTS, "r_unit2")} END AS unit0,
                        {_pick(DEPARTMENTS, "r_unit3")} AS unit1
                      FROM (
                        SELECT *,
                          lag(number) OVER (ORDER BY id) AS previous_number,
                          CASE WHEN priority > 0 OR r_urg < 0.02 THEN 'urgent' ELSE 'normal' END
                            AS urgency
                        FROM (
                          SELECT c.id AS call_id, c.pbx, c.key, c.linkedid, c.caller_num,
                            c.counted_at AS created, c.priority,
                            c.outcome IN ('answered', 'transferred') AS answered,
                            'a' || substr(c.answered_by, 7) AS agent,
                            coalesce(c.ended_at, c.counted_at) + interval '1 minute' AS reg_at,
                            t.id,
                            '12345-' || to_char(c.counted_at AT TIME ZONE 'Asia/Shanghai',
                                                'YYYYMMDD') || '-' ||
                              lpad(row_number() OVER (
                                PARTITION BY (c.counted_at AT TIME ZONE 'Asia/Shanghai')::date
                                ORDER BY c.id)::text, 6, '0') AS number,
                            CASE WHEN c.ivr_choice = '5' THEN
                                   CASE WHEN t.r_cat < 0.8 THEN 'suggestion' ELSE 'praise' END
                                 WHEN c.ivr_choice = '0' THEN
                                   {_pick(tuple(DISPATCH_SHARE), "t.r_cat")}
                                 WHEN t.r_cat < 0.04 THEN 'other'
                                 ELSE (CASE c.ivr_choice
                                   {
        " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in CATEGORY_BY_CHOICE.items())
    }
                                   END) END AS category,
                            {_pick(DISTRICTS, "t.r_dist", 1.4)} AS district,
                            t.r_end, t.r_subj, t.r_unit, t.r_unit2, t.r_unit3, t.r_urg, t.r_ret,
                            t.r_ext, t.r_late, t.r_cb, t.r_sat, t.r_psat, t.r_redo, t.r_sat2,
                            t.r_d1, t.r_d2, t.r_d3, t.r_d4
                          FROM call_records c
                          CROSS JOIN LATERAL (
                            SELECT nextval('tickets_id_seq'::regclass) + 0 * c.id
                                AS id,
                              random() AS r_cat, random() AS r_dist, random() AS r_end,
                              random() AS r_subj, random() AS r_unit, random() AS r_unit2,
                              random() AS r_unit3, random() AS r_urg, random() AS r_ret,
                              random() AS r_ext, random() AS r_late, random() AS r_cb,
                              random() AS r_sat, random() AS r_psat, random() AS r_redo,
                              random() AS r_sat2, random() AS r_d1, random() AS r_d2,
                              random() AS r_d3, random() AS r_d4
                          ) t
                          WHERE c.leg = 0 AND c.counted_at >= :start AND c.counted_at < :end
                          OFFSET 0
                        ) a
                        OFFSET 0
                      ) b
                      OFFSET 0
                    ) c
                    OFFSET 0
                  ) d
                  OFFSET 0
                ) e
                OFFSET 0
              ) f
              OFFSET 0
            ) g
            OFFSET 0
          ) h
          OFFSET 0
        ) i
        OFFSET 0
      ) j
      OFFSET 0
    ) k
    OFFSET 0
  ) l
  OFFSET 0
) m
"""


TICKETS_SQL = """
INSERT INTO tickets (id, number, call_pbx, call_key, linkedid, caller_number, category, status,
  urgency, district, subject, content, handling_unit, due_at, created_at, updated_at, version,
  address, reply_wanted, anonymous, ending, referred_to, registered_by, registered_at,
  first_unit, co_units, supervised, extensions, return_rejected, merged_into_case,
  last_satisfaction, sign_due_at, return_until)
SELECT id, number, pbx, key, linkedid, caller_num, category, status, urgency,
  CASE WHEN ending IS NOT NULL THEN district END,
  CASE WHEN ending IS NOT NULL THEN subject END,
  CASE WHEN ending IS NOT NULL THEN district || '某街道某小区，' || subject ELSE '' END,
  CASE WHEN ending = 'dispatched' AND status <> 'to_dispatch' THEN unit END,
  CASE WHEN redo_at < :now THEN due2 WHEN ending = 'dispatched' THEN due1 END,
  created, least(:now, greatest(created, reg_at, archive_at)), 1,
  CASE WHEN ending IS NOT NULL THEN district || '某街道' END, false, false, ending,
  CASE WHEN ending = 'referred' THEN '12315' END,
  CASE WHEN ending IS NOT NULL THEN agent END,
  CASE WHEN ending IS NOT NULL THEN reg_at END,
  CASE WHEN ending = 'dispatched' THEN unit0 END, '[]'::jsonb, coalesce(chase_at < :now, false),
  CASE WHEN r_ext < 0.05 AND ext_done_at < :now THEN 1 ELSE 0 END,
  false,
  CASE WHEN ending = 'merged' THEN previous_number END,
  CASE WHEN callback2_at < :now THEN sat2 WHEN callback_at < :now THEN sat END,
  CASE WHEN ending = 'dispatched' THEN d_at + interval '1.4 days' END,
  CASE WHEN ending = 'dispatched' THEN d_at + interval '1.4 days' END
FROM bench_cases
"""


@dataclass(frozen=True, slots=True)
class EventKind:
    """One kind of ticket event the cases may have: when (a bench_cases column), by whom,
    from which state to which, and the fields / timers its data carries (SQL)."""

    kind: str
    at: str
    actor: str
    role: str
    before: str
    after: str
    fields: str = "'{}'::jsonb"
    extra: str = "'{}'::jsonb"  # merged into data: timers, the acting unit


def _timers(*pairs: tuple[str, str]) -> str:
    iso = '\'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\''
    inner = ", ".join(
        f"'{name}', to_char(({column}) AT TIME ZONE 'UTC', {iso})" for name, column in pairs
    )
    return f"jsonb_build_object('timers', jsonb_build_object({inner}))"


def _unit(column: str) -> str:
    return f"jsonb_build_object('unit', {column})"


REG = "jsonb_build_object('category', category, 'urgency', urgency, 'subject', subject)"
DISPATCH_TIMERS = _timers(("due_at", "due0"), ("sign_due_at", "d_at + interval '1.4 days'"),
                          ("return_until", "d_at + interval '1.4 days'"))  # fmt: skip
EVENTS = (
    EventKind("answer_directly", "reg_at", "agent", "agent", "registered", "answered_directly",
              f"{REG} || jsonb_build_object('answer', '已答复')"),
    EventKind("close", "reg_at + interval '1 minute'", "agent", "agent", "answered_directly",
              "closed"),
    EventKind("refer", "reg_at", "agent", "agent", "registered", "referred",
              f"{REG} || jsonb_build_object('referred_to', '12315')"),
    EventKind("mark_invalid", "reg_at", "agent", "agent", "registered", "invalid",
              f"{REG} || jsonb_build_object('reason', '骚扰电话')"),
    EventKind("merge", "reg_at", "agent", "agent", "registered", "merged",
              "jsonb_build_object('into', previous_number)"),
    EventKind("submit", "reg_at", "agent", "agent", "registered", "to_dispatch", REG),
    EventKind("dispatch", "dispatch_at", "'reviewer1'", "reviewer", "to_dispatch", "dispatched",
              "jsonb_build_object('unit', unit0)",
              _timers(("due_at", "dispatch_at + limit_days * interval '1 day'"),
                      ("sign_due_at", "dispatch_at + interval '1.4 days'"),
                      ("return_until", "dispatch_at + interval '1.4 days'"))),
    EventKind("return", "return_at", "'u_' || unit0", "unit", "dispatched", "return_requested",
              "jsonb_build_object('reason', '不属于本单位职责', 'basis', '三定方案')",
              _unit("unit0")),
    EventKind("approve_return", "approve_return_at", "'reviewer1'", "reviewer",
              "return_requested", "to_dispatch"),
    EventKind("dispatch", "dispatch2_at", "'reviewer1'", "reviewer", "to_dispatch",
              "dispatched", "jsonb_build_object('unit', unit1)", DISPATCH_TIMERS),
    EventKind("sign", "sign_at", "'u_' || unit", "unit", "dispatched", "signed",
              extra=_unit("unit")),
    EventKind("start", "start_at", "'u_' || unit", "unit", "signed", "in_progress",
              extra=_unit("unit")),
    EventKind("request_extension", "ext_req_at", "'u_' || unit", "unit", "in_progress",
              "extension_requested", "jsonb_build_object('reason', '需现场勘查', 'days', 5)",
              _unit("unit")),
    EventKind("approve_extension", "CASE WHEN r_ext < 0.05 THEN ext_done_at END",
              "'supervisor1'", "supervisor", "extension_requested", "in_progress",
              extra=_timers(("due_at", "due1"))),
    EventKind("deny_extension", "CASE WHEN r_ext >= 0.05 THEN ext_done_at END",
              "'supervisor1'", "supervisor", "extension_requested", "in_progress",
              "jsonb_build_object('reason', '理由不充分')"),
    EventKind("chase", "chase_at", "'system'", "system", "in_progress", "in_progress",
              "jsonb_build_object('level', 'overdue')"),
    EventKind("answer", "answer_at", "'u_' || unit", "unit", "in_progress", "answered",
              "jsonb_build_object('answer', '已办理')", _unit("unit")),
    EventKind("call_back", "callback_at", "'callback1'", "agent",
              "CASE WHEN ending = 'dispatched' THEN 'answered' ELSE 'closed' END", "callback",
              "jsonb_build_object('satisfaction', sat, 'process_satisfaction', psat)"),
    EventKind("redo", "redo_at", "'supervisor1'", "supervisor", "callback", "redo",
              "jsonb_build_object('reason', '群众不满意')", _timers(("due_at", "due2"))),
    EventKind("start", "start2_at", "'u_' || unit", "unit", "redo", "in_progress",
              extra=_unit("unit")),
    EventKind("answer", "answer2_at", "'u_' || unit", "unit", "in_progress", "answered",
              "jsonb_build_object('answer', '已重新办理')", _unit("unit")),
    EventKind("call_back", "callback2_at", "'callback1'", "agent", "answered", "callback",
              "jsonb_build_object('satisfaction', sat2, 'process_satisfaction', sat2)"),
    EventKind("archive", "archive_at", "'system'", "system",
              "CASE WHEN ending = 'invalid' THEN 'invalid' ELSE 'callback' END", "archived"),
)  # fmt: skip


def _quoted(state: str) -> str:
    return state if state.startswith("CASE") else f"'{state}'"


def events_sql() -> str:
    """Every case's events up to the bench's now, in time order (one INSERT, one sort)."""
    selects = [
        """SELECT id, created AS at, 'created' AS kind, 'system' AS actor,
  jsonb_build_object('number', number, 'call_key', key, 'status', 'registered',
                     'category', category) AS data
FROM bench_cases"""
    ]
    for event in EVENTS:
        ending = {
            "answer_directly": "answered_directly", "close": None, "refer": "referred",
            "mark_invalid": "invalid", "merge": "merged", "submit": "dispatched",
        }.get(event.kind)  # fmt: skip
        only = f" AND ending = '{ending}'" if ending else ""
        if event.kind == "close":
            only = " AND ending IN ('answered_directly', 'referred')"
            before = "CASE WHEN ending = 'referred' THEN 'referred' ELSE 'answered_directly' END"
        else:
            before = _quoted(event.before)
        selects.append(f"""SELECT id, {event.at}, '{event.kind}', {event.actor},
  jsonb_build_object('from', {before}, 'to', {_quoted(event.after)}, 'role', '{event.role}',
                     'version', 2, 'fields', {event.fields}) || {event.extra}
FROM bench_cases WHERE {event.at} < :now{only}""")
    body = "\nUNION ALL\n".join(selects)
    return f"INSERT INTO ticket_events (ticket_id, at, kind, actor, data)\n" \
           f"SELECT * FROM (\n{body}\n) e ORDER BY 2, 1"  # fmt: skip


# ---- the small tables ----------------------------------------------------------------------


async def _reference_tables(connection: AsyncConnection, plan: Plan, table: list[Hour]) -> None:
    now = plan.start
    await connection.exec_driver_sql(
        "INSERT INTO handling_units (name, parent, active, created_at) "
        "SELECT unnest($1::text[]), NULL, true, $2",
        (list(UNITS), now),
    )
    await connection.exec_driver_sql(
        """
INSERT INTO users (username, display_name, role, password_hash, active, unit, created_at,
                   updated_at, session_generation)
SELECT 'a' || n, '话务员 ' || n, 'agent', '!', true, NULL, $1, $1, 0
FROM generate_series(1001, 1000 + $2) AS n
""",
        (now, plan.agents),
    )
    await connection.exec_driver_sql(
        """
INSERT INTO agents (user_id, extension, interface, state_interface, name, pbx, created_at,
                    updated_at)
SELECT u.id, substr(u.username, 2), 'PJSIP/' || substr(u.username, 2), NULL,
       'Agent ' || substr(u.username, 2), 'pbx1', $1, $1
FROM users u WHERE u.role = 'agent'
""",
        (now,),
    )
    # Exclusion windows: the outage hours (the 3× bursts) a supervisor flagged.
    bursts = sorted(table, key=lambda h: h.calls, reverse=True)[:6]
    await connection.exec_driver_sql(
        "INSERT INTO kpi_exclusions (starts_at, ends_at, reason, created_by, created_at) "
        "SELECT s, s + interval '1 hour', '突发停水停电 (bench)', 'supervisor1', s "
        "FROM unnest($1::timestamptz[]) AS s",
        ([h.start for h in bursts],),
    )


async def _session(connection: AsyncConnection) -> None:
    await connection.exec_driver_sql("SET session_replication_role = replica")
    # A month's case plan (bench_cases) stays in memory: set before the first temporary table.
    await connection.exec_driver_sql("SET temp_buffers = '1GB'")


async def generate(
    engine: AsyncEngine,
    plan: Plan,
    progress: Callable[[str], None] = lambda _: None,
    jobs: int = 1,
) -> dict[str, int]:
    """Fill the (migrated, empty) database behind ``engine`` with ``plan``'s year, ``jobs``
    months at a time (one session each), committing per month. Each month's draws start from
    its own seed, so the rows are the same whatever ``jobs`` is (only the tickets' ids, drawn
    from the shared sequence, interleave differently). Returns the big tables' row counts."""
    table = hours(plan)
    async with engine.connect() as connection:
        await _session(connection)
        await connection.exec_driver_sql(
            "CREATE UNLOGGED TABLE bench_hours (idx int PRIMARY KEY, hour_start timestamptz,"
            " n int, wait_mean float8)"
        )
        await connection.exec_driver_sql(
            "INSERT INTO bench_hours SELECT * FROM unnest($1::int[], $2::timestamptz[],"
            " $3::int[], $4::float8[])",
            (
                [h.index for h in table],
                [h.start for h in table],
                [h.calls for h in table],
                [h.wait_mean for h in table],
            ),
        )
        await _reference_tables(connection, plan, table)
        await connection.commit()
    statements = _statements(plan)
    spent: dict[str, float] = {}
    todo = list(enumerate(months(plan, table)))

    async def worker() -> None:
        async with engine.connect() as connection:
            await _session(connection)
            while todo:
                number, (lo, hi, start, end) = todo.pop(0)
                seed = (plan.seed * 31 + number) % 10_000 / 10_000
                await connection.exec_driver_sql("SELECT setseed($1)", (seed,))
                values = {"lo": lo, "hi": hi, "start": start, "end": end, "now": plan.end}
                for name, sql in statements:
                    began = time.perf_counter()
                    await _run(connection, sql, values)
                    spent[name] = spent.get(name, 0.0) + time.perf_counter() - began
                await connection.exec_driver_sql("DROP TABLE bench_cases")
                await connection.commit()
                progress(f"{start.astimezone(ZONE):%Y-%m} done")

    await asyncio.gather(*(worker() for _ in range(max(1, jobs))))
    progress("seconds per step: " + ", ".join(f"{k} {v:.0f}" for k, v in spent.items()))
    async with engine.connect() as connection:
        await connection.exec_driver_sql(
            "INSERT INTO ticket_counters (day, last) "
            "SELECT substr(number, 7, 8), max(substr(number, 16)::int) FROM tickets "
            "GROUP BY substr(number, 7, 8)"
        )
        await connection.exec_driver_sql("DROP TABLE bench_hours")
        await connection.commit()
        counts = {}
        for name in ("call_records", "survey_results", "tickets", "ticket_events", "callbacks",
                     "qa_scores"):  # fmt: skip
            found = await connection.exec_driver_sql(f"SELECT count(*) FROM {name}")
            counts[name] = int(found.scalar_one())
    return counts


EVENTS_SQL = events_sql()


def _statements(plan: Plan) -> list[tuple[str, str]]:
    return [
        ("calls", calls_sql(plan)),
        ("second legs", SECOND_LEGS_SQL),
        ("surveys", SURVEYS_SQL),
        ("callbacks", CALLBACKS_SQL),
        ("qa", QA_SQL),
        ("case plan", _case_plan_sql(plan)),
        ("tickets", TICKETS_SQL),
        ("events", EVENTS_SQL),
    ]


async def _run(connection: AsyncConnection, sql: str, values: dict[str, object]) -> None:
    """Run ``sql`` with its :name values written in as literals: they are the generator's own
    whole numbers and instants, and CREATE TABLE AS takes no bind parameters."""
    for name, value in values.items():
        if isinstance(value, dt.datetime):
            literal = f"'{value.astimezone(dt.UTC).isoformat()}'::timestamptz"
        elif isinstance(value, int):
            literal = str(value)
        else:  # pragma: no cover - the generator passes nothing else
            raise TypeError(f"{name}: {value!r}")
        sql = sql.replace(f":{name}", literal)
    await connection.exec_driver_sql(sql)
