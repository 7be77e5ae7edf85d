from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient
from rich.console import Console

from hotline.progress import render_progress
from hotline.web.app import PUSHER, create_app
from hotline.web.app import STATIC as STATIC_DIR
from hotline.web.wallboard import build_snapshot, mask_callers, mask_number
from tests.web.auth_helpers import kiosk_login
from tests.web.fake_live import CALLER, MASKED, FakeLive
from ticketing.store import TicketStore

ALL_OK: dict[str, Any] = {"ami": {"ok": True}, "database": {"ok": True}, "mqtt": {"ok": True}}


def healthy() -> dict[str, Any]:
    return ALL_OK


SignedIn = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def signed_in(aiohttp_client: Any, store: TicketStore) -> SignedIn:
    """A client of ``create_app(*args, **kwargs)`` whose screen opened a kiosk link."""

    async def make(*args: Any, **kwargs: Any) -> TestClient[Any, Any]:
        client: TestClient[Any, Any] = await aiohttp_client(
            create_app(*args, store=store, **kwargs)
        )
        await kiosk_login(client, store)
        return client

    return make


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13800138001", "138****8001"),
        ("+8613800138001", "+86138****8001"),
        ("02584001234", "025****1234"),
        ("84001234", "****1234"),
        ("8001", "**01"),
        ("张三", "张*"),
        ("", ""),
    ],
)
def test_mask_number(raw: str, masked: str) -> None:
    assert mask_number(raw) == masked


def test_masking_reaches_every_caller_field_and_spares_the_rest() -> None:
    data = {
        "caller_num": "13800138001",
        "caller_name": "张三",
        "callers": ["13912345678"],
        "caller": {"num": 13800138001},
        "incident": "停水 water outage",
        "linkedid": "1732540000.12",
        "agent": "1001",
    }
    assert mask_callers(data) == {
        "caller_num": "138****8001",
        "caller_name": "张*",
        "callers": ["139****5678"],
        "caller": {"num": "138****8001"},
        "incident": "停水 water outage",
        "linkedid": "1732540000.12",
        "agent": "1001",
    }


async def test_api_wallboard_gives_queues_calls_and_kpis_masked(signed_in: SignedIn) -> None:
    client = await signed_in(FakeLive(), healthy)
    response = await client.get("/api/wallboard")
    assert response.status == 200
    text = await response.text()
    assert CALLER not in text and "13912345678" not in text
    body = json.loads(text)
    consult = body["queues"][0]
    assert consult["name"] == "hotline-general"
    assert consult["waiting"][0]["caller"] == MASKED
    assert [m["state"] for m in consult["members"]] == ["talking", "idle", "paused", "ringing"]
    assert 74 <= consult["members"][0]["for_s"] <= 77
    assert [c["stage"] for c in body["calls"]] == ["queued", "talking", "ivr"]
    assert body["summary"] == {
        "in_flight": 3,
        "by_stage": {"ivr": 1, "queued": 1, "ringing": 0, "talking": 1},
    }
    timeliness = body["kpis"]["answer_timeliness"]
    assert timeliness["label_zh"] == "15秒接通率"
    assert (timeliness["numerator"], timeliness["denominator"]) == (38, 41)
    assert timeliness["meets_target"] is True
    assert body["kpis"]["connect_rate"]["meets_target"] is False
    # Headline figures first, in the wallboard's order; the engine's extra figures after.
    assert list(body["kpis"]) == [
        "answer_timeliness",
        "connect_rate",
        "offered",
        "answered",
        "abandoned",
        "short_abandons",
    ]
    assert body["kpis"]["short_abandons"]["primary"] is False
    assert body["kpis"]["short_abandons"]["label_zh"] == "未接秒挂"
    assert body["kpis"]["offered"]["primary"] is True
    assert body["errors"] == {}


async def test_a_failing_live_view_part_is_reported_not_fatal(
    signed_in: SignedIn, caplog: pytest.LogCaptureFixture
) -> None:
    live = FakeLive()
    live.fail = "queues"
    client = await signed_in(live, healthy)
    with caplog.at_level(logging.ERROR, logger="hotline.web.wallboard"):
        response = await client.get("/api/wallboard")
    body = await response.json()
    assert response.status == 200
    assert body["queues"] == []
    assert body["errors"] == {"queues": "RuntimeError: queue state unavailable"}
    assert len(body["calls"]) == 3
    assert "failed to give queues" in caplog.text


async def test_healthz_is_200_when_every_component_is_ok(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(FakeLive(), healthy))
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"ok": True, "degraded": {}, "components": ALL_OK}


async def test_healthz_is_503_and_names_what_is_degraded(aiohttp_client: Any) -> None:
    components = {
        "ami": {"ok": False, "error": "connection refused", "since": datetime(2026, 11, 25, 13)},
        "database": {"ok": False, "buffered": 12},
        "mqtt": {"ok": True},
        "ivr": {"listening": True},  # no "ok": not known to be healthy
    }
    client = await aiohttp_client(create_app(FakeLive(), lambda: components))
    response = await client.get("/healthz")
    assert response.status == 503
    body = await response.json()
    assert body["ok"] is False
    assert set(body["degraded"]) == {"ami", "database", "ivr"}
    assert body["degraded"]["ami"] == {
        "ok": False,
        "error": "connection refused",
        "since": "2026-11-25 13:00:00",
    }
    assert body["components"]["database"] == {"ok": False, "buffered": 12}
    assert body["components"]["mqtt"] == {"ok": True}


