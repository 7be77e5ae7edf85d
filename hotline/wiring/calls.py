"""Calls: the AMI feed built from the settings, and where a finished call leg goes."""

from __future__ import annotations

from collections.abc import Callable

from acd.agents.board import AgentBoard
from acd.feed import AmiEndpoint, AmiFeed, PbxLogs
from acd.kpi import LiveKpi
from acd.records import CallRecord
from hotline.bus import Publish
from hotline.settings import PbxServer, Settings
from ticketing.writer import BufferedCallWriter


def build_feed(
    settings: Settings,
    pbx: PbxServer,
    *,
    publish: Publish,
    on_record: Callable[[CallRecord], None],
    now: Callable[[], float] | None = None,
    agents: AgentBoard | None = None,
) -> AmiFeed:
    """The feed of one PBX of ``settings.pbx_servers()``; link timings from ``settings.ami``."""
    ami = settings.ami
    endpoint = AmiEndpoint(
        host=pbx.host,
        port=pbx.port,
        username=pbx.username,
        secret=pbx.secret.get_secret_value(),
        ping_interval=ami.ping_interval,
        ping_timeout=ami.ping_timeout,
        action_timeout=ami.action_timeout,
        reconnect_min=ami.reconnect_min,
        reconnect_max=ami.reconnect_max,
    )
    logs = PbxLogs(queue_log=pbx.queue_log, cdr_csv=pbx.cdr_csv, recordings=pbx.recordings_dir)
    return AmiFeed(
        endpoint,
        logs,
        name=pbx.name,
        publish=publish,
        on_record=on_record,
        entry_contexts=[settings.pbx.inbound_context],
        now=now,
        agents=agents,
    )


class RecordSink:
    """A finished leg goes to the ticket writer (the database) and to today's KPIs.

    Called synchronously by the tracker, not through the bus: a bus subscriber's queue may
    drop an event when full, and a call record must never be dropped.
    """

    def __init__(self, kpi: LiveKpi) -> None:
        self.kpi = kpi
        self.writer: BufferedCallWriter | None = None
        self.records = 0

    def __call__(self, record: CallRecord) -> None:
        data = record.to_json()  # the call.ended payload (events.payloads.CallEnded)
        self.records += 1
        if self.writer is not None:
            self.writer.submit(data)
        self.kpi.add(data)
