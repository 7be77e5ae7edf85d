"""Case attachments (附件): a unit uploads a file, answers with its reference; the hotline and
the unit (and its parent) fetch it, another unit cannot; too large and malformed refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from hotline.settings import Settings
from hotline.web.app import create_app
from tests.web.auth_helpers import bearer
from tests.web.fake_live import FakeLive
from tests.web.test_cases_api import act, unit_token
from ticketing.store import TicketStore
from ticketing.workflow import Actor

Client = TestClient[Any, Any]


async def test_a_unit_answers_with_an_uploaded_file(
    aiohttp_client: Any, store: TicketStore, tmp_path: Path
) -> None:
    await store.add_unit("玄武区")
    await store.add_unit("玄武区城管", parent="玄武区")
    await store.add_unit("水务局")
    settings = Settings.model_validate(
        {"cases": {"attachments_dir": str(tmp_path / "files"), "attachment_max_bytes": 2048}}
    )
    client: Client = await aiohttp_client(
        create_app(FakeLive(), lambda: {}, store=store, settings=settings)
    )
    case = await store.register_case(Actor("li", "agent"), {"category": "help"})
    case = await store.apply_action(case["id"], "dispatch", Actor("li", "agent"),
                                    {"unit": "玄武区城管"}, 1)  # fmt: skip
    street = await unit_token(store, "cg", "玄武区城管")
    photo = b"\x89PNG fake photo of the new manhole cover"
    uploaded = await client.post("/api/attachments?name=../井盖 照片.png", data=photo,
                                 headers=street)  # fmt: skip
    assert uploaded.status == 201, await uploaded.text()
    saved = await uploaded.json()
    assert saved["ref"].startswith("file:sha256:") and saved["size"] == len(photo)
    assert saved["name"] == "井盖 照片.png"  # no folders
    for action, fields, version in [("sign", {}, 2),
                                    ("answer", {"answer": "已更换", "attachments": [saved["ref"]]},
                                     3)]:  # fmt: skip
        response = await act(client, street, case["number"], action=action, fields=fields,
                             expected_version=version)  # fmt: skip
        assert response.status == 200, await response.text()

    digest = saved["ref"].removeprefix("file:sha256:")
    path = f"/api/attachments/{digest}"
    for who in (street, await unit_token(store, "xw", "玄武区"),
                await bearer(store, "zhao", "supervisor")):  # fmt: skip
        got = await client.get(path, headers=who)
        assert got.status == 200 and await got.read() == photo
        assert got.headers["Content-Type"] == "application/octet-stream"
        assert got.headers["Content-Disposition"].startswith("attachment; filename*=UTF-8''")
    water = await unit_token(store, "sw", "水务局")
    assert (await client.get(path, headers=water)).status == 404
    assert (await client.get("/api/attachments/../x", headers=street)).status in (400, 404)
    bad = await client.get("/api/attachments/zz", headers=street)
    assert bad.status == 400
    big = await client.post("/api/attachments?name=big.bin", data=b"x" * 4096, headers=street)
    assert big.status == 413 and (await big.json())["error"]["id"] == "attachment.too_large"
    # Uploading the same bytes again keeps one file.
    again = await client.post("/api/attachments?name=again.png", data=photo, headers=street)
    assert (await again.json())["ref"] == saved["ref"]
    assert sorted(p.name for p in (tmp_path / "files").iterdir()) == [digest, f"{digest}.json"]
