"""Fixtures of the real-PBX tests: the project's rendered files and prompts, a private Asterisk
per module, and the real service (in-process) following it over AMI with its FastAGI IVR."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from hotline.service import HotlineService
from hotline.settings import Settings
from tests.pbx.asterisk import (
    MOH_DIR,
    Asterisk,
    asterisk_prefix,
    free_port,
    instance_root,
    start_asterisk,
)

AMI_SECRET = "pbx-test-secret"
HOTLINE = Path(sys.executable).parent / "hotline"


def pbx_settings(root: Path, ami_port: int, ivr_port: int, data: Path) -> dict[str, Any]:
    """The settings both the renderer and the service use (one source, as in production)."""
    return {
        "ami": {
            "port": ami_port,
            "secret": AMI_SECRET,
            "reconnect_min": 0.05,
            "reconnect_max": 0.5,
        },
        "database": {
            "url": f"sqlite+aiosqlite:///{data / 'hotline.sqlite3'}",
            "retry_interval": 0.1,
            "spill_path": str(data / "spill.jsonl"),
        },
        # a session secret as production sets one: `hotline serve` starts without a warning
        "web": {"port": 0, "session_secret": "pbx-test-session-secret"},
        "asterisk": {
            "queue_log": str(root / "log" / "queue_log"),
            "cdr_csv": str(root / "log" / "cdr-csv" / "Master.csv"),
            "recordings_dir": str(root / "spool" / "monitor"),
        },
        "ivr": {"host": "127.0.0.1", "port": ivr_port},
        "pbx": {
            "announcements_file": str(data / "announcements.json"),
            "moh_directory": str(MOH_DIR),
        },
    }


def _env(settings: dict[str, Any]) -> dict[str, str]:
    """The settings as HOTLINE_* environment variables, for the `hotline` command line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    for section, values in settings.items():
        for key, value in values.items():
            # lists and tables as JSON, as pydantic-settings reads them
            text = json.dumps(value) if isinstance(value, list | dict) else str(value)
            env[f"HOTLINE_{section.upper()}__{key.upper()}"] = text
    return env


def hotline_cli(args: list[str], env: dict[str, str], cwd: Path) -> None:
    """Run the project's own command line as an administrator would; its error if it fails."""
    result = subprocess.run(
        [str(HOTLINE), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )
    if result.returncode != 0:
        raise RuntimeError(f"hotline {' '.join(args)}: {result.stderr or result.stdout}")


@pytest.fixture(scope="session")
def pbx_prefix() -> Path:
    prefix = asterisk_prefix()
    if prefix is None:
        pytest.skip(
            "no Asterisk 22 build (set HOTLINE_TEST_ASTERISK or run ./run test, which builds it)"
        )
    return prefix


@pytest.fixture(scope="session")
def pbx_sounds(pbx_prefix: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`hotline prompts build` into a sounds folder beside the build's English sounds."""
    sounds = tmp_path_factory.mktemp("sounds")
    (sounds / "en").symlink_to(pbx_prefix / "var" / "lib" / "asterisk" / "sounds" / "en")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    hotline_cli(["prompts", "build", "--out", str(sounds)], env, sounds)
    return sounds


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with the sections of ``extra`` laid over it key by key."""
    return {
        section: {**base.get(section, {}), **extra.get(section, {})} for section in {*base, *extra}
    }


@pytest.fixture(scope="module")
def pbx_overrides(pbx_sounds: Path) -> dict[str, Any]:
    """Settings a test module lays over ``pbx_settings`` (override this fixture): what an
    administrator could set, rendered and used by the service alike."""
    return {}


@pytest.fixture(scope="module")
def pbx(
    pbx_prefix: Path,
    pbx_sounds: Path,
    pbx_overrides: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Asterisk, dict[str, Any]]]:
    """A running private Asterisk with the project's own rendered configuration."""
    data = tmp_path_factory.mktemp("pbxdata")
    root = instance_root()
    settings = merged(pbx_settings(root, free_port(), free_port(), data), pbx_overrides)
    rendered = data / "rendered"
    hotline_cli(["asterisk-conf", "render", "--out", str(rendered)], _env(settings), data)
    ast = start_asterisk(pbx_prefix, root, rendered, pbx_sounds)
    try:
        yield ast, settings
    finally:
        ast.stop()
        # HOTLINE_TEST_KEEP_PBX=1 keeps the instance's folder (logs, queue_log, CDR) to read.
        if not os.environ.get("HOTLINE_TEST_KEEP_PBX"):
            shutil.rmtree(ast.root, ignore_errors=True)


@pytest_asyncio.fixture
async def service(
    pbx: tuple[Asterisk, dict[str, Any]], tmp_path: Path
) -> AsyncIterator[HotlineService]:
    """The real service, in-process: AMI feed, call tracker, store, FastAGI IVR; a fresh
    database per test."""
    _, settings = pbx
    own = {**settings, "database": pbx_settings(Path("/"), 0, 0, tmp_path)["database"]}
    svc = HotlineService(Settings.model_validate(own))
    await svc.start(web_enabled=False)
    try:
        assert svc.link is not None
        await svc.link.wait_connected(timeout=20)
        yield svc
    finally:
        await svc.stop()
