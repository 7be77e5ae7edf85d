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
    autopause: str = "no"
    announce_position: str = "no"
    announce_holdtime: str = "no"
    # Seconds between position/hold-time announcements; 0: none.
    announce_frequency: int = 0


@dataclass(frozen=True, slots=True)
class Agent:
    """One agent softphone (a PJSIP endpoint)."""

    extension: str
    name: str
    secret: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class Sip:
    """PJSIP's transports, NAT handling and codecs, shared by the trunk and the softphones."""

    bind: str = "127.0.0.1:5060"
    tcp: bool = False
    local_nets: tuple[str, ...] = ()
    external_media_address: str | None = None
    external_signaling_address: str | None = None
    nat: bool = True
    codecs: tuple[str, ...] = ("alaw", "ulaw")
    rtp_ports: tuple[int, int] = (10000, 20000)


@dataclass(frozen=True, slots=True)
class Trunk:
    """The carrier: inbound identified by source address, registration and outbound route."""

    addresses: tuple[str, ...] = ()
    host: str | None = None
    username: str = ""
    secret: str = field(default="", repr=False)
    register: bool = True
    outbound_prefix: str = "9"
    outbound_caller_id: str | None = None
    international: bool = False

    @property
    def configured(self) -> bool:
        return bool(self.addresses or self.host)


@dataclass(frozen=True, slots=True)
class Pbx:
    """The dialplan, queues and phones of the hotline, the same on every Asterisk."""

    hotline_number: str = "12345"
    inbound_context: str = "hotline-ivr"
    # The menu's default language ([menu].language): the caller's channel speaks it from the
    # start, so Asterisk's own words (queue announcements, numbers) use the hotline's prompts
    # (digits/N) and number rules, not English.
    language: str = "zh"
    fallback_agi: str = "hotline_fallback.py"
    announcements_file: Path = Path("/var/lib/hotline/announcements.json")
    fallback_prompts: tuple[str, ...] = ("hotline/welcome", "hotline/emergency-notice")
    general_queue: str = "hotline-general"
    queue_max_wait: int = 60
    record_calls: bool = True
    sip: Sip = Sip()
    trunk: Trunk = Trunk()
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
    # The queue_log file the service reads: logger.conf's queue_log_name is its file name.
    queue_log: Path = Path("/var/log/asterisk/queue_log")
    # cdr_csv's Master.csv the service reads (its folder must exist: cdr_csv does not create it).
    cdr_csv: Path = Path("/var/log/asterisk/cdr-csv/Master.csv")


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
