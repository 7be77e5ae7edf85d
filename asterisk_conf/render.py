"""Render Asterisk's configuration files from an ``AsteriskConfig`` (asterisk_conf/config.py),
which the service builds from its one settings file (hotline/asterisk_config.py).

Jinja2 templates (asterisk_conf/templates/*.j2) rather than Python string building: the
templates read like the files Asterisk loads, so an administrator can review them line by line,
and Asterisk's own ``${VAR}`` / ``$[expr]`` syntax does not clash with Jinja's ``{{ }}``
(Python f-strings would need every dialplan brace doubled). StrictUndefined turns a misspelt
template name into an error instead of an empty string in the dialplan.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from asterisk_conf import channel_vars, sounds
from asterisk_conf.config import AsteriskConfig, ManagerLogin
from asterisk_conf.dialplan_contract import OUTBOUND_CONTEXT, contract_problems

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of an Asterisk file: its own fragment file in ``fragments`` mode.

    ``section`` None: the part is whole sections with names of the hotline's own
    (``hotline-*``, the agents' extensions, ``pstn-trunk``), safe to ``#include`` at the top
    level of an existing file. Otherwise the part is option lines for that existing section
    (``[general]``, ``[globals]``, ``[csv]``, ``[options]``) and is ``#include``d inside it, so
    an administrator's own section is extended, never replaced.
    """

    target: str
    stem: str
    section: str | None = None
    private: bool = False
    # Only in a whole file: Asterisk's defaults serve an existing configuration.
    files_only: bool = False

    @property
    def fragment(self) -> str:
        return f"{self.stem}.conf"


PARTS: tuple[Part, ...] = (
    Part("asterisk.conf", "asterisk-options", "options"),
    Part("extensions.conf", "extensions-general", "general", files_only=True),
    Part("extensions.conf", "extensions-globals", "globals"),
    Part("extensions.conf", "extensions"),
    Part("queues.conf", "queues-general", "general"),
    Part("queues.conf", "queues"),
    Part("queuerules.conf", "queuerules"),
    Part("pjsip.conf", "pjsip-transports"),
    Part("pjsip.conf", "pjsip", private=True),
    Part("manager.conf", "manager-general", "general"),
    Part("manager.conf", "manager", private=True),
    Part("musiconhold.conf", "musiconhold-general", "general", files_only=True),
    Part("musiconhold.conf", "musiconhold-default", "default", files_only=True),
    Part("musiconhold.conf", "musiconhold"),
    Part("cdr.conf", "cdr-general", "general", files_only=True),
    Part("cdr.conf", "cdr-csv", "csv"),
    Part("logger.conf", "logger-general", "general"),
    Part("logger.conf", "logger-logfiles", "logfiles", files_only=True),
    Part("rtp.conf", "rtp-general", "general"),
)
MODES = ("files", "fragments")
# Rendered file -> whether it holds a secret (written readable by its owner only), per mode.
FILES: dict[str, bool] = {}
for _part in PARTS:
    FILES[_part.target] = FILES.get(_part.target, False) or _part.private
FRAGMENTS: dict[str, bool] = {part.fragment: part.private for part in PARTS if not part.files_only}
# The how-to-include notes written beside the fragments.
INCLUDES_FILE = "INCLUDES.txt"
# The music-on-hold class of the queues and phones: Asterisk's own "default" when the whole
# musiconhold.conf is ours, a class of our own beside an administrator's classes otherwise.
MOH_CLASS = {"files": "default", "fragments": "hotline"}
TRUNK_ENDPOINT = "pstn-trunk"

# The AMI classes the service needs, and why; everything else (config, command, system writes,
# originate of arbitrary apps, security, agi, reporting reads) stays closed.
AMI_READ: dict[str, str] = {
    "system": "FullyBooted",
    "call": "channels, bridges, dial, hangup, MixMonitor, ChanSpy",
    "dialplan": "Newexten, VarSet (HOTLINE_*, QUEUESTATUS, MIXMONITOR_FILENAME)",
    "agent": "Queue*, Agent*, QueueMember*",
    "cdr": "Cdr",
    "user": "UserEvent HotlineCallbackRequest",
    "dtmf": "the IVR digits",
}
AMI_WRITE: dict[str, str] = {
    "call": "Redirect, BlindTransfer, Hangup",
    "originate": "callbacks, supervisor ChanSpy",
    "agent": "QueueAdd/Remove/Pause/Penalty, QueueLog",
    "reporting": "QueueStatus, QueueSummary, CoreShowChannels, Getvar",
    "user": "UserEvent",
}

# Seconds in queue after which queuerules.conf widens the agent pool by one penalty level.
WIDEN_AFTER_S = (30, 60)
CALLBACK_MESSAGE_S = 60


