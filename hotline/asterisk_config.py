"""The settings → asterisk_conf's own typed configuration (asterisk_conf/config.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from asterisk_conf import render
from asterisk_conf.config import Agent, AsteriskConfig, ManagerLogin, Pbx, Queue, Sip, Trunk
from hotline.prompts import DEFAULT_LANGUAGE, is_language
from hotline.settings import Settings
from ivr.menu_source import DEFAULT_MENU


def menu_language(path: Path) -> str:
    """The menu's default language ([menu].language); the menu's own default when the file
    cannot be read (the IVR refuses such a menu loudly at start; rendering need not)."""
    try:
        menu = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("menu", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return DEFAULT_LANGUAGE
    language = menu.get("language") if isinstance(menu, dict) else None
    return language if isinstance(language, str) and is_language(language) else DEFAULT_LANGUAGE


def asterisk_config(settings: Settings) -> AsteriskConfig:
    pbx = settings.pbx
    return AsteriskConfig(
        pbx=Pbx(
            hotline_number=pbx.hotline_number,
            language=menu_language(settings.ivr.menu_file or DEFAULT_MENU),
            inbound_context=pbx.inbound_context,
            fallback_agi=pbx.fallback_agi,
            announcements_file=pbx.announcements_file,
            fallback_prompts=tuple(pbx.fallback_prompts),
            general_queue=pbx.general_queue,
            queue_max_wait=pbx.queue_max_wait,
            record_calls=pbx.record_calls,
            sip=Sip(
                bind=pbx.sip_bind,
                tcp=pbx.sip_tcp,
                local_nets=tuple(pbx.sip_local_nets),
                external_media_address=pbx.sip_external_media_address,
                external_signaling_address=pbx.sip_external_signaling_address,
                nat=pbx.sip_nat,
                codecs=tuple(pbx.sip_codecs),
                rtp_ports=(pbx.rtp_port_min, pbx.rtp_port_max),
            ),
            trunk=Trunk(
                addresses=tuple(pbx.trunk_addresses),
                host=pbx.trunk_host,
                username=pbx.trunk_username,
                secret=pbx.trunk_secret.get_secret_value(),
                register=pbx.trunk_register,
                outbound_prefix=pbx.outbound_prefix,
                outbound_caller_id=pbx.outbound_caller_id,
                international=pbx.outbound_international,
            ),
            moh_directory=pbx.moh_directory,
            queues=tuple(
                Queue(
                    name=q.name,
                    strategy=q.strategy,
                    timeout=q.timeout,
                    retry=q.retry,
                    wrapuptime=q.wrapuptime,
                    servicelevel=q.servicelevel,
                    joinempty=q.joinempty,
                    leavewhenempty=q.leavewhenempty,
                    maxlen=q.maxlen,
                    weight=q.weight,
                    members=tuple(q.members),
                    autopause=q.autopause,
                    announce_position=q.announce_position,
                    announce_holdtime=q.announce_holdtime,
                    announce_frequency=q.announce_frequency,
                )
                for q in pbx.queues
            ),
            agents=tuple(
                Agent(a.extension, a.name, a.secret.get_secret_value()) for a in pbx.agents
            ),
        ),
        servers=tuple(
            ManagerLogin(
                s.name,
                s.host,
                s.port,
                s.username,
                s.secret.get_secret_value(),
                queue_log=s.queue_log,
                cdr_csv=s.cdr_csv,
            )
            for s in settings.pbx_servers()
        ),
        fastagi_host=pbx.fastagi_host or settings.ivr.host,
        fastagi_port=pbx.fastagi_port or settings.ivr.port,
        recordings_dir=settings.asterisk.recordings_dir,
    )


def render_all(settings: Settings, **options: Any) -> dict[str, str]:
    """``asterisk_conf.render.render_all`` of the settings (options: ami_permit, pbx, mode)."""
    return render.render_all(asterisk_config(settings), **options)
