"""One typed settings object: defaults < TOML file < environment variables.

The file is ``hotline.toml`` in the working directory, or the path in ``HOTLINE_CONFIG``.
Environment variables are ``HOTLINE_<SECTION>__<NAME>``, e.g. ``HOTLINE_AMI__SECRET``.
A wrong value stops start-up with one line naming the setting (see ``load_settings``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ticketing.workflow.deadlines import policy as deadline_policy

log = logging.getLogger(__name__)


class Section(BaseModel):
    # A misspelt key in the file is an error, not a silently ignored line.
    model_config = ConfigDict(extra="forbid")


# A PBX's name: part of every call's key and Asterisk's systemname (a prefix of its uniqueids).
PBX_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
DEFAULT_PBX_NAME = "pbx1"


class PbxServerSettings(Section):
    """One Asterisk the service follows; unset fields take the ``[ami]``/``[asterisk]`` value."""

    name: str = Field(pattern=PBX_NAME_PATTERN)
    host: str = "127.0.0.1"
    port: int = Field(5038, ge=1, le=65535)
    username: str | None = None
    secret: SecretStr | None = None
    queue_log: Path | None = None
    cdr_csv: Path | None = None
    recordings_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class PbxServer:
    """A PBX with every setting resolved: what one AMI feed needs."""

    name: str
    host: str
    port: int
    username: str
    secret: SecretStr
    queue_log: Path
    cdr_csv: Path
    # MixMonitor's recordings, read back for calls whose recording started unseen.
    recordings_dir: Path | None = None


class AmiSettings(Section):
    # The one PBX's name when [[ami.servers]] is empty (a call's key holds it; Asterisk's
    # systemname).
    name: str = Field(DEFAULT_PBX_NAME, pattern=PBX_NAME_PATTERN)
    host: str = "127.0.0.1"  # Asterisk's AMI address (manager.conf bindaddr)
    port: int = Field(5038, ge=1, le=65535)  # AMI TCP port
    username: str = "hotline"  # manager.conf user the service logs in as
    secret: SecretStr = SecretStr("")  # its secret: file or environment only
    # [[ami.servers]] tables, one per Asterisk: name, host, port, username, secret, queue_log,
    # cdr_csv, recordings_dir (unset: the value of [ami] / [asterisk]). Empty: the one PBX of
    # the fields above.
    servers: list[PbxServerSettings] = []
    # Seconds between Pings, and how long a Ping may go unanswered before the link is dead.
    ping_interval: float = Field(10.0, gt=0)
    # Seconds a Ping may go unanswered before the link is declared dead.
    ping_timeout: float = Field(5.0, gt=0)
    # Seconds an AMI action (login, CoreShowChannels…) may take.
    action_timeout: float = Field(10.0, gt=0)
    # First reconnect delay; doubles with jitter after each failure, and starts again from
    # here only once a connection has lasted 30 s (a login cut at once is a failure).
    reconnect_min: float = Field(0.5, gt=0)
    reconnect_max: float = Field(30.0, gt=0)  # longest reconnect delay


class DatabaseSettings(Section):
    # SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user:pw@host/db
    url: str = "sqlite+aiosqlite:///hotline.sqlite3"
    # Finished calls waiting for the database while it is unavailable.
    buffer_size: int = Field(10_000, ge=1)
    # Seconds between write retries while the database is down.
    retry_interval: float = Field(2.0, gt=0)
    # Where finished calls go when the buffer above is full; replayed first on recovery.
    spill_path: Path = Path("hotline-calls.spill.jsonl")

    @field_validator("url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value


class KpiSettings(Section):
    answer_threshold_s: int = Field(15, ge=1)  # 15秒接通
    timeliness_target: float = Field(0.80, ge=0, le=1)  # answer timeliness target (≥ 80 %)
    connect_target: float = Field(0.95, ge=0, le=1)  # connect rate target (≥ 95 %)
    # Callers who hang up within this many seconds of joining are "short abandons" (未接秒挂).
    short_abandon_s: int = Field(5, ge=0)
    # Connect rate is answered ÷ offered; True leaves short abandons out of the denominator
    # (the local 未接秒挂 rule, where a centre's contract allows it).
    connect_excludes_short_abandons: bool = False
    # Seconds of after-call work added to talk time in AHT (app_queue wrapuptime).
    wrap_up_s: float = Field(0.0, ge=0)
    # Deprecated: use site.timezone (still read from old settings files, and kept equal to it).
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else known_zone(value)


def known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError("not a known IANA time zone, e.g. Asia/Shanghai or UTC") from None
    return value


class SiteSettings(Section):
    # The hotline's local time: KPI hours and days, the IVR's opening hours, the store's
    # report days, the demo's busy hour.
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)


class CasesSettings(Section):
    """The case workflow's deadlines (ticketing.workflow.deadlines)."""

    # Deadline preset of the domain brief: county (working days), city_a (clock hours for
    # consultations, help, suggestions, praise; 15 min for urgent), city_b.
    deadline_preset: Literal["county", "city_a", "city_b"] = "county"
    # Per-category limits over the preset, e.g. {complaint = "4wd", help = "24h"}: wd working
    # days, wh working hours, h hours, min minutes; keys: categories, urgent, direct, special.
    deadlines: dict[str, str] = Field(default_factory=dict)
    # Business hours on working days (local time): working-day deadlines end at the close,
    # working hours (the 24 h sign limit) count inside them.
    business_opens: dt.time = dt.time(9, 0)
    business_closes: dt.time = dt.time(17, 0)  # the close of business on working days
    # Seconds between two chase sweeps (催办/督办 of due-soon, overdue and repeated cases).
    chase_interval_s: float = Field(60.0, gt=0)
    # Hours before its deadline a case counts as due soon and is chased.
    due_soon_hours: float = Field(4.0, ge=0)
    # Call-back attempts that reach nobody before the call-back counts as unreachable
    # (回访未接通): until then each is kept in the case's history and the task stays listed.
    call_back_attempts: int = Field(3, ge=1, le=20)
    # Where case attachments (附件: a unit's answer, a return's basis) are kept, by their
    # SHA-256; none: uploads are refused and cases carry references typed by hand only.
    attachments_dir: Path | None = None
    # Largest attachment accepted, in bytes.
    attachment_max_bytes: int = Field(10 * 1024 * 1024, ge=1024)

    @model_validator(mode="after")
    def _valid_policy(self) -> CasesSettings:
        if self.business_opens >= self.business_closes:
            raise ValueError("business_opens must be before business_closes")
        deadline_policy(self.deadline_preset, self.deadlines)  # a bad limit fails at start
        return self