class RenderError(Exception):
    """The settings cannot make a working configuration; the message names the setting."""


def _config_value(value: Any) -> str:
    # A newline in a setting would start a new configuration line: refuse rather than inject.
    # A bare ";" starts a comment in every Asterisk .conf file, so it is escaped.
    text = str(value)
    if "\n" in text or "\r" in text:
        raise RenderError(f"a setting contains a line break: {text.splitlines()[0]!r}…")
    return text.replace(";", "\\;")


def _secret(value: str) -> str:
    # Marks where a secret is written (pjsip.conf, manager.conf: rendered owner-only).
    return value


def _member_name(name: str) -> str:
    if "," in name:
        raise RenderError(f"agent name {name!r} contains a comma (queues.conf member field)")
    return name


def _transfer_exten(queue_name: str) -> str:
    # The capture's AMI transfers target exten "complaint" for queue hotline-complaint.
    return queue_name.removeprefix("hotline-")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        finalize=_config_value,
    )
    env.filters["secret"] = _secret
    env.filters["member_name"] = _member_name
    env.filters["transfer_exten"] = _transfer_exten
    return env


def fastagi_base(config: AsteriskConfig) -> str:
    """``agi://host:port`` where Asterisk reaches the FastAGI service."""
    host, port = config.fastagi_host, config.fastagi_port
    if port == 0:
        raise RenderError(
            "setting pbx.fastagi_port: needed when ivr.port is 0 (a free port chosen at start)"
        )
    return f"agi://{host}:{port}"


def _check_secrets(config: AsteriskConfig, ami: ManagerLogin) -> None:
    if not ami.secret:
        raise RenderError(
            "setting ami.secret: empty; set it in hotline.toml or HOTLINE_AMI__SECRET"
        )
    for index, agent in enumerate(config.pbx.agents):
        if not agent.secret:
            raise RenderError(
                f"setting pbx.agents.{index}.secret: empty for agent {agent.extension!r}"
            )
    trunk = config.pbx.trunk
    if trunk.username and not trunk.secret:
        raise RenderError(
            "setting pbx.trunk_secret: empty while pbx.trunk_username is set; "
            "set it in hotline.toml or HOTLINE_PBX__TRUNK_SECRET"
        )


def ami_access(ami: ManagerLogin, ami_permit: str | None = None) -> tuple[str, str]:
    """manager.conf's ``bindaddr`` and ``permit`` (address/mask): loopback unless allowed.

    AMI can originate calls and listen to every call's events: by default it is reachable
    from this host only. A non-loopback ``ami.host`` needs ``ami_permit``, the one network
    (the hotline service's address) allowed to log in.
    """
    host = "127.0.0.1" if ami.host == "localhost" else ami.host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise RenderError(
            f"setting ami.host: {ami.host!r} is not an IP address (manager.conf bindaddr needs one)"
        ) from None
    if address.is_loopback:
        permit = ipaddress.ip_network(f"{address}/{address.max_prefixlen}")
    elif ami_permit is None:
        raise RenderError(
            f"setting ami.host: {host} is not a loopback address; AMI would be reachable from "
            "the network. Render with --allow-remote-ami NETWORK (the service's address) "
            "to allow it"
        )
    else:
        try:
            permit = ipaddress.ip_network(ami_permit, strict=False)
        except ValueError:
            raise RenderError(
                f"--allow-remote-ami: {ami_permit!r} is not an address or network"
            ) from None
    return str(address), f"{permit.network_address}/{permit.netmask}"


def _host_only(host: str) -> str:
    # "sip.carrier.example:5060" -> the host; "[2001:db8::1]:5060" -> the bracketed address.
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _trunk(config: AsteriskConfig) -> dict[str, Any] | None:
    trunk = config.pbx.trunk
    if not trunk.configured:
        return None
    host_only = _host_only(trunk.host) if trunk.host else None
    return {
        "endpoint": TRUNK_ENDPOINT,
        "host": trunk.host,
        "host_only": host_only,
        "match": trunk.addresses or (host_only,),
        "auth": bool(trunk.username),
        "register": bool(trunk.host and trunk.username and trunk.register),
    }


def _outbound(config: AsteriskConfig) -> dict[str, Any] | None:
    trunk = config.pbx.trunk
    if not trunk.host:
        return None
    return {
        "context": OUTBOUND_CONTEXT,
        "prefix": trunk.outbound_prefix,
        "strip": len(trunk.outbound_prefix),
        "caller_id": trunk.outbound_caller_id or config.pbx.hotline_number,
        "endpoint": TRUNK_ENDPOINT,
    }


