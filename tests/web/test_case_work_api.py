"""The case console's routes: opening a case (with the cases it may duplicate, 并单), the
call-back's outcome over the API, a parent unit reading (not acting on) its sub-units' cases,
the chase list, the deadline in Chinese working days, and the workflow table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from hotline.settings import Settings
from hotline.web.app import create_app
from tests.web.auth_helpers import bearer
from tests.web.fake_live import FakeLive
from tests.web.test_cases_api import act, unit_token
from ticketing.store import TicketStore

Client = TestClient[Any, Any]
CALLER = "13812345678"


async def _client(aiohttp_client: Any, store: TicketStore) -> Client:
    await store.add_unit("玄武区")
    await store.add_unit("玄武区城管", parent="玄武区")
    await store.add_unit("水务局")
    client: Client = await aiohttp_client(create_app(FakeLive(), lambda: {}, store=store,
                                                     settings=Settings()))  # fmt: skip
    return client


async def test_a_case_is_opened_and_its_duplicates_offered_for_a_merge(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    agent = await bearer(store, "li", "agent")
    body = {"category": "complaint", "content": "夜市噪音", "address": "中山路1号",
            "caller_number": CALLER}  # fmt: skip
    first = await client.post("/api/cases", json=body, headers=agent)
    assert first.status == 201, await first.text()
    first_case = await first.json()
    assert first_case["status"] == "registered" and first_case["similar"] == []
    # Another caller about the same place and matter, and the same caller about another.
    same_place = {**body, "caller_number": "13900000000"}
    same_caller = {"category": "help", "content": "路灯", "caller_number": CALLER}
    for other in (same_place, same_caller):
        response = await client.post("/api/cases", json=other, headers=agent)
        similar = (await response.json())["similar"]
        assert [c["number"] for c in similar][-1] == first_case["number"]
    # The agent merges the last one into the first (并单): the first keeps the caller.
    last = (await response.json())["number"]
    merged = await act(client, agent, last, action="merge",
                       fields={"into": first_case["number"]}, expected_version=1)  # fmt: skip
    assert (await merged.json())["status"] == "merged"
    history = (await (await client.get(f"/api/cases/{first_case['number']}",
                                       headers=agent)).json())["history"]  # fmt: skip
    assert history[-1]["kind"] == "merged" and history[-1]["data"]["case"] == last
    # Bad input names its field; a unit may not open cases.
    bad = await client.post("/api/cases", json={"category": "weather"}, headers=agent)
    assert bad.status == 400 and (await bad.json())["error"]["id"] == "workflow.fields"
    unknown = await client.post("/api/cases", json={"colour": "red"}, headers=agent)
    assert (await unknown.json())["error"]["field"] == "colour"
    unit = await unit_token(store, "cg", "玄武区城管")
    assert (await client.post("/api/cases", json=body, headers=unit)).status == 403
    assert (await client.get(f"/api/cases/{last}/similar", headers=agent)).status == 200


async def test_call_back_over_the_api_and_a_parent_unit_reads_its_sub_units_cases(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    agent = await bearer(store, "li", "agent")
    street = await unit_token(store, "cg", "玄武区城管")
    district = await unit_token(store, "xw", "玄武区")
    water = await unit_token(store, "sw", "水务局")
    case = await (await client.post("/api/cases", json={"category": "help", "content": "井盖",
                                                        "caller_number": CALLER},
                                    headers=agent)).json()  # fmt: skip
    number = case["number"]
    for who, action, fields in [
        (agent, "dispatch", {"unit": "玄武区城管"}),
        (street, "sign", {}),
    ]:
        response = await act(client, who, number, action=action, fields=fields,
                             expected_version=case["version"])  # fmt: skip
        assert response.status == 200, await response.text()
        case = await response.json()
    # The district sees its street office's case, masked, but cannot act on it.
    inbox = (await (await client.get("/api/cases/inbox", headers=district)).json())["cases"]
    assert [(c["number"], c["actions"]) for c in inbox] == [(number, [])]
    assert inbox[0]["caller_number"] == "138****5678"
    refused = await act(client, district, number, action="answer",
                        fields={"answer": "x"}, expected_version=case["version"])  # fmt: skip
    assert refused.status == 409
    assert (await client.get(f"/api/cases/{number}", headers=water)).status == 404
    # The deadline in working days while the unit holds it (county preset: help, 5 wd).
    assert inbox[0]["deadline"]["working_days_left"] in range(3, 6)
    assert inbox[0]["deadline"]["overdue"] is False
    answered = await act(client, street, number, action="answer",
                         fields={"answer": "已更换井盖"}, expected_version=3)  # fmt: skip
    assert answered.status == 200

    path = f"/api/cases/{number}/call-back"
    stale = await client.post(path, json={"satisfaction": "satisfied", "expected_version": 1},
                              headers=agent)  # fmt: skip
    assert stale.status == 409
    wrong = await client.post(path, json={"satisfaction": "meh", "expected_version": 4},
                              headers=agent)  # fmt: skip
    assert wrong.status == 400 and (await wrong.json())["error"]["id"] == "workflow.fields"
    assert (await client.post(path, json={"satisfaction": "satisfied", "expected_version": 4},
                              headers=street)).status == 403  # fmt: skip
    garbled = await client.post(path, json={"reply": "还行吧", "expected_version": 4},
                                headers=agent)  # fmt: skip
    assert (await garbled.json())["error"]["field"] == "reply"
    # The citizen's text reply (SMS-style): "3" is dissatisfied, the case is redone.
    redo = await client.post(path, json={"reply": "3", "expected_version": 4}, headers=agent)
    assert (await redo.json())["status"] == "redo"
    again = await act(client, street, number, action="answer", fields={"answer": "已加固"},
                      expected_version=6)  # fmt: skip
    assert again.status == 200
    done = await client.post(path, json={"satisfaction": "satisfied", "source": "agent",
                                         "process_satisfaction": "basically_satisfied",
                                         "expected_version": 7}, headers=agent)  # fmt: skip
    assert done.status == 200
    assert (await done.json())["status"] == "archived"
    history = await store.case_history(int(case["id"]))
    by_text = next(e for e in history if e["kind"] == "call_back")
    assert by_text["data"]["fields"]["reason"] == "call-back by text"
    log = [e["action"] for e in await store.access_log(actor="li")]
    assert "case.call_back" in log and "case.register" in log


async def test_the_chase_list_and_the_workflow_table(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    agent = await bearer(store, "li", "agent")
    case = await (await client.post("/api/cases", json={"category": "help", "content": "x"},
                                    headers=agent)).json()  # fmt: skip
    await act(client, agent, case["number"], action="dispatch", fields={"unit": "水务局"},
              expected_version=1)  # fmt: skip
    later = datetime.now(UTC) + timedelta(days=40)
    notices = await store.sweep_chases(later, timedelta(hours=4))
    assert {n["level"] for n in notices} >= {"overdue"}
    boss = await bearer(store, "zhao", "supervisor")
    chases = (await (await client.get("/api/chases", headers=boss)).json())["chases"]
    assert {(c["number"], c["kind"]) for c in chases} >= {
        (case["number"], "chase"),
        (case["number"], "supervise"),
    }
    water = await unit_token(store, "sw", "水务局")
    street = await unit_token(store, "cg", "玄武区城管")
    assert (await (await client.get("/api/chases", headers=water)).json())["chases"]
    assert (await (await client.get("/api/chases", headers=street)).json())["chases"] == []
    table = await (await client.get("/api/workflow", headers=agent)).json()
    assert table["actions"]["return"]["required"] == ["reason", "basis"]
    assert "dispatched" in table["actions"]["sign"]["from"]
    units = (await (await client.get("/api/units", headers=agent)).json())["units"]
    assert {"玄武区城管": "玄武区", "玄武区": None}.items() <= {
        u["name"]: u["parent"] for u in units
    }.items()


async def test_the_deadline_policy_is_changed_by_a_supervisor_and_audited(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    agent = await bearer(store, "li", "agent")
    boss = await bearer(store, "zhao", "supervisor")
    shown = await (await client.get("/api/case-policy", headers=agent)).json()
    assert shown["source"] == "settings" and shown["policy"]["limits"]["help"] == "5wd"
    change = {"preset": "city_b", "changes": {"limits": {"help": "3wd"}}, "reason": "新规"}
    assert (await client.post("/api/case-policy", json=change, headers=agent)).status == 403
    bad = await client.post(
        "/api/case-policy", json={**change, "changes": {"limits": {"help": "x"}}}, headers=boss
    )
    assert bad.status == 400 and (await bad.json())["error"]["id"] == "policy.invalid"
    done = await client.post("/api/case-policy", json=change, headers=boss)
    assert done.status == 200
    body = await done.json()
    assert body["policy"]["preset"] == "city_b" and body["policy"]["limits"]["help"] == "3wd"
    assert body["history"][0]["actor"] == "zhao"
    [entry] = [e for e in await store.access_log(actor="zhao") if e["action"] == "case.policy"]
    assert entry["detail"]["reason"] == "新规"


async def test_a_co_unit_gives_its_opinion_and_the_lead_answers(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    agent = await bearer(store, "li", "agent")
    lead = await unit_token(store, "sw", "水务局")
    co = await unit_token(store, "cg", "玄武区城管")
    case = await (await client.post("/api/cases", json={"category": "help", "content": "积水"},
                                    headers=agent)).json()  # fmt: skip
    number = case["number"]
    jointly = {"unit": "水务局", "co_units": ["玄武区城管"]}
    await act(client, agent, number, action="dispatch", fields=jointly, expected_version=1)
    seen = await (await client.get(f"/api/cases/{number}", headers=co)).json()
    assert seen["actions"] == ["co_opinion"]
    lead_seen = await (await client.get(f"/api/cases/{number}", headers=lead)).json()
    assert "co_opinion" not in lead_seen["actions"] and "sign" in lead_seen["actions"]
    # The co-unit may not sign for the lead; its opinion goes into the history.
    assert (await act(client, co, number, action="sign", expected_version=2)).status == 409
    opinion = await act(client, co, number, action="co_opinion",
                        fields={"answer": "已清理雨水井"}, expected_version=2)  # fmt: skip
    assert opinion.status == 200 and (await opinion.json())["status"] == "dispatched"
    refused = await act(client, lead, number, action="co_opinion",
                        fields={"answer": "x"}, expected_version=3)  # fmt: skip
    assert (await refused.json())["error"]["message"].endswith("gives an opinion")
    history = (await (await client.get(f"/api/cases/{number}", headers=lead)).json())["history"]
    assert (history[-1]["kind"], history[-1]["actor"]) == ("co_opinion", "cg")


async def test_case_kpis_over_the_api(aiohttp_client: Any, store: TicketStore) -> None:
    client = await _client(aiohttp_client, store)
    agent = await bearer(store, "li", "agent")
    case = await (await client.post("/api/cases", json={"category": "help"},
                                    headers=agent)).json()  # fmt: skip
    await act(client, agent, case["number"], action="dispatch", fields={"unit": "水务局"},
              expected_version=1)  # fmt: skip
    boss = await bearer(store, "zhao", "supervisor")
    today = case["created_at"][:10]
    response = await client.get(f"/api/case-kpis?from={today}&to={today}", headers=boss)
    body = await response.json()
    assert body["cases"] == 1 and body["units"]["水务局"]["dispatched"] == 1
    assert body["units"]["水务局"]["return_rate"]["formula"].startswith("returns asked")
    assert (await client.get(f"/api/case-kpis?from={today}&to={today}",
                             headers=agent)).status == 403  # fmt: skip
    bad = await client.get("/api/case-kpis?from=x&to=y", headers=boss)
    assert bad.status == 400


async def test_the_callers_contact_is_shared_with_the_lead_unit_when_the_case_needs_it(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    agent = await bearer(store, "li", "agent")
    street = await unit_token(store, "cg", "玄武区城管")
    body = {"category": "help", "content": "需上门", "caller_number": CALLER,
            "caller_name": "张三"}  # fmt: skip
    case = await (await client.post("/api/cases", json=body, headers=agent)).json()
    number = case["number"]
    await act(client, agent, number, action="dispatch", fields={"unit": "玄武区城管"},
              expected_version=1)  # fmt: skip
    path = f"/api/cases/{number}"
    assert (await (await client.get(path, headers=street)).json())["caller_number"] == (
        "138****5678"
    )
    refused = await act(client, agent, number, action="share_caller", expected_version=2)
    assert refused.status == 400  # a reason is required
    shared = await act(client, agent, number, action="share_caller",
                       fields={"reason": "需上门核实"}, expected_version=2)  # fmt: skip
    assert shared.status == 200
    seen = await (await client.get(path, headers=street)).json()
    assert (seen["caller_number"], seen["caller_name"]) == (CALLER, "张三")
    # The district above it still sees it masked: shared with the lead unit only.
    district = await unit_token(store, "xw", "玄武区")
    assert (await (await client.get(path, headers=district)).json())["caller_name"] == "张*"
    # Inbox lists stay masked.
    inbox = (await (await client.get("/api/cases/inbox", headers=street)).json())["cases"]
    assert inbox[0]["caller_number"] == "138****5678"
