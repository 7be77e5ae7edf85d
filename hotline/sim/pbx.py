"""A simulated Asterisk 22 running the hotline dialplan with app_queue (default capture mode).

Callers are Local channel pairs (``Local/12345@hotline-ivr-XXXXXXXX;1``/``;2``), members are
``Local/agentN@agent-robot-XXXXXXXX;1``/``;2`` with a ``Custom:agentN`` state interface, as in
the real captures in ../shared/fixtures/asterisk. For each call the PBX emits the captures'
events, with their field names and order (channel robots' own dialplan noise, LocalBridge,
HangupHandler* and most queue VarSets are left out), and writes queue_log lines.

app_queue behaviour modelled: rrmemory (one member rung at a time, rotating, lower penalty
first), member ring timeout and retry from the queue config, ringinuse=no (a member ringing or
talking anywhere is not rung), callers ordered by priority then arrival, autofill (every waiting
caller may ring a free member), wrap-up 0, Queue() timeout (QUEUE_MAX_WAIT) -> EXITWITHTIMEOUT,
joinempty=no on a queue without unpaused members -> JOINEMPTY (logged by the dialplan).

Times are simulated epoch seconds from the scheduler; app_queue's whole-second figures
(HoldTime, TalkTime, RingTime) are differences of whole epoch seconds, as app_queue computes
them from ``time(NULL)``.

``Pbx`` is put together from mixins, one job each, over ``pbx_core.PbxCore``:

- ``pbx_state``: the records (``Member``, ``Device``, ``Ring``, ``Entry``, ``QueueState``,
  ``Call``); ``pbx_core``: state, ids, channels, queue figures, a call's end bookkeeping.
- ``queue_members``: members and their phones (device states, who is free).
- ``queue_engine``: who rings next, ringing, no answer and retry.
- ``queue_waiting``: joining Queue(), abandon, Queue()'s timeout (callback), joinempty.
- ``conversation``: answer, bridge, and the end of the conversation.
- ``transfers``: AMI BlindTransfer and Redirect to ``[hotline-transfer]``.
- ``caller_path``: 12345 rings, the IVR (built in or FastAGI), then Queue().
"""

from __future__ import annotations

import random
from collections.abc import Callable

from .caller_path import (
    AGI_ANSWER_S,
    AGI_CLOSE_AFTER_HANGUP_S,
    DEFAULT_QUEUE,
    DTMF_LENGTH_S,
    GET_DATA_TIMEOUT_S,
    PROMPT_S,
    SIP_AGI_ANSWER_S,
    CallerPath,
    IvrDriver,
)
from .cdr_writer import CdrCsvWriter
from .channels import Channel
from .emitter import Emit
from .model import CallTruth, Counters, PbxConfig
from .pbx_core import TRANSFER_CONTEXT
from .pbx_state import Call, Device, Entry, Member, QueueState, Ring
from .queue_engine import RECHECK_S
from .queue_log_writer import QueueLogMemory, QueueLogWriter
from .queue_members import MEMBER_STATUS
from .queue_waiting import BUSY_PROMPT_S, CALLBACK_STEPS_S
from .scheduler import Scheduler
from .spy_calls import SpyCall, spyee_gone
from .transfers import TRANSFER_TARGETS, Transfers

__all__ = [
    "AGI_ANSWER_S",
    "AGI_CLOSE_AFTER_HANGUP_S",
    "BUSY_PROMPT_S",
    "CALLBACK_STEPS_S",
    "DEFAULT_QUEUE",
    "DTMF_LENGTH_S",
    "GET_DATA_TIMEOUT_S",
    "MEMBER_STATUS",
    "PROMPT_S",
    "RECHECK_S",
    "SIP_AGI_ANSWER_S",
    "TRANSFER_CONTEXT",
    "TRANSFER_TARGETS",
    "Call",
    "Device",
    "Entry",
    "IvrDriver",
    "Member",
    "Pbx",
    "QueueState",
    "Ring",
]


class Pbx(CallerPath, Transfers):
    """The simulated PBX; AMI actions reach it through ``actions.PbxActions``."""

    def __init__(
        self,
        scheduler: Scheduler,
        emit: Emit,
        config: PbxConfig | None = None,
        *,
        queue_log: QueueLogWriter | QueueLogMemory | None = None,
        cdr_csv: CdrCsvWriter | None = None,
        seed: int = 0,
        systemname: str | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.systemname = systemname
        self.emit = emit
        self.config = config or PbxConfig()
        self.queue_log = queue_log
        self.cdr_csv = cdr_csv
        self.seed = seed
        self.rng = random.Random(seed)
        self.counters = Counters()
        self.truths: list[CallTruth] = []
        self.queues: dict[str, QueueState] = {q.name: QueueState(q) for q in self.config.queues}
        self.devices: dict[str, Device] = {}
        self.channels: dict[str, Channel] = {}
        # Supervisor phones in ChanSpy, by their channel name (hotline.sim.spy_calls).
        self.spies: dict[str, SpyCall] = {}
        self.on_call_end: list[Callable[[CallTruth], None]] = []
        self.ivr_driver: IvrDriver | None = None
        self._talking: set[Call] = set()
        self._uid_seq = 0
        self._local_seq = 0
        self._entry_seq = 0
        self._last_ts = 0.0
        boot = int(scheduler.now)
        for mc in self.config.members:
            for qname in mc.queues:
                self._add_member(
                    self.queues[qname], mc, "static", boot, paused=mc.paused, reason=""
                )

    def hangup(self, ch: Channel, cause: int = 16) -> None:
        if self.spies and ch.alive and not ch.ghost:
            # ChanSpy (option E) stops when the channel it spies on hangs up, before its Hangup.
            spyee_gone(self, ch)
        super().hangup(ch, cause)
