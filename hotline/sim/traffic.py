"""Traffic model and simulation driver: who calls when, what they press, how long they wait.

Arrivals are a non-homogeneous Poisson process (thinning) following an hourly profile of the
local day, so a run over 09:00-11:00 shows the morning busy hour. Every random draw comes from
generators seeded by ``seed``: the same model and seed give the same events, byte for byte.

Time: the simulation clock is epoch seconds and every AMI ``Timestamp``, Uniqueid and queue_log
epoch is *simulated* time. ``run_realtime(speed)`` advances simulated time ``speed`` times faster
than the wall clock (the demo squeezes a busy hour into minutes; Timestamps then span the whole
simulated hour, so HoldTime/TalkTime stay consistent with them). ``generate`` and ``run_until``
run as fast as possible (benchmarks, tests).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from acd.ami.message import AmiMessage

from .cdr_writer import CdrCsvWriter
from .emitter import Emit
from .model import (
    INFINITY,
    CallerScript,
    CallTruth,
    Counters,
    PbxConfig,
    QueueConfig,
    default_queues,
    robot_member,
    sip_member,
)
from .pbx import Pbx
from .queue_log_writer import QueueLogWriter
from .scheduler import Scheduler, Timer

# Share of the peak rate per local hour: quiet nights, a 09-11 morning peak, a 14-16 peak.
HOTLINE_DAY: tuple[float, ...] = (
    0.05,
    0.03,
    0.02,
    0.02,
    0.03,
    0.06,
    0.15,
    0.35,
    0.70,
    1.00,
    0.95,
    0.80,
    0.55,
    0.65,
    0.90,
    0.85,
    0.70,
    0.50,
    0.35,
    0.30,
    0.25,
    0.18,
    0.12,
    0.08,
)

# IVR outcome mix: menu key, None = no key (timeout), "invalid" = a key outside the menu.
DEFAULT_IVR_MIX: dict[str | None, float] = {
    "1": 0.40,
    "2": 0.15,
    "3": 0.05,
    "4": 0.05,
    "0": 0.15,
    None: 0.15,
    "invalid": 0.05,
}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
)

# 2026-11-23 09:00 in China (UTC+8): the default start, the morning busy hour.
DEFAULT_START = 1795395600.0


@dataclass(slots=True)
class AgentProfile:
    """One robot agent: ring (answer) delay, talk time, chance of not answering at all."""

    n: int
    queues: list[str]
    ring_min: float = 2.0
    ring_max: float = 8.0
    talk_mean: float = 150.0
    talk_min: float = 20.0
    no_answer: float = 0.05

    def ring_time(self, rng: random.Random) -> float:
        if rng.random() < self.no_answer:
            return 99.0  # the dialplan robot's "never answers"
        return float(round(rng.uniform(self.ring_min, self.ring_max)))

    def talk_time(self, rng: random.Random) -> float:
        # Shifted exponential: a floor for greeting + registration, a long tail.
        return float(
            round(self.talk_min + rng.expovariate(1.0 / max(1.0, self.talk_mean - self.talk_min)))
        )


@dataclass(frozen=True, slots=True)
class Burst:
    """An outage burst (a pipe bursts, a district loses power): ``calls`` callers more than
    the model's own traffic, all from one area — their numbers start with ``prefix`` — and
    all pressing ``key`` in the menu (None: no key), arriving at random over ``minutes``
    from ``after_s`` seconds after the simulation's start."""

    prefix: str
    key: str | None
    calls: int
    minutes: float
    after_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.prefix.isdigit() or len(self.prefix) > 10:
            raise ValueError("burst prefix: 1 to 10 digits")
        if self.calls < 0 or self.minutes <= 0 or self.after_s < 0:
            raise ValueError("burst: calls ≥ 0, minutes > 0, after_s ≥ 0")

    def arrivals(self, rng: random.Random, start: float) -> list[float]:
        begin = start + self.after_s
        return sorted(begin + rng.uniform(0.0, self.minutes * 60.0) for _ in range(self.calls))

    def caller(self, script: CallerScript, rng: random.Random) -> CallerScript:
        """One of the burst's callers: the model's caller with the area's number and key."""
        rest = max(4, 11 - len(self.prefix))
        number = self.prefix + "".join(rng.choice("0123456789") for _ in range(rest))
        return replace(script, caller_num=number, dtmf=self.key, ivr_hangup_after=None)


def default_agents() -> list[AgentProfile]:
    general = ["hotline-general"]
    both = ["hotline-general", "hotline-complaint"]
    return [
        AgentProfile(1, general),
        AgentProfile(2, general),
        AgentProfile(3, both),
        AgentProfile(4, both),
        AgentProfile(5, ["hotline-complaint"]),
    ]


