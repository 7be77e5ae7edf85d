"""Settings files and environment variables a hurried edit damaged (issue 7, fuzzing suite):
load_settings() gives Settings or the one-line SettingsError naming what is wrong; never
another exception, never a multi-line message, never a secret echoed."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.settings import Settings, SettingsError, load_settings
from tests.fuzz.conftest import budget
from tests.fuzz.mutations import odd_value
from tests.fuzz.toml_mutations import damaged_toml

SECRET = "s3cret-never-shown"
SAMPLE = f"""\
[ami]
host = "127.0.0.1"
port = 5038
username = "hotline"
secret = "{SECRET}"
ping_interval = 10.0
reconnect_min = 0.5
reconnect_max = 30.0

[database]
url = "sqlite+aiosqlite:///hotline.sqlite3"
buffer_size = 10000
retry_interval = 2.0

[kpi]
answer_threshold_s = 15
timeliness_target = 0.8
timezone = "Asia/Shanghai"

[web]
port = 8080
session_max_age_s = 43200

[mqtt]
enabled = false
topic_prefix = "hotline"

[ivr]
enabled = true
port = 4573

[pbx]
hotline_number = "12345"
general_queue = "hotline-general"
queue_max_wait = 60

[[pbx.queues]]
name = "hotline-general"
strategy = "rrmemory"
members = ["8001"]

[[pbx.queues]]
name = "hotline-complaint"

[[pbx.queues]]
name = "hotline-report"

[[pbx.agents]]
extension = "8001"
name = "Agent 1"
secret = "{SECRET}"
"""
ENV_NAMES = [
    "HOTLINE_AMI__PORT",
    "HOTLINE_AMI__SECRET",
    "HOTLINE_DATABASE__BUFFER_SIZE",
    "HOTLINE_KPI__TIMEZONE",
    "HOTLINE_KPI__TIMELINESS_TARGET",
    "HOTLINE_WEB__PORT",
    "HOTLINE_PBX__QUEUES",
    "HOTLINE_PBX__TRUNK_ADDRESSES",
    "HOTLINE_MQTT__ENABLED",
    "HOTLINE_IVR__MENU_FILE",
]


@contextlib.contextmanager
def environment(config: Path, extra: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    try:
        for name in [n for n in os.environ if n.startswith("HOTLINE_")]:
            del os.environ[name]
        os.environ["HOTLINE_CONFIG"] = str(config)
        os.environ.update(extra)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def check(text: str, env: Mapping[str, str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hotline.toml"
        path.write_text(text, "utf-8")
        with environment(path, env):
            try:
                loaded = load_settings()
            except SettingsError as error:
                message = str(error)
                assert message and "\n" not in message, message
                assert message.startswith(("setting ", "settings file ")), message
                assert SECRET not in message
            else:
                assert isinstance(loaded, Settings)


def test_the_sample_is_valid(tmp_path: Path) -> None:
    # The fuzzed file starts from a valid one, so damage is what makes it fail.
    path = tmp_path / "hotline.toml"
    path.write_text(SAMPLE, "utf-8")
    with environment(path, {}):
        assert load_settings().ami.secret.get_secret_value() == SECRET


@settings(max_examples=budget(150))
@given(text=damaged_toml(SAMPLE))
def test_damaged_file(text: str) -> None:
    check(text, {})


@settings(max_examples=budget(100))
@given(
    env=st.dictionaries(
        st.sampled_from(ENV_NAMES),
        st.one_of(odd_value(), st.sampled_from(["[", "{}", '[{"name": 1}]', "null", '"x"'])),
        max_size=3,
    )
)
def test_odd_environment(env: dict[str, str]) -> None:
    check(SAMPLE, {k: v.replace("\x00", "") for k, v in env.items()})