class AsteriskSettings(Section):
    # The queue_log Asterisk writes; read to close calls that ended while AMI or the service
    # was down (a restart reads it from the newest stored call on, so keep it unrotated that long).
    queue_log: Path = Path("/var/log/asterisk/queue_log")
    # cdr_csv's Master.csv (cdr.conf [csv] with usegmtime, loguniqueid, loguserfield,
    # newcdrcolumns); read like queue_log to record callers who hung up in the IVR while AMI
    # was down (they never reach a queue, so queue_log has no line for them).
    cdr_csv: Path = Path("/var/log/asterisk/cdr-csv/Master.csv")
    # Where MixMonitor writes the recordings.
    recordings_dir: Path = Path("/var/spool/asterisk/monitor")


class WebSettings(Section):
    host: str = "127.0.0.1"  # address the web app listens on
    port: int = Field(8080, ge=0, le=65535)  # its port (0: any free port)
    # Signs session cookies; from the settings file or HOTLINE_WEB__SESSION_SECRET, never the
    # repo. Empty: a random one per process (everyone logs in again after a restart).
    session_secret: SecretStr = SecretStr("")
    # True behind HTTPS: browsers then send the session cookie over HTTPS only.
    cookie_secure: bool = False
    session_max_age_s: int = Field(12 * 3600, ge=60)  # a login lasts this long
    kiosk_max_age_s: int = Field(30 * 24 * 3600, ge=60)  # a wallboard kiosk session lasts this long
    # Failed logins per username and address before a lock-out of login_lockout_s seconds.
    login_max_failures: int = Field(5, ge=1)
    login_lockout_s: int = Field(900, ge=1)  # lock-out after too many failed logins
    # Failed logins from one address, whatever the usernames, before the same lock-out.
    login_max_failures_per_address: int = Field(20, ge=1)
    # Proxies (addresses or networks) whose X-Forwarded-For is believed: the client's address
    # is then the last one in that header that is not a trusted proxy. Empty: never believed.
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)
    # Password hashes (argon2, CPU-heavy) computed at once, each in a thread of its own, off
    # the event loop that serves AMI and the IVR; further logins wait their turn.
    password_hash_threads: int = Field(2, ge=1, le=32)
    # Seconds between re-checks of open wallboard WebSockets' sessions: a password change or
    # a disabled user (from `hotline user`, another process) closes them within this time.
    session_recheck_s: float = Field(30.0, gt=0)
    # How people reach the web app (printed in kiosk URLs); None: http://host:port.
    public_url: str | None = None

    @field_validator("session_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if 0 < len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (or empty for a random one)")
        return value