@dataclass(slots=True)
class TrafficModel:
    peak_calls_per_hour: float = 60.0
    hourly_profile: tuple[float, ...] = HOTLINE_DAY
    utc_offset_hours: float = 8.0
    ivr_mix: dict[str | None, float] = field(default_factory=lambda: dict(DEFAULT_IVR_MIX))
    ivr_hangup: float = 0.04  # share of callers hanging up in the IVR
    dtmf_min: float = 0.3  # seconds into GET DATA the key comes
    dtmf_max: float = 3.5
    patience_mean: float = 90.0  # exponential; abandons grow with the wait
    caller_talk_mean: float = 240.0  # the caller's own talk limit (the agent may end first)
    transfer_share: float = 0.03  # general-queue calls the agent blind-transfers to complaints
    agents: list[AgentProfile] = field(default_factory=default_agents)
    queues: list[QueueConfig] = field(default_factory=default_queues)
    record_calls: bool = True
    queue_max_wait: int = 60
    sip: bool = False  # PJSIP naming (pstn-trunk callers, agent-sipN phones) instead of Local
    moh_class: str = "default"  # PbxConfig.moh_class
    # Outage bursts on top of the hourly profile (early-warning tests and demos).
    bursts: list[Burst] = field(default_factory=list)

    def rate_at(self, epoch: float) -> float:
        """Arrival rate in calls per second at a simulated instant."""
        local = datetime.fromtimestamp(epoch, timezone(timedelta(hours=self.utc_offset_hours)))
        return self.peak_calls_per_hour * self.hourly_profile[local.hour % 24] / 3600.0

    def max_rate(self) -> float:
        return self.peak_calls_per_hour * max(self.hourly_profile) / 3600.0

    def pbx_config(self) -> PbxConfig:
        member = sip_member if self.sip else robot_member
        members = [member(a.n, a.queues, a) for a in self.agents]
        return PbxConfig(
            queues=[
                QueueConfig(q.name, q.joinempty, q.timeout, q.retry, q.servicelevel, q.strategy)
                for q in self.queues
            ],
            members=members,
            record_calls=self.record_calls,
            queue_max_wait=self.queue_max_wait,
            sip=self.sip,
            moh_class=self.moh_class,
        )

    def draw_caller(self, rng: random.Random) -> CallerScript:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        num = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
        keys = list(self.ivr_mix)
        key = rng.choices(keys, weights=[self.ivr_mix[k] for k in keys])[0]
        dtmf: str | None
        if key is None:
            dtmf, delay = None, 6.0
        else:
            # Not "#": GET DATA takes it as the end of input, not as a key.
            dtmf = rng.choice("5689*") if key == "invalid" else key
            delay = rng.uniform(self.dtmf_min, self.dtmf_max)
        ivr_hangup = rng.uniform(0.8, 6.0) if rng.random() < self.ivr_hangup else None
        patience = rng.expovariate(1.0 / self.patience_mean) if self.patience_mean > 0 else INFINITY
        talk = rng.expovariate(1.0 / self.caller_talk_mean) + 10.0
        transfer = rng.uniform(15.0, 90.0) if rng.random() < self.transfer_share else None
        # Half the transfers are AMI Redirects of the caller (no BlindTransfer trace at all).
        redirect = transfer is not None and rng.random() < 0.5
        return CallerScript(
            num,
            name,
            dtmf=dtmf,
            dtmf_delay=delay,
            ivr_hangup_after=ivr_hangup,
            patience=patience,
            talk_limit=float(round(talk)),
            transfer_after=transfer,
            transfer_by_redirect=redirect,
        )


def arrival_times(model: TrafficModel, rng: random.Random, start: float) -> Iterator[float]:
    """Successive arrival instants of the non-homogeneous Poisson process (thinning)."""
    peak = model.max_rate()
    if peak <= 0:
        return
    t = start
    while True:
        # Lewis-Shedler: candidates at the peak rate, each kept with probability rate(t)/peak.
        t += rng.expovariate(peak)
        if rng.random() * peak <= model.rate_at(t):
            yield t


