"""The agent desk end to end on the simulated PBX over real AMI TCP: an agent tied to a web
user logs in to its queues, pauses with a reason, takes a call, gets its timed after-call
work, and works the call-back list (Originate seen by the simulator); PBX refusals reach the
person who clicked as one line."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from hotline.service import HotlineService
from hotline.sim.actions import attach
from hotline.sim.ami_server import AmiServer
from hotline.sim.model import CallerScript, FixedBehaviour
from hotline.sim.traffic import AgentProfile, Simulation, TrafficModel, now_epoch
from tests.service.helpers import service_settings
from tests.web.auth_helpers import create_token_account
from ticketing.agents import AgentDirectory

SPEED = 10.0


@dataclass
class Desk:
    service: HotlineService
    sim: Simulation
    http: aiohttp.ClientSession
    base: str
    headers: dict[str, str]
    queue_log: Path
    originates: list[dict[str, str]]

    async def get(self, path: str) -> tuple[int, dict[str, Any]]:
        async with self.http.get(self.base + path, headers=self.headers) as response:
            return response.status, await response.json()

    async def post(self, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        async with self.http.post(self.base + path, headers=self.headers, json=body) as r:
            return r.status, await r.json()

    async def state(self) -> dict[str, Any]:
        status, body = await self.get("/api/agent/state")
        assert status == 200, body
        return body

    async def wait_state(self, state: str, timeout: float = 10.0) -> dict[str, Any]:  # noqa: ASYNC109
        seen: dict[str, Any] = {}

        async def poll() -> None:
            nonlocal seen
            while (seen := await self.state())["state"] != state:  # noqa: ASYNC110 -- HTTP, bounded
                await asyncio.sleep(0.02)

        try:
            await asyncio.wait_for(poll(), timeout)
        except TimeoutError:
            raise AssertionError(f"state {state!r} not reached: {seen}") from None
        return seen


@asynccontextmanager
async def desk(
    tmp_path: Path, skills: dict[str, int], static_in: list[str] | None = None
) -> AsyncIterator[Desk]:
    """li's desk; with ``static_in`` li's phone is a static member of those queues (the
    PBX's configuration, as queues.conf has it), else it joins queues by QueueAdd only."""
    profiles = [AgentProfile(1, static_in, no_answer=1.0)] if static_in else []
    async with AmiServer(secret="hotline-secret") as server:
        model = TrafficModel(peak_calls_per_hour=0.0, agents=profiles)
        sim = Simulation(
            model,
            seed=1,
            queue_log_path=tmp_path / "queue_log",
            start=now_epoch(),
        )
        # The desk agent's phone (QueueAdd makes it a member): rings 8 s, talks 20 s (sim time).
        sim.pbx.config.default_behaviour = FixedBehaviour(8.0, 20.0)
        originates: list[dict[str, str]] = []
        pump = attach(sim.pbx, server)
        original = server._handlers["originate"]  # record what the PBX got

        async def seen(msg: Any) -> Any:
            originates.append(dict(msg.fields))
            return await original(msg)

        server.register_action("Originate", seen)
        settings = service_settings(tmp_path, server.port)
        settings.agents.wrap_up_s = 2
        service = HotlineService(settings, now=lambda: sim.now)
        stop = asyncio.Event()
        runner = asyncio.create_task(sim.run_realtime(SPEED, stop, max_sleep=0.01))
        await service.start()
        assert service.store is not None and service.link is not None
        await service.link.wait_connected(timeout=10)
        token = await create_token_account(service.store, "li", "agent", "李")
        if static_in:
            [member] = model.pbx_config().members
            await AgentDirectory(service.store.engine).set_agent(
                "li", extension="1001", name=member.name, interface=member.interface,
                skills=skills,
            )  # fmt: skip
            assert service.agents.desk is not None
            await service.agents.desk.load()
        else:
            await AgentDirectory(service.store.engine).set_agent(
                "li", extension="1001", name="李 1001", skills=skills
            )
        async with aiohttp.ClientSession() as http:
            try:
                yield Desk(
                    service,
                    sim,
                    http,
                    f"http://127.0.0.1:{service.web_port}",
                    {"Authorization": f"Bearer {token}"},
                    tmp_path / "queue_log",
                    originates,
                )
            finally:
                stop.set()
                await runner
                await service.stop()
                await pump.close()
                sim.close()


def _queue_log(path: Path) -> list[list[str]]:
    return [line.split("|") for line in path.read_text("utf-8").splitlines()]


async def test_login_pause_call_wrap_up_and_logout(tmp_path: Path) -> None:
    async with desk(tmp_path, {"hotline-general": 0, "hotline-complaint": 3}) as d:
        assert (await d.state())["state"] == "logged_out"
        status, body = await d.post("/api/agent/login")
        assert status == 200, body
        assert body["state"] == "ready"
        assert {(q["queue"], q["penalty"]) for q in body["queues"]} == {
            ("hotline-general", 0),
            ("hotline-complaint", 3),
        }
        status, body = await d.post("/api/agent/pause", {"reason": "用餐"})
        assert (status, body["state"], body["reason"]) == (200, "paused", "用餐")
        lines = _queue_log(d.queue_log)
        assert ["NONE", "NONE", "李 1001", "PAUSEALL", "用餐"] == lines[-3][1:]
        assert {tuple(line[2:6]) for line in lines[-2:]} == {
            ("hotline-general", "李 1001", "PAUSE", "用餐"),
            ("hotline-complaint", "李 1001", "PAUSE", "用餐"),
        }
        status, body = await d.post("/api/agent/pause", {"reason": "睡觉"})
        assert (status, body["error"]["id"], body["error"]["field"]) == (
            400,
            "agent.reason",
            "reason",
        )
        status, body = await d.post("/api/agent/ready")
        assert (status, body["state"]) == (200, "ready")

        desk_ws = await d.http.ws_connect(
            d.base.replace("http", "ws") + "/ws/desk", headers=d.headers
        )
        d.sim.place_call(CallerScript("13800138001", "张三", "1", talk_limit=60))
        ringing = await d.wait_state("ringing")
        # One masking rule (hotline.web.caller_mask): the state and the screen pop show the
        # caller's number alike — in full to the agent who takes the call.
        while (message := await desk_ws.receive_json(timeout=10))["type"] != "pop":
            pass
        assert message["pop"]["number"] == ringing["call"]["caller_num"] == "13800138001"
        assert message["pop"]["pbx"] == "pbx1"
        assert ringing["call"]["caller_name"] == "张三"
        await desk_ws.close()
        await d.wait_state("talking")
        wrap = await d.wait_state("wrap_up", timeout=15)
        assert wrap["reason"] == "话后处理"
        # The wrap-up runs out by itself (2 s here): ready again, all in queue_log.
        await d.wait_state("ready", timeout=10)
        events = [(line[3], line[4], line[5:]) for line in _queue_log(d.queue_log)]
        assert ("李 1001", "PAUSEALL", ["话后处理"]) in events
        assert ("李 1001", "UNPAUSEALL", [""]) in events

        assert d.service.writer is not None
        await d.service.writer.flush(timeout=10)
        status, figures = await d.get("/api/agent/figures")
        assert status == 200, figures
        assert figures["calls"] == 1 and figures["talk_s"] > 0
        assert figures["answered_within_share"] == 1.0
        assert figures["aht_s"] >= figures["talk_s"]
        reasons = {(s["state"], s["reason"]) for s in figures["states"]}
        assert {("paused", "用餐"), ("wrap_up", "话后处理"), ("ready", None)} <= reasons

        # Ending a wrap-up that is not running is refused, not ignored.
        status, body = await d.post("/api/agent/wrap-up/end")
        assert (status, body["error"]["id"]) == (409, "agent.not_now")

        status, body = await d.post("/api/agent/logout")
        assert (status, body["state"]) == (200, "logged_out")
        assert [line[4] for line in _queue_log(d.queue_log)[-2:]] == ["REMOVEMEMBER"] * 2


async def test_a_pbx_refusal_is_one_line_for_the_agent(tmp_path: Path) -> None:
    async with desk(tmp_path, {"hotline-nosuch": 0}) as d:
        status, body = await d.post("/api/agent/login")
        assert status == 409
        assert body["error"] == {
            "id": "agent.pbx_refused",
            "message": "log in to hotline-nosuch: Unable to add interface to queue: No such queue",
        }
        status, body = await d.post("/api/agent/pause", {"reason": "小休"})
        assert (status, body["error"]["id"]) == (409, "agent.not_now")


async def test_call_back_list_claim_and_place_the_call(tmp_path: Path) -> None:
    async with desk(tmp_path, {"hotline-general": 0}) as d:
        # Nobody is logged in: the caller waits, then hangs up (abandoned) → call-back list.
        d.sim.place_call(CallerScript("13900139002", "王五", "1", patience=8.0))

        async def listed() -> dict[str, Any]:
            while not (body := (await d.get("/api/callbacks"))[1])["items"]:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            return body

        work = await asyncio.wait_for(listed(), 20)
        assert work["open"] == 1
        item = work["items"][0]
        assert (item["kind"], item["caller_num"], item["status"]) == (
            "abandoned",
            "13900139002",  # in full to an agent, as on the screen pop (caller_mask)
            "open",
        )
        status, body = await d.post(f"/api/callbacks/{item['id']}/call")
        assert (status, body["error"]["id"]) == (409, "callback.taken")  # not claimed yet
        status, body = await d.post(f"/api/callbacks/{item['id']}/claim")
        assert (status, body["status"], body["claimed_by"]) == (200, "claimed", "li")
        await d.post("/api/agent/login")
        status, body = await d.post(f"/api/callbacks/{item['id']}/call")
        assert status == 200, body
        assert body["attempt_log"][-1]["result"] == "placed"
        # The simulator saw an Originate from the agent's phone into the callback context,
        # with the outbound route's prefix (pbx.outbound_prefix, "9") before the number.
        sent = d.originates[-1]
        assert (sent["Channel"], sent["Context"], sent["Exten"]) == (
            "PJSIP/1001",
            "hotline-outbound",
            "913900139002",
        )
        # The phone is busy with the call-back: the state machine says so.
        await d.wait_state("talking")

        async def dialled() -> list[dict[str, Any]]:
            while True:
                attempts = (await d.get(f"/api/callbacks/{item['id']}"))[1]["attempt_log"]
                if any(a["result"] == "dialled" for a in attempts):
                    return list(attempts)
                await asyncio.sleep(0.05)

        attempts = await asyncio.wait_for(dialled(), 10)
        # How the citizen's leg ended is logged by itself (DialEnd of the outbound route).
        assert [(a["result"], a["detail"]) for a in attempts] == [
            ("placed", "your phone: answered"),
            ("dialled", "citizen: ANSWER"),
        ]
        status, body = await d.post(
            f"/api/callbacks/{item['id']}/result", {"result": "reached", "note": "已答复"}
        )
        assert (status, body["status"], body["attempts"]) == (200, "done", 1)
        assert (await d.get("/api/callbacks"))[1]["open"] == 0
        # The supervisor's view of the list: done today, by whom, every attempt and result.
        boss = await _supervisor(d)
        async with d.http.get(d.base + "/api/supervisor/callbacks", headers=boss) as answer:
            board = await answer.json()
        assert (board["open"], board["claimed"], board["done"]) == (0, 0, 1)
        [entry] = board["items"]
        assert (entry["status"], entry["claimed_by"], entry["result"]) == ("done", "li", "reached")
        assert [a["result"] for a in entry["attempt_log"]] == ["placed", "dialled", "reached"]
        assert entry["age_s"] >= 0 and entry["caller_num"] == "13900139002"


async def _supervisor(d: Desk) -> dict[str, str]:
    assert d.service.store is not None
    token = await create_token_account(d.service.store, "boss", "supervisor", "班长")
    return {"Authorization": f"Bearer {token}"}


async def test_a_supervisor_pauses_and_logs_out_an_agent_remotely(tmp_path: Path) -> None:
    async with desk(tmp_path, {"hotline-general": 0, "hotline-complaint": 3}) as d:
        boss = await _supervisor(d)

        async def boss_post(path: str, body: Any) -> tuple[int, dict[str, Any]]:
            async with d.http.post(d.base + path, headers=boss, json=body) as answer:
                return answer.status, await answer.json()

        assert (await d.post("/api/agent/login"))[0] == 200
        status, body = await boss_post(
            "/api/supervisor/agents/li/pause", {"reason": "会议", "note": "班前会 team briefing"}
        )
        assert (status, body["state"], body["reason"]) == (200, "paused", "会议")
        assert (await d.state())["reason"] == "会议"  # li's own desk sees it
        lines = _queue_log(d.queue_log)
        assert {tuple(line[2:6]) for line in lines[-2:]} == {
            ("hotline-general", "李 1001", "PAUSE", "会议"),
            ("hotline-complaint", "李 1001", "PAUSE", "会议"),
        }
        async with d.http.get(d.base + "/api/supervisor/agents", headers=boss) as answer:
            [li] = (await answer.json())["items"]
        assert (li["username"], li["state"], li["reason"], li["extension"]) == (
            "li", "paused", "会议", "1001",
        )  # fmt: skip
        status, body = await boss_post("/api/supervisor/agents/li/logout", {"reason": "下班"})
        assert (status, body["state"]) == (200, "logged_out")
        assert [line[4] for line in _queue_log(d.queue_log)[-2:]] == ["REMOVEMEMBER"] * 2
        # A PBX refusal reaches the supervisor as one line, and nothing is logged for it.
        status, body = await boss_post("/api/supervisor/agents/li/pause", {"reason": "会议"})
        assert (status, body["error"]["id"]) == (409, "agent.not_now")

        # The access log: who, whom, when, why — for each remote action that was done.
        assert d.service.store is not None
        log = await d.service.store.access_log(actor="boss")
        done = [e for e in log if e["action"].startswith("agent.remote_")]
        assert [(e["action"], e["target"], e["detail"]) for e in reversed(done)] == [
            ("agent.remote_pause", "user:li", {"reason": "会议", "note": "班前会 team briefing"}),
            ("agent.remote_logout", "user:li", {"reason": "下班"}),
        ]
        assert all(e["role"] == "supervisor" and e["at"] for e in done)


async def test_the_agent_ends_the_wrap_up_early(tmp_path: Path) -> None:
    async with desk(tmp_path, {"hotline-general": 0}) as d:
        assert d.service.agents.desk is not None
        d.service.agents.desk.wrapups.seconds = 3600  # it would run for an hour
        assert (await d.post("/api/agent/login"))[0] == 200
        d.sim.place_call(CallerScript("13800138009", "张三", "1", talk_limit=60))
        wrap = await d.wait_state("wrap_up", timeout=20)
        assert wrap["reason"] == "话后处理" and wrap["wrap_up_left_s"] > 60
        status, body = await d.post("/api/agent/wrap-up/end")
        assert (status, body["state"]) == (200, "ready")
        events = [tuple(line[3:6]) for line in _queue_log(d.queue_log)]
        wrap_started = events.index(("李 1001", "PAUSEALL", "话后处理"))
        assert ("李 1001", "UNPAUSEALL", "") in events[wrap_started:]
        # The timer is gone with it: nothing pauses or unpauses the agent again later.
        assert (await d.state())["wrap_up_left_s"] is None


async def test_every_kind_of_call_back_joins_the_list_with_its_age_and_message(
    tmp_path: Path,
) -> None:
    async with desk(tmp_path, {"hotline-general": 0}) as d:
        agents = d.service.agents.desk
        assert agents is not None
        at = d.sim.now - 120
        call = {"pbx": "pbx1", "caller_name": None, "queue": "hotline-general",
                "queue_entered_at": at, "started_at": at - 20, "ended_at": at + 60}  # fmt: skip
        # What the bus brings: a queue timeout, a timeout where the caller left a message
        # (the IVR's callback step), and a dissatisfied survey answer (回访).
        await agents.on_call_ended("call.ended", {**call, "linkedid": "T1", "uniqueid": "T1",
                                                  "caller_num": "13900000001",
                                                  "outcome": "timeout"})  # fmt: skip
        await agents.on_call_ended("call.ended", {**call, "linkedid": "C1", "uniqueid": "C1",
                                                  "caller_num": "13900000002", "outcome": "timeout",
                                                  "callback_requested": True})  # fmt: skip
        await agents.flush_callbacks()  # the list's own task stores what call.ended brought
        await agents.on_survey("ivr.survey", {"pbx": "pbx1", "linkedid": "S1", "uniqueid": "S1",
                                              "caller_num": "13900000003", "answer": "dissatisfied",
                                              "at": at})  # fmt: skip
        await agents.on_survey("ivr.survey", {"pbx": "pbx1", "linkedid": "S2", "uniqueid": "S2",
                                              "caller_num": "13900000004", "answer": "satisfied",
                                              "at": at})  # fmt: skip
        status, work = await d.get("/api/callbacks")
        assert status == 200, work
        by_number = {item["caller_num"]: item for item in work["items"]}
        assert {n: item["kind"] for n, item in by_number.items()} == {
            "13900000001": "timeout",
            "13900000002": "callback_request",
            "13900000003": "survey",
        }
        message = by_number["13900000002"]["message_url"]
        assert message == f"/api/recordings/callbacks/{by_number['13900000002']['id']}/audio"
        assert by_number["13900000001"]["message_url"] is None
        assert work["open"] == 3 and work["oldest_age_s"] >= 100
        assert all(item["age_s"] >= 100 for item in work["items"])


async def test_a_static_member_logs_in_and_out_of_its_other_queues_only(tmp_path: Path) -> None:
    """A phone the PBX's configuration puts in a queue (static member) keeps working from the
    desk: log-in adds the other skill queues, pause and ready act everywhere, log-out removes
    only what QueueAdd added and says where the phone stays (pause there instead)."""
    skills = {"hotline-general": 0, "hotline-complaint": 1}
    async with desk(tmp_path, skills, static_in=["hotline-general"]) as d:
        status, body = await d.post("/api/agent/login")
        assert (status, body["state"]) == (200, "ready"), body
        assert {(q["queue"], q["dynamic"]) for q in body["queues"]} == {
            ("hotline-general", False),
            ("hotline-complaint", True),
        }
        status, body = await d.post("/api/agent/pause", {"reason": "培训"})
        assert (status, body["state"], body["reason"]) == (200, "paused", "培训")
        status, body = await d.post("/api/agent/ready")
        assert (status, body["state"]) == (200, "ready")
        status, body = await d.post("/api/agent/logout")
        assert status == 200, body
        assert body["static_queues"] == ["hotline-general"]
        assert [q["queue"] for q in body["queues"]] == ["hotline-general"]
        removed = [line[2] for line in _queue_log(d.queue_log) if line[4] == "REMOVEMEMBER"]
        assert removed == ["hotline-complaint"]
