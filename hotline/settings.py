"""One typed settings object: defaults < TOML file < environment variables.

The file is ``hotline.toml`` in the working directory, or the path in ``HOTLINE_CONFIG``.
Environment variables are ``HOTLINE_<SECTION>__<NAME>``, e.g. ``HOTLINE_AMI__SECRET``.
A wrong value stops start-up with one line naming the setting (see ``load_settings``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Section(BaseModel):
    # A misspelt key in the file is an error, not a silently ignored line.
    model_config = ConfigDict(extra="forbid")


class AmiSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(5038, ge=1, le=65535)
    username: str = "hotline"
    secret: SecretStr = SecretStr("")
    # Seconds between Pings, and how long a Ping may go unanswered before the link is dead.
    ping_interval: float = Field(10.0, gt=0)
    ping_timeout: float = Field(5.0, gt=0)
    action_timeout: float = Field(10.0, gt=0)
    reconnect_min: float = Field(0.5, gt=0)
    reconnect_max: float = Field(30.0, gt=0)


class DatabaseSettings(Section):
    # SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user:pw@host/db
    url: str = "sqlite+aiosqlite:///hotline.sqlite3"
    # Finished calls waiting for the database while it is unavailable.
    buffer_size: int = Field(10_000, ge=1)
    retry_interval: float = Field(2.0, gt=0)

    @field_validator("url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value


class KpiSettings(Section):
    answer_threshold_s: int = Field(15, ge=1)  # 15秒接通
    timeliness_target: float = Field(0.80, ge=0, le=1)
    connect_target: float = Field(0.95, ge=0, le=1)
    # Callers who hang up within this many seconds of joining are "short abandons" (未接秒挂).
    short_abandon_s: int = Field(5, ge=0)
    timezone: str = "Asia/Shanghai"


class AsteriskSettings(Section):
    # The queue_log Asterisk writes; read to close calls that ended while AMI was down.
    queue_log: Path = Path("/var/log/asterisk/queue_log")
    recordings_dir: Path = Path("/var/spool/asterisk/monitor")


class WebSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class MqttSettings(Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    topic_prefix: str = "hotline"
    username: str | None = None
    password: SecretStr | None = None


class IvrSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(4573, ge=0, le=65535)
    menu_file: Path | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    ami: AmiSettings = AmiSettings()
    database: DatabaseSettings = DatabaseSettings()
    kpi: KpiSettings = KpiSettings()
    asterisk: AsteriskSettings = AsteriskSettings()
    web: WebSettings = WebSettings()
    mqtt: MqttSettings = MqttSettings()
    ivr: IvrSettings = IvrSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = os.environ.get("HOTLINE_CONFIG", "hotline.toml")
        toml = TomlConfigSettingsSource(settings_cls, toml_file=path)
        return (init_settings, env_settings, toml)


class SettingsError(Exception):
    """A setting is wrong; the message is one line that names it."""


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    name = ".".join(str(part) for part in first["loc"]) or "settings"
    value = first.get("input")
    shown = "" if isinstance(value, dict) else f" (got {value!r})"
    more = len(error.errors()) - 1
    tail = f"; and {more} more" if more else ""
    return f"setting {name}: {first['msg']}{shown}{tail}"


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings; raise SettingsError with one clear line."""
    path = os.environ.get("HOTLINE_CONFIG")
    if path and not Path(path).is_file():
        raise SettingsError(f"setting HOTLINE_CONFIG: no such file {path!r}")
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
    except ValueError as error:  # a TOML syntax error
        raise SettingsError(f"settings file {path or 'hotline.toml'}: {error}") from None