async def test_healthz_is_503_when_the_health_check_itself_fails(aiohttp_client: Any) -> None:
    def broken() -> dict[str, Any]:
        raise OSError("disk gone")

    client = await aiohttp_client(create_app(FakeLive(), broken))
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["degraded"] == {
        "health": {"ok": False, "error": "OSError: disk gone"}
    }


# uPlot 1.6.32's dist/uPlot.iife.min.js as `npm pack uplot@1.6.32` gives it (README: Dependencies).
UPLOT_SHA256 = "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f"


async def test_page_and_assets_are_served_locally(signed_in: SignedIn) -> None:
    client = await signed_in(FakeLive(), healthy)
    page = await client.get("/")
    assert page.status == 200 and page.content_type == "text/html"
    html = await page.text()
    assets = [a for a in re.findall(r'(?:src|href)="([^"]+)"', html) if a != "data:,"]
    assert assets == [
        "/static/uPlot.min.css",
        "/static/wallboard.css",
        "/static/uPlot.iife.min.js",
        "/static/ws_reconnect.js",
        "/static/wallboard.js",
    ]
    for asset in assets:
        response = await client.get(asset)
        assert response.status == 200, asset
    # Nothing on the page may load from the internet. The vendored chart library's only URL
    # is its banner comment (its home page); the file is npm's uplot 1.6.32 byte for byte.
    for path in STATIC_DIR.iterdir():
        if path.suffix in {".html", ".js", ".css"}:
            text = path.read_text()
            if path.name == "uPlot.iife.min.js":
                assert hashlib.sha256(path.read_bytes()).hexdigest() == UPLOT_SHA256
                text = text.replace("https://github.com/leeoniya/uPlot", "", 1)
            assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text), path


async def test_websocket_sends_the_picture_then_pushes_changes(signed_in: SignedIn) -> None:
    live = FakeLive()
    client = await signed_in(live, healthy, push_interval=0.05)
    async with client.ws_connect("/ws") as ws:
        first = await ws.receive_json(timeout=5)
        assert first["type"] == "wallboard"
        assert first["kpis"]["answered"]["value"] == 41
        assert first["queues"][0]["waiting"][0]["caller"] == MASKED

        live.answered = 48
        while True:  # a push may still carry the old figure; the new one must follow
            update = await ws.receive_json(timeout=5)
            if update["kpis"]["answered"]["value"] == 48:
                break
        assert update["kpis"]["connect_rate"]["numerator"] == 48
        assert update["kpis"]["connect_rate"]["meets_target"] is True


async def test_unchanged_picture_is_not_pushed_again() -> None:
    app = create_app(FakeLive(), healthy)
    pusher = app[PUSHER]
    live = FakeLive()
    # for_s values follow the clock; pin it so that only real changes count.
    pusher._snapshot = lambda: build_snapshot(live, now=lambda: 1_800_000_000.0)
    assert await pusher.push_if_changed() is True
    assert await pusher.push_if_changed() is False
    live.offered = 60
    assert await pusher.push_if_changed() is True


async def test_poke_brings_the_push_forward(signed_in: SignedIn) -> None:
    live = FakeLive()
    # A long interval: only the poke can make the update arrive within the timeout.
    client = await signed_in(live, healthy, push_interval=30)
    async with client.ws_connect("/ws") as ws:
        await ws.receive_json(timeout=5)
        live.offered = 70
        client.app[PUSHER].poke("call.offered", {})
        # The first push after start is not rate-limited; later ones are spaced by interval.
        update = await ws.receive_json(timeout=5)
        assert update["kpis"]["offered"]["value"] == 70


async def test_screens_are_closed_on_shutdown(signed_in: SignedIn) -> None:
    client = await signed_in(FakeLive(), healthy)
    ws = await client.ws_connect("/ws")
    await ws.receive_json(timeout=5)
    assert len(client.app[PUSHER].clients) == 1
    await client.app.shutdown()
    message = await ws.receive(timeout=5)
    assert message.type in {WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING}
    await ws.close()


def test_progress_view_shows_calls_and_figures() -> None:
    console = Console(width=120, record=True, color_system=None)
    console.print(render_progress(FakeLive()))
    text = console.export_text()
    assert "进行中 in flight" in text and re.search(r"in flight\s+3", text)
    assert re.search(r"answered\s+41", text)
    assert re.search(r"15秒接通率 answer ≤ 15 s\s+92\.7 %\s+≥ 80 %\s+38 ÷ 41", text)
    assert re.search(r"人工接通率 human connect rate\s+82\.0 %\s+≥ 95 %\s+41 ÷ 50", text)
    assert CALLER not in text