def _context(
    config: AsteriskConfig, ami: ManagerLogin, ami_permit: str | None, mode: str
) -> dict[str, Any]:
    base = fastagi_base(config)
    contract = channel_vars.by_key()
    bindaddr, permit = ami_access(ami, ami_permit)
    return {
        "ami_bindaddr": bindaddr,
        "ami_permit": permit,
        "sound": sounds.DIALPLAN,
        "queue_sounds": sounds.QUEUE_ANNOUNCE,
        "pbx": config.pbx,
        "ami": ami,
        "agents": {agent.extension: agent for agent in config.pbx.agents},
        "var": {key: var.name for key, var in contract.items()},
        "ref": {key: "${" + var.name + "}" for key, var in contract.items()},
        "cdr_userfield": channel_vars.cdr_userfield(),
        "ivr_url": f"{base}/ivr",
        "survey_url": f"{base}/survey",
        "recordings_dir": str(config.recordings_dir).rstrip("/"),
        "callback_message_s": CALLBACK_MESSAGE_S,
        "widen_after_s": WIDEN_AFTER_S,
        "read_classes": list(AMI_READ),
        "write_classes": list(AMI_WRITE),
        "read_classes_why": "; ".join(f"{k}: {v}" for k, v in AMI_READ.items()),
        "write_classes_why": "; ".join(f"{k}: {v}" for k, v in AMI_WRITE.items()),
        "moh_class": MOH_CLASS[mode],
        "transports": ["udp", "tcp"] if config.pbx.sip.tcp else ["udp"],
        "codecs": ",".join(config.pbx.sip.codecs),
        "trunk": _trunk(config),
        "outbound": _outbound(config),
        "queue_log_name": ami.queue_log.name,
    }


def choose_pbx(config: AsteriskConfig, name: str | None) -> ManagerLogin | None:
    """The PBX to render for: ``name``, or None for the one PBX of a plain ``[ami]`` table.

    With several PBXs every Asterisk needs its own files (its systemname, its manager login),
    so the name is required.
    """
    servers = config.servers
    if name is None:
        if len(servers) > 1:
            known = ", ".join(server.name for server in servers)
            raise RenderError(f"several PBXs in ami.servers: render one with --pbx ({known})")
        return None
    for server in servers:
        if server.name == name:
            return server
    known = ", ".join(server.name for server in servers)
    raise RenderError(f"--pbx: no PBX named {name!r} in the settings (known: {known})")


_HEADER = (
    "; Rendered by `hotline asterisk-conf render` from the hotline settings. Do not edit here:\n"
    "; change the settings and render again.\n"
)
_PRIVATE = "; Contains secrets: keep it readable by Asterisk only.\n"


def _fragment_header(part: Part) -> str:
    if part.section is None:
        where = f"; #include it at the top level of {part.target} (hotline's own sections).\n"
    else:
        where = (
            f"; #include it inside the [{part.section}] section of {part.target}; no other\n"
            "; line of that section may set the same options.\n"
        )
    return _HEADER + (_PRIVATE if part.private else "") + where


def _compose(parts: list[Part], bodies: dict[str, str]) -> str:
    """A whole file: each option part under its section header, then the sections."""
    chunks = []
    for part in parts:
        body = bodies[part.stem].strip("\n")
        if part.section is not None:
            chunks.append(f"[{part.section}]\n{body}".rstrip("\n"))
        elif body:
            chunks.append(body)
    private = any(part.private for part in parts)
    return _HEADER + (_PRIVATE if private else "") + "\n" + "\n\n".join(chunks) + "\n"


def render_all(
    config: AsteriskConfig,
    *,
    ami_permit: str | None = None,
    pbx: str | None = None,
    mode: str = "files",
) -> dict[str, str]:
    """Every configuration file's text, keyed by its file name.

    ``mode``: ``files`` renders whole files (FILES) that replace Asterisk's own; ``fragments``
    renders one file per Part (FRAGMENTS) to ``#include`` into an existing configuration (see
    ``include_instructions``).
    ``ami_permit``: the network allowed to reach a non-loopback ``ami.host`` (see ami_access).
    ``pbx``: the Asterisk of ``ami.servers`` to render for: its manager login, and an
    asterisk.conf whose ``systemname`` prefixes its uniqueids and linkedids with its name, so
    calls of different PBXs never share one (tickets and survey answers are keyed by linkedid).
    """
    if mode not in MODES:
        raise RenderError(f"--mode: {mode!r} is not one of {', '.join(MODES)}")
    ami = choose_pbx(config, pbx) or config.servers[0]
    _check_secrets(config, ami)
    env = _environment()
    context = _context(config, ami, ami_permit, mode)
    try:
        bodies = {
            part.stem: env.get_template(f"{part.fragment}.j2").render(context) for part in PARTS
        }
    except jinja2.UndefinedError as error:
        raise RenderError(f"template error: {error.message}") from error
    problems = contract_problems(bodies["extensions"])
    if problems:
        broken = "; ".join(problems)
        raise RenderError(f"extensions.conf breaks the channel-variable contract: {broken}")
    if mode == "fragments":
        return {
            part.fragment: _fragment_header(part) + "\n" + bodies[part.stem].strip("\n") + "\n"
            for part in PARTS
            if not part.files_only
        }
    targets: dict[str, list[Part]] = {}
    for part in PARTS:
        targets.setdefault(part.target, []).append(part)
    return {target: _compose(parts, bodies) for target, parts in targets.items()}


