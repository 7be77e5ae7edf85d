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
from pathlib import Path
from typing import Any

import jinja2

from asterisk_conf import channel_vars, sounds
from asterisk_conf.config import AsteriskConfig, ManagerLogin
from asterisk_conf.dialplan_contract import contract_problems

TEMPLATES = Path(__file__).resolve().parent / "templates"

# Rendered file -> whether it holds a secret (written readable by its owner only).
FILES: dict[str, bool] = {
    "extensions.conf": False,
    "queues.conf": False,
    "queuerules.conf": False,
    "pjsip.conf": True,
    "manager.conf": True,
    "musiconhold.conf": False,
}
# Rendered for a named PBX only (render --pbx): asterisk.conf with its systemname.
PBX_FILES: dict[str, bool] = {"asterisk.conf": False}

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
    "reporting": "QueueStatus, QueueSummary, CoreShowChannels",
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


def _context(
    config: AsteriskConfig, ami: ManagerLogin, ami_permit: str | None = None
) -> dict[str, Any]:
    base = fastagi_base(config)
    contract = channel_vars.by_key()
    bindaddr, permit = ami_access(ami, ami_permit)
    return {
        "ami_bindaddr": bindaddr,
        "ami_permit": permit,
        "sound": sounds.DIALPLAN,
        "pbx": config.pbx,
        "ami": ami,
        "agents": {agent.extension: agent for agent in config.pbx.agents},
        "var": {key: var.name for key, var in contract.items()},
        "ref": {key: "${" + var.name + "}" for key, var in contract.items()},
        "ivr_url": f"{base}/ivr",
        "survey_url": f"{base}/survey",
        "recordings_dir": str(config.recordings_dir).rstrip("/"),
        "callback_message_s": CALLBACK_MESSAGE_S,
        "widen_after_s": WIDEN_AFTER_S,
        "read_classes": list(AMI_READ),
        "write_classes": list(AMI_WRITE),
        "read_classes_why": "; ".join(f"{k}: {v}" for k, v in AMI_READ.items()),
        "write_classes_why": "; ".join(f"{k}: {v}" for k, v in AMI_WRITE.items()),
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


def render_all(
    config: AsteriskConfig, *, ami_permit: str | None = None, pbx: str | None = None
) -> dict[str, str]:
    """Every configuration file's text, keyed by its file name (see FILES).

    ``ami_permit``: the network allowed to reach a non-loopback ``ami.host`` (see ami_access).
    ``pbx``: the Asterisk of ``ami.servers`` to render for: its manager login, and an
    asterisk.conf whose ``systemname`` prefixes its uniqueids and linkedids with its name, so
    calls of different PBXs never share one (tickets and survey answers are keyed by linkedid).
    """
    chosen = choose_pbx(config, pbx)
    ami = chosen or config.servers[0]
    _check_secrets(config, ami)
    env = _environment()
    context = _context(config, ami, ami_permit)
    names = [*FILES] if chosen is None else [*FILES, *PBX_FILES]
    try:
        files = {name: env.get_template(f"{name}.j2").render(context) for name in names}
    except jinja2.UndefinedError as error:
        raise RenderError(f"template error: {error.message}") from error
    problems = contract_problems(files["extensions.conf"])
    if problems:
        broken = "; ".join(problems)
        raise RenderError(f"extensions.conf breaks the channel-variable contract: {broken}")
    return files


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
    for name, text in files.items():
        path = out_dir / name
        _write_atomically(path, text, {**FILES, **PBX_FILES}.get(name, True))
        written.append(path)
    return written