class RecordingsSettings(Section):
    # Agents may play the recordings of calls they answered themselves (off: only
    # supervisors and QA staff play recordings; every playback is logged either way).
    agents_hear_own: bool = False
    # Days a recording or call-back message is kept; a job deletes older files (0: forever).
    retention_days: int = Field(180, ge=0)
    # Seconds between two runs of the retention job.
    retention_interval_s: float = Field(3600.0, gt=0)


class Threshold(Section):
    """A figure's colours on the wall screen: amber from ``amber`` on, red from ``red`` on.
    ``red`` beyond ``amber`` upwards means higher is worse (waits); below it, lower is worse
    (rates)."""

    amber: float
    red: float


class WallboardSettings(Section):
    # Seconds without a fresh picture reaching the wall screen (the server re-sends an unchanged
    # one every third of this) before it marks its figures stale with a red banner.
    stale_after_s: float = Field(10.0, gt=0, le=3600)
    # Agents' display names (Chinese) by queue-member interface ("PJSIP/1001"), its user part
    # ("agent10") or app_queue's MemberName; raw interfaces never show (fallback "座席 N").
    agent_names: dict[str, str] = Field(default_factory=dict)
    # Colours of the 15-s answer rate (tile and queue rows), a table {amber, red}: amber below
    # 0.85, red below 0.80 (ratios; red under amber: lower is worse).
    answer_timeliness: Threshold = Threshold(amber=0.85, red=0.80)
    # Connect rate colours: amber below 0.97, red below 0.95.
    connect_rate: Threshold = Threshold(amber=0.97, red=0.95)
    # Abandon rate colours: amber from 0.03, red from 0.05 (red over amber: higher is worse).
    abandon_rate: Threshold = Threshold(amber=0.03, red=0.05)
    # Callers waiting now (the tile and each queue): amber from 3, red from 10.
    waiting: Threshold = Threshold(amber=3, red=10)
    # The longest waiting caller, seconds (the tile and each queue): amber from 15, red from 30.
    longest_wait_s: Threshold = Threshold(amber=15, red=30)
    # An agent paused (not after-call work) this many seconds: amber from 600, red from 1800.
    paused_s: Threshold = Threshold(amber=600, red=1800)
    # An agent in after-call work this many seconds: amber from 60, red from 180.
    wrap_up_s: Threshold = Threshold(amber=60, red=180)
    # An agent on one call this many seconds: amber from 600, red from 1200.
    talking_s: Threshold = Threshold(amber=600, red=1200)


class DemoSettings(Section):
    # Password of the demo's desk agents (agent1, agent2…: role agent, each tied to a
    # simulated phone, for /desk and its screen pops); settings file or environment only,
    # never the repo. Empty: a random one per run, printed with the demo's logins.
    agent_password: SecretStr = SecretStr("")


