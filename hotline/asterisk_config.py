"""The settings → asterisk_conf's own typed configuration (asterisk_conf/config.py)."""

from __future__ import annotations

from typing import Any

from asterisk_conf import render
from asterisk_conf.config import Agent, AsteriskConfig, ManagerLogin, Pbx, Queue
from hotline.settings import Settings


def asterisk_config(settings: Settings) -> AsteriskConfig:
    pbx = settings.pbx
    return AsteriskConfig(
        pbx=Pbx(
            hotline_number=pbx.hotline_number,
            inbound_context=pbx.inbound_context,
            fallback_agi=pbx.fallback_agi,
            announcements_file=pbx.announcements_file,
            fallback_prompts=tuple(pbx.fallback_prompts),
            general_queue=pbx.general_queue,
            queue_max_wait=pbx.queue_max_wait,
            record_calls=pbx.record_calls,
            sip_bind=pbx.sip_bind,
            trunk_addresses=tuple(pbx.trunk_addresses),
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
                )
                for q in pbx.queues
            ),
            agents=tuple(
                Agent(a.extension, a.name, a.secret.get_secret_value()) for a in pbx.agents
            ),
        ),
        servers=tuple(
            ManagerLogin(s.name, s.host, s.port, s.username, s.secret.get_secret_value())
            for s in settings.pbx_servers()
        ),
        fastagi_host=pbx.fastagi_host or settings.ivr.host,
        fastagi_port=pbx.fastagi_port or settings.ivr.port,
        recordings_dir=settings.asterisk.recordings_dir,
    )


def render_all(settings: Settings, **options: Any) -> dict[str, str]:
    """``asterisk_conf.render.render_all`` of the settings (options: ami_permit, pbx)."""
    return render.render_all(asterisk_config(settings), **options)
