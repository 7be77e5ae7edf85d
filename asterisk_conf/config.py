"""What the Asterisk configuration is rendered from: asterisk_conf's own typed input.

The service's settings (hotline/settings.py) build it (hotline/asterisk_config.py); the
renderer knows nothing of the service, so it can be driven by any tool that fills these in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Queue:
    """One app_queue queue (queues.conf section)."""

    name: str
    strategy: str = "rrmemory"
    timeout: int = 15
    retry: int = 2
    wrapuptime: int = 0
    servicelevel: int = 15
    joinempty: str = "yes"
    leavewhenempty: str = "no"
    maxlen: int = 0
    weight: int = 0
    # Agent extensions that are static members.
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Agent:
    """One agent softphone (a PJSIP endpoint)."""

    extension: str
    name: str
    secret: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class Pbx:
    """The dialplan, queues and phones of the hotline, the same on every Asterisk."""

    hotline_number: str = "12345"
    inbound_context: str = "hotline-ivr"
    fallback_agi: str = "hotline_fallback.py"
    announcements_file: Path = Path("/var/lib/hotline/announcements.json")
    fallback_prompts: tuple[str, ...] = ("hotline/welcome", "hotline/emergency-notice")
    general_queue: str = "hotline-general"
    queue_max_wait: int = 60
    record_calls: bool = True
    sip_bind: str = "127.0.0.1:5060"
    trunk_addresses: tuple[str, ...] = ()
    moh_directory: Path = Path("/var/lib/asterisk/moh")
    queues: tuple[Queue, ...] = ()
    agents: tuple[Agent, ...] = ()


@dataclass(frozen=True, slots=True)
class ManagerLogin:
    """One Asterisk's AMI (manager.conf) and its name (asterisk.conf systemname)."""

    name: str
    host: str
    port: int
    username: str
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class AsteriskConfig:
    """Everything the templates need; ``servers`` has one entry per Asterisk (at least one)."""

    pbx: Pbx
    servers: tuple[ManagerLogin, ...]
    # Where Asterisk reaches the FastAGI IVR; port 0 cannot be rendered (chosen at start).
    fastagi_host: str
    fastagi_port: int
    recordings_dir: Path
    # Which setting each field came from, for error messages ("ami.secret", …).
    secret_setting: str = "ami.secret"
