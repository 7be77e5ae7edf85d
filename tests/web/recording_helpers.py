"""A store with recorded calls and real WAV files in a temporary recordings directory, for
the recordings tests (tests/web/test_recordings*.py)."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hotline.settings import AsteriskSettings, RecordingsSettings, Settings
from hotline.web.auth_accounts import create_token_account
from ticketing.agents import AgentDirectory
from ticketing.callbacks import CallbackList
from ticketing.store import TicketStore

DAY = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
WANG_CALLER = "13812345678"
LI_CALLER = "13900001111"


def write_wav(path: Path, seconds: float = 2.0) -> Path:
    """A real 8 kHz mono 16-bit WAV (what MixMonitor writes), a rising tone so it is not
    all zeros."""
    frames = int(8000 * seconds)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"".join(((i * 37) % 2000).to_bytes(2, "little") for i in range(frames)))
    return path


@dataclass
class Recorded:
    monitor: Path
    settings: Settings
    wang_call: int  # answered by wang (agent), recorded
    li_call: int  # answered by li (agent), recorded
    outside_call: int  # its stored recording path is /etc/passwd
    dotdot_call: int  # its stored path climbs out of the directory with ..
    link_call: int  # a symlink in the directory pointing outside
    gone_call: int  # the file is not there
    callback: int  # a call-back entry with a recorded message
    wang_file: Path
    headers: dict[str, dict[str, str]]  # each user's bearer header, by username


def _call(uid: str, caller: str, agent: str, interface: str, recording: str | None,
          talk: int, at: float, queue: str = "hotline-general") -> dict[str, object]:  # fmt: skip
    return {
        "linkedid": f"L{uid}",
        "uniqueid": uid,
        "caller_num": caller,
        "queue": queue,
        "outcome": "answered",
        "wait_s": 3,
        "talk_s": talk,
        "answered_by": agent,
        "member_interface": interface,
        "recording": recording,
        "recording_audio": recording is not None,
        "started_at": at,
        "queue_entered_at": at + 5,
        "answered_at": at + 8,
        "ended_at": at + 8 + talk,
    }


async def recorded_store(store: TicketStore, tmp_path: Path, *, agents_hear_own: bool = False
                         ) -> Recorded:  # fmt: skip
    monitor = tmp_path / "monitor"
    monitor.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("not a recording")
    wang_file = write_wav(monitor / "hotline-1795445510.1.wav")
    write_wav(monitor / "hotline-1795445520.1.wav")
    write_wav(monitor / "callback-1795445530.1.wav", 1.0)
    (monitor / "hotline-link.wav").symlink_to(secret)
    tokens = {}
    for username, role in (("wang", "agent"), ("li", "agent"), ("sup", "supervisor"),
                           ("qa1", "qa"), ("aud", "auditor"), ("adm", "admin")):  # fmt: skip
        token = await create_token_account(store, username, role, username.title())
        tokens[username] = {"Authorization": f"Bearer {token}"}
    directory = AgentDirectory(store.engine)
    await directory.set_agent("wang", extension="1001", name="王芳", interface="PJSIP/1001")
    await directory.set_agent("li", extension="1002", name="李强", interface="PJSIP/1002")
    at = DAY.timestamp()
    await store.save_calls(
        [
            _call("1795445510.1", WANG_CALLER, "王芳", "PJSIP/1001", str(wang_file), 95, at),
            _call("1795445520.1", LI_CALLER, "李强", "PJSIP/1002",
                  str(monitor / "hotline-1795445520.1.wav"), 20, at + 600,
                  queue="hotline-complaint"),
            _call("9.1", "13700000009", "李强", "PJSIP/1002", "/etc/passwd", 10, at + 700),
            _call("9.2", "13700000009", "李强", "PJSIP/1002",
                  str(monitor / ".." / "secret.txt"), 10, at + 800),
            _call("9.3", "13700000009", "李强", "PJSIP/1002",
                  str(monitor / "hotline-link.wav"), 10, at + 900),
            {**_call("9.4", "13700000009", "李强", "PJSIP/1002",
                     str(monitor / "hotline-9.4.wav"), 10, at + 1000),
             "ivr_choice": "blocked", "vars": {"HOTLINE_BLOCKED": "17"}},
        ]
    )  # fmt: skip
    found = {}
    async with store.engine.connect() as connection:
        from sqlalchemy import text

        for row in await connection.execute(text("SELECT id, uniqueid FROM call_records")):
            found[row.uniqueid] = int(row.id)
    callbacks = CallbackList(store.engine)
    await callbacks.add(
        [
            {
                "kind": "callback_request",
                "pbx": "pbx1",
                "linkedid": "L1795445530.1",
                "uniqueid": "1795445530.1",
                "caller_num": "13600000000",
                "caller_name": None,
                "queue": "hotline-general",
                "message_path": str(monitor / "callback-1795445530.1.wav"),
                "called_at": DAY,
            }
        ]
    )
    callback_id = (await callbacks.pending())["items"][0]["id"]
    settings = Settings(
        asterisk=AsteriskSettings(recordings_dir=monitor),
        recordings=RecordingsSettings(agents_hear_own=agents_hear_own),
    )
    return Recorded(
        monitor,
        settings,
        found["1795445510.1"],
        found["1795445520.1"],
        found["9.1"],
        found["9.2"],
        found["9.3"],
        found["9.4"],
        int(callback_id),
        wang_file,
        tokens,
    )
