"""Fuzz the HTTP API from its own OpenAPI description: every route, every role, no 500, no hang.

A real app (SQLite store, every role's account) serves on 127.0.0.1 from a thread of its own;
schemathesis generates requests for every operation of /api/openapi.json and sends them as each
role and as nobody. The number of examples is bounded so the whole run stays well under a
minute; a failing example is printed with the role, so it can be replayed by hand.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings

from acd.agents.actions import MemberActions
from acd.agents.board import AgentBoard
from acd.calls import CallTracker
from acd.spy import Spy
from acd.staffing import StaffingPlanner
from hotline.agent_desk import AgentDesk
from hotline.settings import CasesSettings, Settings, WebSettings
from hotline.supervision import SpyDesk
from hotline.web.app import create_app
from hotline.web.auth_table import ROLES
from tests.web.auth_helpers import bearer, open_store
from tests.web.fake_incidents import FakeIncidents
from tests.web.fake_live import FakeLive
from ticketing.agents import AgentDirectory
from ticketing.spy_log import SpyLog
from warning.areas import AreaMap
from warning.detector import Thresholds
from warning.service import EarlyWarning

EXAMPLES = 4  # per operation and role: 8 identities × ~18 operations × 4 ≈ 600 requests
TIMEOUT_S = 10.0  # a request that takes longer is a hang


@dataclass
class RunningApp:
    base_url: str
    headers: dict[str, dict[str, str]]  # role (or "anonymous") → request headers


@pytest.fixture
def running_app(tmp_path: Path) -> Iterator[RunningApp]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def start() -> None:
        store = await open_store(tmp_path)
        settings = Settings(
            web=WebSettings(session_secret="f" * 32, login_max_failures=1000),
            # Case attachments are stored: uploads answer 201/4xx, never "unavailable".
            cases=CasesSettings(attachments_dir=tmp_path / "attachments"),
        )
        # A real agent desk on the store; the fuzzed agent is tied to no phone (and no PBX is
        # connected), so its routes answer 404/409/400, never a 5xx.
        desk = AgentDesk(
            settings.agents,
            store=store,
            boards={"pbx1": AgentBoard()},
            actions={"pbx1": MemberActions(lambda: None)},
            timezone=settings.site.timezone,
            recordings_dir=str(tmp_path),
        )
        incidents = FakeIncidents()
        zone = ZoneInfo(settings.site.timezone)
        app = create_app(
            FakeLive(),
            dict,
            store=store,
            settings=settings,
            incidents=incidents,
            agents=desk,
            # Early warning and the staffing planner on the store: their answers are 2xx/4xx.
            warning=EarlyWarning(
                areas=AreaMap(),
                thresholds=Thresholds(),
                publish=lambda topic, payload: None,
                create_incident=incidents.create,
                fetch_calls=store.calls_between,
                zone=zone,
                clock=time.time,
            ),
            staffing=StaffingPlanner(store.calls_between, zone),
            # No PBX link: whatever the body, the answer is a 4xx before any Originate.
            spy=SpyDesk(
                AgentDirectory(store.engine),
                SpyLog(store.engine),
                {"pbx1": Spy(lambda: None, SpyLog(store.engine))},
                {"pbx1": CallTracker()},
                lambda interface, member: member or interface,
            ),
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        headers = {"anonymous": {}}
        for role in ROLES:
            headers[role] = await bearer(store, f"fuzz-{role}", role)
        state.update(store=store, runner=runner, port=port, headers=headers)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="fuzzed-app", daemon=True)
    thread.start()
    assert ready.wait(30), "the app did not start"
    try:
        yield RunningApp(f"http://127.0.0.1:{state['port']}", state["headers"])
    finally:

        async def stop() -> None:
            await state["runner"].cleanup()
            await state["store"].close()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def test_every_route_and_role_survives_generated_requests(running_app: RunningApp) -> None:
    admin = running_app.headers["admin"]
    spec = requests.get(f"{running_app.base_url}/api/openapi.json", headers=admin, timeout=10)
    assert spec.status_code == 200
    schema = schemathesis.openapi.from_dict(spec.json())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    failures: list[str] = []
    answered: dict[str, int] = {}  # successes per identity: the credentials did reach the app
    session = requests.Session()

    def fuzzer(operation: Any, role: str, headers: dict[str, str]) -> Callable[[], None]:
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def fuzz(case: Any) -> None:
            try:
                response = case.call(
                    base_url=running_app.base_url,
                    session=session,
                    headers=headers,
                    timeout=TIMEOUT_S,
                    allow_redirects=False,
                )
            except requests.Timeout:
                failures.append(f"{role}: hang on {case.method} {case.formatted_path}")
                return
            if response.status_code < 400:
                answered[role] = answered.get(role, 0) + 1
            if response.status_code >= 500:
                failures.append(
                    f"{role}: {response.status_code} on {case.method} {case.formatted_path}"
                    f" query={case.query} body={case.body!r}: {response.text[:200]}"
                )

        return fuzz

    for operation in operations:
        for role, headers in running_app.headers.items():
            fuzzer(operation, role, headers)()
            session.cookies.clear()
    assert failures == []
    assert set(answered) == set(running_app.headers), answered
