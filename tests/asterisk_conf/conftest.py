from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotline.settings import Settings, load_settings

AGENTS = [
    {"extension": "1001", "name": "Agent One", "secret": "pw-one"},
    {"extension": "1002", "name": "王芳", "secret": "pw;two"},
]


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """Settings as a deployment gives them: secrets only from the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    monkeypatch.setenv("HOTLINE_AMI__SECRET", "ami-s3cret")
    monkeypatch.setenv("HOTLINE_PBX__AGENTS", json.dumps(AGENTS))
    monkeypatch.setenv(
        "HOTLINE_PBX__QUEUES",
        json.dumps(
            [
                {"name": "hotline-general", "members": ["1001", "1002"], "wrapuptime": 10},
                {"name": "hotline-complaint", "members": ["1002"], "strategy": "leastrecent"},
                {"name": "hotline-report", "joinempty": "no", "leavewhenempty": "yes"},
            ]
        ),
    )
    monkeypatch.setenv("HOTLINE_PBX__TRUNK_ADDRESSES", '["192.0.2.10"]')
    monkeypatch.setenv("HOTLINE_PBX__TRUNK_HOST", "sip.carrier.example:5060")
    monkeypatch.setenv("HOTLINE_PBX__TRUNK_USERNAME", "0571123450")
    monkeypatch.setenv("HOTLINE_PBX__TRUNK_SECRET", "trunk;pw")
    return load_settings()