class Simulation:
    """A traffic model driving the simulated PBX.

    ``emit`` receives every AMI event (use ``attach`` to serve them over AMI instead).
    """

    def __init__(
        self,
        model: TrafficModel,
        seed: int = 0,
        emit: Emit | None = None,
        queue_log_path: str | Path | None = None,
        *,
        cdr_path: str | Path | None = None,
        start: float = DEFAULT_START,
        max_calls: int | None = None,
        systemname: str | None = None,
        pbx_config: PbxConfig | None = None,
    ) -> None:
        """``pbx_config`` replaces the model's PBX (queues, members, limits): tests that play
        hand-written callers against members of their own."""
        self.model = model
        self.seed = seed
        self.scheduler = Scheduler(start)
        self.start = start
        self.queue_log = QueueLogWriter(queue_log_path) if queue_log_path else None
        self.cdr_csv = CdrCsvWriter(cdr_path) if cdr_path else None
        self._buffer: deque[AmiMessage] = deque()
        self._user_emit = emit
        self.pbx = Pbx(
            self.scheduler,
            emit or self._buffer.append,
            pbx_config or model.pbx_config(),
            queue_log=self.queue_log,
            cdr_csv=self.cdr_csv,
            seed=seed * 7919 + 1,
            systemname=systemname,
        )
        self._arrival_times = arrival_times(model, random.Random(seed), start)
        self._callers = random.Random(seed * 104729 + 3)
        self.max_calls = max_calls
        self.arrived = 0
        self._next_arrival: Timer | None = None
        self._schedule_next_arrival()
        # Burst callers come on their own timers and their own random stream, so adding a
        # burst leaves the model's own callers exactly as they were (same seed, same calls).
        self.burst_arrived = 0
        self._bursts = random.Random(seed * 15485863 + 7)
        for burst in model.bursts:
            for when in burst.arrivals(self._bursts, start):
                self.scheduler.at(when, self._burst_arrive, burst)

    # ---- what happened -------------------------------------------------------------------

    @property
    def counters(self) -> Counters:
        return self.pbx.counters

    @property
    def truths(self) -> list[CallTruth]:
        return self.pbx.truths

    @property
    def now(self) -> float:
        return self.scheduler.now

    # ---- arrivals ------------------------------------------------------------------------

    def _schedule_next_arrival(self) -> None:
        self._next_arrival = None
        if self.max_calls is not None and self.arrived >= self.max_calls:
            return
        when = next(self._arrival_times, None)
        if when is not None:
            self._next_arrival = self.scheduler.at(when, self._arrive)

    def _arrive(self) -> None:
        if self.max_calls is not None and self.arrived >= self.max_calls:
            return
        self.arrived += 1
        self.pbx.place_call(self.model.draw_caller(self._callers))
        self._schedule_next_arrival()

    def _burst_arrive(self, burst: Burst) -> None:
        self.burst_arrived += 1
        self.pbx.place_call(burst.caller(self.model.draw_caller(self._bursts), self._bursts))

    def place_call(self, script: CallerScript) -> CallTruth:
        """A hand-written caller now, besides the model's own arrivals."""
        return self.pbx.place_call(script)

    # ---- running -------------------------------------------------------------------------

    def run_until(self, until: float) -> None:
        self.scheduler.run_until(until)

    def run_for(self, seconds: float) -> None:
        self.scheduler.run_until(self.scheduler.now + seconds)

    def drain(self, limit: float = 6 * 3600) -> None:
        """Stop new arrivals and run until every call in progress has ended."""
        self.max_calls = self.arrived
        if self._next_arrival is not None:
            self._next_arrival.cancel()
            self._next_arrival = None
        deadline = self.scheduler.now + limit
        while self.pbx.active_calls() and self.scheduler.now < deadline:
            if not self.scheduler.step():
                break

    def generate(self, n_calls: int) -> Iterator[AmiMessage]:
        """Stream the events of ``n_calls`` more arrivals and of their ends, as fast as possible.

        Only for a Simulation built without ``emit`` (events are buffered, then yielded).
        """
        if self._user_emit is not None:
            raise RuntimeError("generate() needs a Simulation created without emit")
        self.max_calls = self.arrived + n_calls
        if self._next_arrival is None:
            self._schedule_next_arrival()
        buffer = self._buffer
        while True:
            while buffer:
                yield buffer.popleft()
            if self.arrived >= self.max_calls and not self.pbx.active_calls():
                break
            if not self.scheduler.step():
                break
        while buffer:
            yield buffer.popleft()

    def take_events(self) -> list[AmiMessage]:
        """Events buffered so far (Simulation built without ``emit``)."""
        out = list(self._buffer)
        self._buffer.clear()
        return out

    async def run_realtime(
        self, speed: float, stop_event: asyncio.Event, max_sleep: float = 0.25
    ) -> None:
        """Advance ``speed`` simulated seconds per wall second until ``stop_event`` is set."""
        loop = asyncio.get_running_loop()
        wall0, sim0 = loop.time(), self.scheduler.now
        while not stop_event.is_set():
            target = sim0 + (loop.time() - wall0) * speed
            self.scheduler.run_until(target)
            nxt = self.scheduler.next_time()
            delay = max_sleep if nxt is None else min(max_sleep, max(0.0, (nxt - target) / speed))
            try:
                await asyncio.wait_for(stop_event.wait(), timeout=max(delay, 0.001))
            except TimeoutError:
                pass

    def close(self) -> None:
        if self.queue_log is not None:
            self.queue_log.close()
        if self.cdr_csv is not None:
            self.cdr_csv.close()


def now_epoch() -> float:
    """Wall-clock start for a live demo (Timestamps near the real time)."""
    return math.floor(time.time())