class ScorecardItemSettings(Section):
    """One line of the QA scorecard (质检评分表)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    label: str = Field(min_length=1, max_length=64)
    points: int = Field(ge=1, le=100)
    # score: 0 to points (a judgement); check: a forbidden behaviour, kept = points, broken = 0.
    kind: Literal["score", "check"] = "score"
    phrases: list[str] = []  # what the reviewer listens for (a check's forbidden phrases)


def _default_scorecard() -> list[ScorecardItemSettings]:
    items = [
        ("greeting", "开头语、结束语规范 greeting and closing", 10, "score", []),
        ("listening", "倾听与记录完整 listening, complete registration", 15, "score", []),
        ("accuracy", "答复准确、政策正确 accurate answer", 30, "score", []),
        ("attitude", "服务态度 attitude", 20, "score", []),
        ("cold_reply", "无生硬、推诿用语 no cold or blunt replies", 10, "check",
         ["不归我们管", "你自己去问", "我也没办法", "这个不行"]),
        ("talk_over", "不抢话、不打断来电人 never talks over the caller", 5, "check", []),
        ("dont_know", "不说“不知道” never says 'I don't know'", 10, "check",
         ["不知道", "不清楚", "不晓得"]),
    ]  # fmt: skip
    return [
        ScorecardItemSettings(id=i, label=label, points=p, kind=kind, phrases=phrases)
        for i, label, p, kind, phrases in items
    ]


class QaSettings(Section):
    # [[qa.scorecard]] tables: id, label, points, kind (score: 0 to points; check: a forbidden
    # behaviour, kept = points, broken = 0), phrases; the points add up to 100.
    scorecard: list[ScorecardItemSettings] = Field(default_factory=_default_scorecard)
    # Calls drawn per agent and period for the spot check (随机抽检).
    sample_per_agent: int = Field(5, ge=1, le=200)
    # Seeds the spot-check draw: the same seed, agent and month draw the same calls.
    sample_seed: str = Field("12345-qa", min_length=1, max_length=64)

    @model_validator(mode="after")
    def _adds_up_to_100(self) -> QaSettings:
        ids = [item.id for item in self.scorecard]
        if len(set(ids)) != len(ids):
            raise ValueError("scorecard item ids must be unique")
        total = sum(item.points for item in self.scorecard)
        if total != 100:
            raise ValueError(f"scorecard points add up to {total}, not 100")
        return self


class ReportsSettings(Section):
    # The monthly unit score (单位考核, 100 points, satisfaction-weighted): points taken per
    # overdue answer, redo or late return of the unit's cases.
    unit_deduction: float = Field(1.0, ge=0, le=100)
    # Points given per top rating (满意) of a call-back about the unit's case (within 100).
    unit_bonus: float = Field(0.5, ge=0, le=100)
    # How many categories and areas the hot topics (热点诉求) list.
    hot_topics: int = Field(10, ge=1, le=100)
    # Seconds between passes of the rollup refresher, which sums report counts ahead per UTC
    # hour and day where calls or cases changed (on the active instance); 0 = off: reports
    # read raw rows for every hour not built (`hotline rollup build` builds them by hand).
    rollup_interval_s: float = Field(60.0, ge=0)


class WarningAreaSettings(Section):
    name: str = Field(min_length=1, max_length=64)  # what the console calls the area: 东区
    # Caller-number prefixes of the area: landline exchanges (0571861), mobile segments.
    prefixes: list[str] = Field(min_length=1)

    @field_validator("prefixes")
    @classmethod
    def _digits(cls, value: list[str]) -> list[str]:
        if not all(p.isdigit() and len(p) <= 64 for p in value):
            raise ValueError("prefixes are digits only (at most 64)")
        return value


class WarningSettings(Section):
    """Early warning (预警): a burst of similar calls from one area (warning/)."""

    enabled: bool = True  # watch the calls and suggest incidents on the console and MQTT
    # The sliding window a burst is counted in, minutes.
    window_minutes: float = Field(15.0, gt=0, le=24 * 60)
    # Calls of one area and one menu branch or category in the window, at least, for a burst.
    min_calls: int = Field(10, ge=2)
    # ... and at least this many times what the same hour brought on recent weeks.
    ratio: float = Field(3.0, ge=1)
    # Recent weeks whose same weekday and hour make the baseline.
    baseline_weeks: int = Field(4, ge=1, le=26)
    # Minutes a dismissed or accepted key stays quiet before it may be suggested again.
    cooldown_minutes: float = Field(60.0, ge=0)
    # A number no area claims is grouped by its first digits (0: only the named areas).
    prefix_digits: int = Field(7, ge=0, le=16)
    # Named areas: [[warning.areas]] name = "东区", prefixes = ["0571861", "0571862"].
    areas: list[WarningAreaSettings] = Field(default_factory=list)


class StaffingSettings(Section):
    """The Erlang C staffing planner (acd/staffing)."""

    # Target share of calls answered within answer_s (80 % …).
    service_level: float = Field(0.80, gt=0, lt=1)
    answer_s: float = Field(15.0, ge=0)  # … within this many seconds (15秒接通)
    # Highest agent occupancy a plan may ask of agents (1: no cap).
    max_occupancy: float = Field(1.0, gt=0, le=1)
    # Recent weeks whose same weekday forecasts a day's calls per half hour.
    weeks: int = Field(4, ge=1, le=26)
    # Handling time (talk + wrap-up) used while there is no answered call in the history.
    default_aht_s: float = Field(240.0, gt=0)


class MqttSettings(Section):
    enabled: bool = False  # publish domain events to MQTT and read incidents from it
    host: str = "127.0.0.1"  # broker address
    port: int = Field(1883, ge=1, le=65535)  # broker port
    topic_prefix: str = "hotline"  # topics are <prefix>/call/ended, <prefix>/incidents/in…
    username: str | None = None  # broker login, if it needs one
    password: SecretStr | None = None  # broker password: file or environment only


class IvrSettings(Section):
    # The service runs the FastAGI IVR itself (off: another process serves ivr.host/port).
    enabled: bool = True
    host: str = "127.0.0.1"  # address the FastAGI IVR listens on
    port: int = Field(4573, ge=0, le=65535)  # FastAGI port (Asterisk's AGI(agi://host:port/ivr))
    menu_file: Path | None = None  # the menu TOML; none: the shipped ivr/menus/12345.toml


class AgentsSettings(Section):
    # Pause reasons an agent may pick (queue_log PAUSE lines and the figures show them verbatim).
    pause_reasons: list[str] = ["小休", "用餐", "培训", "会议", "话后处理"]
    # The pause reason of after-call work: a desk agent is paused with it when a call ends.
    wrap_up_reason: str = "话后处理"
    # Seconds of after-call work before the agent is ready again (0: no wrap-up).
    wrap_up_s: int = Field(30, ge=0, le=3600)
    # Dialplan context a call-back runs in once the agent answers: the outbound route that
    # dials the citizen's number (the Exten) through the carrier trunk (asterisk_conf renders it).
    callback_context: str = Field("hotline-outbound", pattern=r"^[A-Za-z0-9_-]+$")
    # Seconds the agent's phone rings for a call-back before the attempt counts as failed.
    callback_ring_s: int = Field(30, ge=5, le=300)

    @model_validator(mode="after")
    def _wrap_up_is_a_reason(self) -> AgentsSettings:
        reasons = self.pause_reasons
        if not reasons or any(not r.strip() or len(r) > 64 for r in reasons):
            raise ValueError("pause_reasons: 1 to 64 characters each, at least one")
        if self.wrap_up_reason not in reasons:
            raise ValueError(f"wrap_up_reason {self.wrap_up_reason!r} is not in pause_reasons")
        return self


# --- Asterisk configuration rendered by `hotline asterisk-conf render` (asterisk_conf/) ---
QueueStrategy = Literal[
    "ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "rrordered", "linear", "wrandom"
]
_EMPTY_CONDITIONS = {
    "paused",
    "penalty",
    "inuse",
    "ringing",
    "unavailable",
    "invalid",
    "unknown",
    "wrapup",
}


class QueueSettings(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    # What people see (the wall screen, the console): the queue id never shows; empty: "队列 N".
    display_name: str = Field("", max_length=32)
    strategy: QueueStrategy = "rrmemory"
    # Seconds one member rings, pause before the next try, rest after a call (app_queue's names).
    timeout: int = Field(15, ge=1)
    retry: int = Field(2, ge=0)
    wrapuptime: int = Field(0, ge=0)
    servicelevel: int = Field(15, ge=1)  # the 15-second answer target
    # "yes", "no", "strict", "loose" or a comma list of member states (app_queue syntax).
    joinempty: str = "yes"
    leavewhenempty: str = "no"
    maxlen: int = Field(0, ge=0)
    weight: int = Field(0, ge=0)
    # Pause a member who lets a call ring out: "no", "yes" (in this queue), "all" (every queue).
    autopause: Literal["no", "yes", "all"] = "no"
    # Tell waiting callers their position ("no", "yes", "limit", "more") and expected hold time
    # ("no", "yes", "once") every announce_frequency seconds (0: never), in the hotline's own
    # prompts (hotline/queue-*, and digits/N for the numbers: `hotline prompts build`).
    announce_position: Literal["no", "yes", "limit", "more"] = "no"
    announce_holdtime: Literal["no", "yes", "once"] = "no"
    announce_frequency: int = Field(0, ge=0)  # see announce_position
    # Agent extensions (see PbxSettings.agents) that are static members of this queue.
    members: list[str] = []

    @field_validator("joinempty", "leavewhenempty")
    @classmethod
    def _empty_rule(cls, value: str) -> str:
        if value in {"yes", "no", "strict", "loose"}:
            return value
        unknown = {part.strip() for part in value.split(",")} - _EMPTY_CONDITIONS
        if unknown:
            raise ValueError(f"unknown member state(s) {sorted(unknown)}")
        return value


class AgentSettings(Section):
    extension: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    name: str
    # The softphone's SIP password; from the settings file or the environment, never the repo.
    secret: SecretStr = SecretStr("")


def _default_queues() -> list[QueueSettings]:
    return [
        QueueSettings(name="hotline-general", display_name="综合咨询"),
        QueueSettings(name="hotline-complaint", display_name="投诉"),
        # Reports are rare and need a specialist: refuse to queue when nobody is logged in.
        QueueSettings(
            name="hotline-report", display_name="举报", joinempty="no", leavewhenempty="yes"
        ),
    ]


class PbxSettings(Section):
    hotline_number: str = Field("12345", pattern=r"^[0-9]+$")  # the number citizens dial
    # Dialplan context of inbound calls (the tracker's entry context).
    inbound_context: str = "hotline-ivr"
    # Where Asterisk reaches the FastAGI IVR; None means ivr.host/ivr.port.
    fastagi_host: str | None = None
    fastagi_port: int | None = Field(None, ge=1, le=65535)  # see fastagi_host
    # Classic AGI of the degraded path (relative to astagidir, or absolute).
    fallback_agi: str = "hotline_fallback.py"
    # Active announcements for the degraded path, refreshed by the service.
    announcements_file: Path = Path("/var/lib/hotline/announcements.json")
    # Sounds the degraded path plays before the announcements (built by `hotline prompts build`).
    fallback_prompts: list[str] = ["hotline/welcome", "hotline/emergency-notice"]
    general_queue: str = "hotline-general"  # where every caller goes when nothing else applies
    queue_max_wait: int = Field(60, ge=1)  # Queue()'s own timeout, then the callback offer
    record_calls: bool = True  # MixMonitor every call
    # PJSIP transport address "ip:port": loopback by default; the server's LAN/public address
    # (or 0.0.0.0:5060) in production.
    sip_bind: str = "127.0.0.1:5060"
    sip_tcp: bool = False  # also a TCP transport on sip_bind (some carriers and phones use TCP)
    # Networks PJSIP treats as local (transport local_net); needed with the external_* below.
    sip_local_nets: list[str] = []
    # The public address a NAT router maps to this server: written into SDP (media) and SIP
    # headers (signaling) sent outside sip_local_nets. None: no NAT rewriting.
    sip_external_media_address: str | None = None
    sip_external_signaling_address: str | None = None  # see sip_external_media_address
    # Phones and trunk behind NAT: rtp_symmetric, force_rport (and rewrite_contact for phones).
    sip_nat: bool = True
    # Codecs in order of preference: G.711 A-law first, as Chinese carriers use.
    sip_codecs: list[str] = ["alaw", "ulaw"]
    # RTP (media) UDP port range, rtp.conf rtpstart/rtpend: open it in the firewall.
    rtp_port_min: int = Field(10000, ge=1024, le=65535)
    rtp_port_max: int = Field(20000, ge=1024, le=65535)  # see rtp_port_min
    # Source addresses (or networks) of the carrier trunk: calls from them are citizens
    # (PJSIP identify by IP). Empty and no trunk_host: no trunk is rendered.
    trunk_addresses: list[str] = []
    # The carrier's SIP server "host[:port]": where callbacks go out and where the hotline
    # registers. None: inbound by IP only, no outbound route.
    trunk_host: str | None = None
    # Login at the carrier (outbound registration and INVITE authentication); empty: none.
    trunk_username: str = ""
    trunk_secret: SecretStr = SecretStr("")  # its password: file or environment only
    # Register to trunk_host with trunk_username (off: the carrier routes by IP only).
    trunk_register: bool = True
    # Agents dial this prefix + the citizen's number to call out through the trunk (回访); the
    # callback list's Originate dials the same way. The prefix is removed before the trunk.
    outbound_prefix: str = Field("9", pattern=r"^[0-9]{0,4}$")
    # Caller ID shown to citizens on callbacks; None: the hotline number.
    outbound_caller_id: str | None = Field(None, pattern=r"^\+?[0-9]+$")
    # Allow international numbers (00…) on the outbound route (toll fraud risk: off).
    outbound_international: bool = False
    moh_directory: Path = Path("/var/lib/asterisk/moh")  # music on hold files
    # Asterisk's sounds directory; `hotline prompts build` writes the menu prompts into it.
    sounds_dir: Path = Path("/var/lib/asterisk/sounds")
    # [[pbx.queues]] tables: name, strategy, timeout, retry, wrapuptime, servicelevel,
    # joinempty, leavewhenempty, maxlen, weight, members, autopause (no/yes/all),
    # announce_position (no/yes/limit/more), announce_holdtime (no/yes/once), announce_frequency.
    queues: list[QueueSettings] = Field(default_factory=_default_queues)
    # [[pbx.agents]] tables: extension, name, secret (one PJSIP softphone each).
    agents: list[AgentSettings] = []

    @model_validator(mode="after")
    def _consistent(self) -> PbxSettings:
        queues = [queue.name for queue in self.queues]
        extensions = [agent.extension for agent in self.agents]
        for kind, names in (("queue", queues), ("agent extension", extensions)):
            twice = sorted({name for name in names if names.count(name) > 1})
            if twice:
                raise ValueError(f"{kind} {twice[0]!r} is defined twice")
        if self.general_queue not in queues:
            raise ValueError(f"general_queue {self.general_queue!r} is not one of the queues")
        if self.rtp_port_min >= self.rtp_port_max:
            raise ValueError("rtp_port_min must be below rtp_port_max")
        if self.trunk_username and not self.trunk_host:
            raise ValueError("trunk_username is set but trunk_host (the carrier's server) is not")
        for queue in self.queues:
            for member in queue.members:
                if member not in extensions:
                    raise ValueError(f"queue {queue.name!r} member {member!r} is not an agent")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    site: SiteSettings = SiteSettings()
    ami: AmiSettings = AmiSettings()
    database: DatabaseSettings = DatabaseSettings()
    kpi: KpiSettings = KpiSettings()
    cases: CasesSettings = CasesSettings()
    asterisk: AsteriskSettings = AsteriskSettings()
    web: WebSettings = WebSettings()
    wallboard: WallboardSettings = WallboardSettings()
    mqtt: MqttSettings = MqttSettings()
    ivr: IvrSettings = IvrSettings()
    agents: AgentsSettings = AgentsSettings()
    pbx: PbxSettings = PbxSettings()
    recordings: RecordingsSettings = RecordingsSettings()
    demo: DemoSettings = DemoSettings()
    qa: QaSettings = QaSettings()
    reports: ReportsSettings = ReportsSettings()
    warning: WarningSettings = WarningSettings()
    staffing: StaffingSettings = StaffingSettings()

    @model_validator(mode="after")
    def _one_site_timezone(self) -> Settings:
        # kpi.timezone is the old name of site.timezone: an old file still works (with a
        # warning); both given and different is refused; afterwards both say the same.
        old = self.kpi.timezone
        if old is not None and old != self.site.timezone:
            if "timezone" in self.site.model_fields_set:
                raise ValueError(
                    f"kpi.timezone ({old}) is the deprecated name of site.timezone "
                    f"({self.site.timezone}); set site.timezone only"
                )
            log.warning("setting kpi.timezone is deprecated: use site.timezone = %r", old)
            self.site.timezone = old
        self.kpi.timezone = self.site.timezone
        return self

    @model_validator(mode="after")
    def _distinct_pbx_servers(self) -> Settings:
        servers = self.pbx_servers()
        for what in ("name", "queue_log", "cdr_csv"):
            values = [getattr(server, what) for server in servers]
            twice = sorted({str(v) for v in values if values.count(v) > 1})
            if twice:
                # Two PBXs writing one queue_log would close each other's calls.
                raise ValueError(f"ami.servers: {what} {twice[0]!r} is given to two PBXs")
        return self

    def pbx_servers(self) -> list[PbxServer]:
        """The PBXs the service follows: [[ami.servers]], else the one PBX of [ami]."""
        ami, files = self.ami, self.asterisk
        if not ami.servers:
            return [
                PbxServer(
                    ami.name, ami.host, ami.port, ami.username, ami.secret,
                    files.queue_log, files.cdr_csv, files.recordings_dir,
                )
            ]  # fmt: skip
        return [
            PbxServer(
                name=server.name,
                host=server.host,
                port=server.port,
                username=server.username or ami.username,
                secret=server.secret or ami.secret,
                queue_log=server.queue_log or files.queue_log,
                cdr_csv=server.cdr_csv or files.cdr_csv,
                recordings_dir=server.recordings_dir or files.recordings_dir,
            )
            for server in ami.servers
        ]

    def pbx_server(self, name: str) -> PbxServer:
        """The PBX called ``name``; SettingsError names the known ones otherwise."""
        servers = self.pbx_servers()
        for server in servers:
            if server.name == name:
                return server
        known = ", ".join(server.name for server in servers)
        raise SettingsError(f"setting ami.servers: no PBX named {name!r} (known: {known})")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = os.environ.get("HOTLINE_CONFIG", "hotline.toml")
        toml = TomlConfigSettingsSource(settings_cls, toml_file=path)
        return (init_settings, env_settings, toml)


class SettingsError(Exception):
    """A setting is wrong; the message is one line that names it."""


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    name = ".".join(str(part) for part in first["loc"]) or "settings"
    value = first.get("input")
    # Never echo a secret into a terminal or a log.
    hidden = isinstance(value, dict) or any(w in name for w in ("secret", "password"))
    shown = "" if hidden else f" (got {value!r})"
    more = len(error.errors()) - 1
    tail = f"; and {more} more" if more else ""
    return f"setting {name}: {first['msg']}{shown}{tail}"


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings; raise SettingsError with one clear line."""
    path = os.environ.get("HOTLINE_CONFIG")
    if path and not Path(path).is_file():
        raise SettingsError(f"setting HOTLINE_CONFIG: no such file {path!r}")
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
    except ValueError as error:  # a TOML syntax error
        raise SettingsError(f"settings file {path or 'hotline.toml'}: {error}") from None