def render_warnings(config: AsteriskConfig) -> list[str]:
    """What renders but will not serve citizens as expected: said out loud, never silent."""
    pbx, warnings = config.pbx, []
    if not pbx.agents:
        warnings.append(
            "pbx.agents is empty: no agent softphone is rendered and the queues have no static "
            "member, so callers wait until agents are added at run time (QueueAdd)"
        )
    if not pbx.trunk.configured:
        warnings.append(
            "no carrier trunk (pbx.trunk_addresses and pbx.trunk_host are empty): citizens "
            "cannot call in from the public network and agents cannot call them back"
        )
    elif not pbx.trunk.host:
        warnings.append(
            "pbx.trunk_host is empty: no outbound route, agents cannot call citizens back (回访)"
        )
    host = pbx.sip.bind.rsplit(":", 1)[0].strip("[]")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback and (pbx.agents or pbx.trunk.configured):
        warnings.append(
            f"pbx.sip_bind is {pbx.sip.bind}: phones and the carrier on other hosts cannot "
            "reach PJSIP; bind the server's address (or 0.0.0.0:5060)"
        )
    external = pbx.sip.external_media_address or pbx.sip.external_signaling_address
    if external and not pbx.sip.local_nets:
        warnings.append(
            "pbx.sip_external_* is set without pbx.sip_local_nets: Asterisk would write the "
            "public address into calls with the phones on the LAN too"
        )
    return warnings


def _write_atomically(path: Path, text: str, private: bool) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600 if private else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_config(files: Mapping[str, str], out_dir: Path) -> list[Path]:
    """Write rendered files into out_dir (created); each file is replaced atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    private = {**FILES, **FRAGMENTS, INCLUDES_FILE: False}
    for name, text in files.items():
        path = out_dir / name
        _write_atomically(path, text, private.get(name, True))
        written.append(path)
    return written


def include_instructions(config: AsteriskConfig, mode: str, out_dir: Path, pbx: str | None) -> str:
    """How the rendered files become Asterisk's configuration, for the administrator."""
    ami = choose_pbx(config, pbx) or config.servers[0]
    folders = sorted({str(ami.cdr_csv.parent), str(config.recordings_dir)})
    lines = [
        "Before Asterisk starts, create the folders cdr_csv and MixMonitor write into "
        "(neither creates its own):",
        *(f"  install -d -o asterisk -g asterisk {folder}" for folder in folders),
        "",
    ]
    if mode == "files":
        lines += [
            "Whole files: copy them over Asterisk's own (as root, Asterisk's etc folder, "
            "usually /etc/asterisk):",
            f"  install -o asterisk -g asterisk -m 0644 {out_dir}/*.conf /etc/asterisk/",
            "  chmod 0600 /etc/asterisk/pjsip.conf /etc/asterisk/manager.conf",
            "They replace these files entirely (other .conf files stay as they are). To keep "
            "an existing configuration instead, render with --mode fragments.",
        ]
    else:
        targets: dict[str, list[Part]] = {}
        for part in PARTS:
            if not part.files_only:
                targets.setdefault(part.target, []).append(part)
        lines += [
            "Fragments: add these #include lines to the files in Asterisk's etc folder "
            "(/etc/asterisk). A line marked (top level) goes at the end of the file; a line "
            "marked [section] goes inside that existing section (add the section if the file "
            "has none), and no other line of that section may set the same options.",
        ]
        folder = out_dir.resolve()
        for target, parts in targets.items():
            lines.append(f"  {target}:")
            for part in parts:
                where = "(top level)" if part.section is None else f"[{part.section}]"
                lines.append(f'    #include "{folder / part.fragment}"   ; {where}')
        lines.append(
            "Leave out pjsip-transports.conf if a transport of yours already listens on "
            f"{config.pbx.sip.bind}: the endpoints use whichever transport matches."
        )
        lines.append(
            "Then: asterisk -rx 'core reload' (asterisk.conf, logger.conf and rtp.conf "
            "options need a restart)."
        )
    return "\n".join(lines) + "\n"
