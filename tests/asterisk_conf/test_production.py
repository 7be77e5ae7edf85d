"""A configuration an administrator deploys: PJSIP for a real network and carrier, the outbound
route, cdr/logger/asterisk/rtp options, whole files or #include fragments, and warnings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from asterisk_conf.dialplan_contract import OUTBOUND_CONTEXT, callback_originate
from asterisk_conf.render import FRAGMENTS, INCLUDES_FILE, PARTS, RenderError
from hotline.asterisk_config import render_all
from hotline.cli import cli
from hotline.settings import Settings, SettingsError, load_settings
from tests.asterisk_conf.conf import section, sections
from tests.asterisk_conf.dialplan_runner import Channel, run


def bare_options(text: str) -> list[str]:
    """The option names of a fragment meant for inside an existing section (no header)."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith(";")]
    assert not [line for line in lines if line.startswith("[")], text
    return [line.split("=", 1)[0].strip() for line in lines]


def with_pbx(settings: Settings, **update: object) -> Settings:
    return settings.model_copy(update={"pbx": settings.pbx.model_copy(update=update)})


def test_pjsip_transport_binds_the_setting_with_nat_and_tcp(settings: Settings) -> None:
    lan = with_pbx(
        settings,
        sip_bind="0.0.0.0:5060",
        sip_tcp=True,
        sip_local_nets=["192.168.0.0/16", "10.0.0.0/8"],
        sip_external_media_address="203.0.113.5",
        sip_external_signaling_address="203.0.113.5",
    )
    text = render_all(lan)["pjsip.conf"]
    udp = section(text, "hotline-udp", type="transport")
    assert udp["protocol"] == ["udp"] and udp["bind"] == ["0.0.0.0:5060"]
    assert udp["local_net"] == ["192.168.0.0/16", "10.0.0.0/8"]
    assert udp["external_media_address"] == ["203.0.113.5"]
    assert udp["external_signaling_address"] == ["203.0.113.5"]
    tcp = section(text, "hotline-tcp", type="transport")
    assert tcp["protocol"] == ["tcp"] and tcp["bind"] == ["0.0.0.0:5060"]
    # without the options: one UDP transport, no NAT rewriting
    plain = render_all(settings)["pjsip.conf"]
    assert "hotline-tcp" not in plain and "external_" not in plain
    assert "local_net" not in plain


def test_softphones_nat_codecs_qualify_and_one_contact(settings: Settings) -> None:
    text = render_all(settings)["pjsip.conf"]
    endpoint = section(text, "1001", type="endpoint")
    # G.711 A-law first, as Chinese carriers use
    assert endpoint["disallow"] == ["all"] and endpoint["allow"] == ["alaw,ulaw"]
    for option in ("rtp_symmetric", "force_rport", "rewrite_contact"):
        assert endpoint[option] == ["yes"], option
    aor = section(text, "1001", type="aor")
    assert aor["max_contacts"] == ["1"] and aor["remove_existing"] == ["yes"]
    assert aor["qualify_frequency"] == ["30"]
    no_nat = render_all(with_pbx(settings, sip_nat=False, sip_codecs=["ulaw"]))["pjsip.conf"]
    endpoint = section(no_nat, "1001", type="endpoint")
    assert "rtp_symmetric" not in endpoint and endpoint["allow"] == ["ulaw"]


def test_trunk_identifies_by_ip_registers_and_authenticates(settings: Settings) -> None:
    text = render_all(settings)["pjsip.conf"]
    endpoint = section(text, "pstn-trunk", type="endpoint")
    assert endpoint["context"] == ["hotline-ivr"]
    assert endpoint["allow"] == ["alaw,ulaw"]
    assert endpoint["outbound_auth"] == ["pstn-trunk-auth"] and endpoint["aors"] == ["pstn-trunk"]
    assert endpoint["rtp_symmetric"] == ["yes"] and endpoint["force_rport"] == ["yes"]
    assert section(text, "pstn-trunk", type="identify")["match"] == ["192.0.2.10"]
    aor = section(text, "pstn-trunk", type="aor")
    assert aor["contact"] == ["sip:sip.carrier.example:5060"]
    auth = section(text, "pstn-trunk-auth", type="auth")
    assert auth["username"] == ["0571123450"] and auth["password"] == ["trunk;pw"]
    registration = section(text, "pstn-trunk", type="registration")
    assert registration["server_uri"] == ["sip:sip.carrier.example:5060"]
    assert registration["client_uri"] == ["sip:0571123450@sip.carrier.example"]
    assert registration["outbound_auth"] == ["pstn-trunk-auth"]
    assert registration["contact_user"] == ["12345"]
    assert registration["line"] == ["yes"] and registration["endpoint"] == ["pstn-trunk"]


def test_trunk_by_ip_only_or_without_registration(settings: Settings) -> None:
    by_ip = with_pbx(settings, trunk_host=None, trunk_username="")
    text = render_all(by_ip)["pjsip.conf"]
    assert section(text, "pstn-trunk", type="identify")["match"] == ["192.0.2.10"]
    assert "type = registration" not in text and "pstn-trunk-auth" not in text
    assert "aors" not in section(text, "pstn-trunk", type="endpoint")
    no_register = render_all(with_pbx(settings, trunk_register=False))["pjsip.conf"]
    assert "type = registration" not in no_register
    assert "pstn-trunk-auth" in no_register  # the INVITEs still authenticate
    # a host and no address: the carrier is identified by its host
    by_host = render_all(with_pbx(settings, trunk_addresses=[]))["pjsip.conf"]
    assert section(by_host, "pstn-trunk", type="identify")["match"] == ["sip.carrier.example"]


def test_trunk_login_needs_its_secret_and_host(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import SecretStr

    with pytest.raises(RenderError, match=r"^setting pbx\.trunk_secret: empty"):
        render_all(with_pbx(settings, trunk_secret=SecretStr("")))
    monkeypatch.delenv("HOTLINE_PBX__TRUNK_HOST")
    with pytest.raises(SettingsError, match="trunk_username is set but trunk_host"):
        load_settings()


def outbound_call(settings: Settings, exten: str) -> Channel:
    dialplan = render_all(settings)["extensions.conf"]
    globals_ = {k: v[0] for k, v in section(dialplan, "globals").items()}
    channel = Channel(variables={"UNIQUEID": "1795445274.9", "CALLERID(num)": "1001"})
    variables = channel.variables
    variables["EXTEN"] = exten
    # ${EXTEN:1}: the runner substitutes plain names, so the stripped number is given as is
    return run(
        dialplan.replace("${EXTEN:1}", exten[1:]),
        OUTBOUND_CONTEXT,
        "_9X.",
        channel,
        lambda c, a: None,
        lambda c, a: None,
        globals_,
    )


def test_outbound_route_dials_the_citizen_through_the_trunk(settings: Settings) -> None:
    dialplan = render_all(settings)["extensions.conf"]
    # softphones reach it from their own context
    agents = next(opts for name, opts in sections(dialplan) if name == "hotline-agents")
    assert ("include", OUTBOUND_CONTEXT) in agents
    channel = outbound_call(settings, "913900001111")
    assert channel.trace == [
        "NoOp(Call-back from 1001 to 13900001111)",
        "MixMonitor(outbound-1795445274.9.wav,b)",
        "Dial(PJSIP/13900001111@pstn-trunk,60)",
        "Hangup",
    ]
    # the citizen sees the hotline's number
    assert channel.variables["CALLERID(all)"] == '"12345" <12345>'
    # international numbers are refused unless allowed
    assert "exten => _900.,1," in dialplan and "Hangup(21)" in dialplan
    allowed = render_all(with_pbx(settings, outbound_international=True))["extensions.conf"]
    assert "_900." not in allowed


def test_outbound_prefix_and_caller_id_are_settings(settings: Settings) -> None:
    dialplan = render_all(with_pbx(settings, outbound_prefix="0", outbound_caller_id="057112345"))[
        "extensions.conf"
    ]
    assert re.search(r"^exten => _0X\.,1,", dialplan, re.M)
    assert 'Set(CALLERID(all)="057112345" <057112345>)' in dialplan
    assert "Dial(PJSIP/${EXTEN:1}@pstn-trunk,60)" in dialplan


def test_callback_originate_matches_the_rendered_route(settings: Settings) -> None:
    fields = callback_originate("PJSIP/1001", "13900001111", settings.pbx.outbound_prefix)
    assert fields["Channel"] == "PJSIP/1001"
    assert fields["Context"] == OUTBOUND_CONTEXT and fields["Priority"] == "1"
    dialplan = render_all(settings)["extensions.conf"]
    pattern = re.search(rf"^\[{OUTBOUND_CONTEXT}\]", dialplan, re.M)
    assert pattern, "the outbound context is rendered"
    # the Exten matches the route's pattern (_9X.), not the international refusal (_900.)
    assert re.fullmatch(r"9[0-9]+", fields["Exten"]) and not fields["Exten"].startswith("900")
    with pytest.raises(ValueError, match="digits only"):
        callback_originate("PJSIP/1001", "139;evil", "9")


def test_queue_options_an_administrator_expects(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    text = render_all(settings)["queues.conf"]
    general = section(text, "hotline-general")
    # defaults keep app_queue's behaviour: nobody paused, nothing announced
    assert general["autopause"] == ["no"] and general["announce-frequency"] == ["0"]
    queues = [
        {
            "name": "hotline-general",
            "autopause": "all",
            "announce_position": "limit",
            "announce_holdtime": "once",
            "announce_frequency": 45,
        },
        {"name": "hotline-complaint"},
        {"name": "hotline-report"},
    ]
    monkeypatch.setenv("HOTLINE_PBX__QUEUES", json.dumps(queues))
    general = section(render_all(load_settings())["queues.conf"], "hotline-general")
    assert general["autopause"] == ["all"]
    assert general["announce-position"] == ["limit"]
    assert general["announce-holdtime"] == ["once"]
    assert general["announce-frequency"] == ["45"]


def test_cdr_logger_rtp_and_asterisk_options_are_rendered(settings: Settings) -> None:
    files = render_all(settings)
    csv = section(files["cdr.conf"], "csv")
    # linkedid comes with newcdrcolumns; uniqueid with loguniqueid
    for option in ("usegmtime", "loguniqueid", "loguserfield", "newcdrcolumns"):
        assert csv[option] == ["yes"], option
    logger = section(files["logger.conf"], "general")
    assert logger["queue_log"] == ["yes"] and logger["queue_log_to_file"] == ["yes"]
    assert logger["queue_log_name"] == ["queue_log"]
    assert "messages.log" in section(files["logger.conf"], "logfiles")
    rtp = section(files["rtp.conf"], "general")
    assert rtp["rtpstart"] == ["10000"] and rtp["rtpend"] == ["20000"]
    assert section(files["asterisk.conf"], "options")["systemname"] == ["pbx1"]


def test_fragments_never_define_general_or_globals(settings: Settings) -> None:
    files = render_all(settings, mode="fragments")
    assert set(files) == set(FRAGMENTS)
    for part in PARTS:
        if part.files_only:
            continue
        if part.section is not None:
            # option lines only: they extend the administrator's own section
            assert bare_options(files[part.fragment]), part.fragment
        else:
            names = {name for name, _ in sections(files[part.fragment])}
            assert not {"general", "globals", "default", "csv", "options"} & names
    # the queues' music is a class of the hotline's own beside the administrator's classes
    assert section(files["queues.conf"], "hotline-general")["musicclass"] == ["hotline"]
    assert section(files["musiconhold.conf"], "hotline")["mode"] == ["files"]
    assert section(files["pjsip.conf"], "1001", type="endpoint")["moh_suggest"] == ["hotline"]
    assert files["pjsip.conf"].count("Contains secrets") == 1
    # whole files keep Asterisk's default class
    whole = render_all(settings)
    assert section(whole["queues.conf"], "hotline-general")["musicclass"] == ["default"]


def test_whole_files_are_the_fragments_under_their_sections(settings: Settings) -> None:
    whole = render_all(settings)
    fragments = render_all(settings, mode="fragments")
    for part in PARTS:
        if part.files_only or part.section is None:
            continue
        target = section(whole[part.target], part.section)
        body = bare_options(fragments[part.fragment])
        assert body and set(body) <= set(target), part.fragment


def test_render_fragments_says_how_to_include_them(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "hotline"
    result = CliRunner().invoke(
        cli, ["asterisk-conf", "render", "--out", str(out), "--mode", "fragments"]
    )
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted([*FRAGMENTS, INCLUDES_FILE])
    notes = (out / INCLUDES_FILE).read_text("utf-8")
    assert f'#include "{out / "queues-general.conf"}"   ; [general]' in notes
    assert f'#include "{out / "extensions.conf"}"   ; (top level)' in notes
    assert f'#include "{out / "cdr-csv.conf"}"   ; [csv]' in notes
    # cdr_csv does not create its folder
    assert "install -d -o asterisk -g asterisk /var/log/asterisk/cdr-csv" in notes
    assert notes in result.output


def test_render_files_says_how_to_install_them(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "conf"
    result = CliRunner().invoke(cli, ["asterisk-conf", "render", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{out}/*.conf /etc/asterisk/" in result.output
    assert "install -d -o asterisk -g asterisk /var/log/asterisk/cdr-csv" in result.output
    assert not (out / INCLUDES_FILE).exists()


def test_render_warns_when_nobody_can_call_or_answer(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_PBX__AGENTS", "[]")
    monkeypatch.setenv("HOTLINE_PBX__QUEUES", json.dumps([{"name": n} for n in QUEUES]))
    for name in ("TRUNK_ADDRESSES", "TRUNK_HOST", "TRUNK_USERNAME"):
        monkeypatch.delenv(f"HOTLINE_PBX__{name}")
    result = CliRunner().invoke(cli, ["asterisk-conf", "render", "--out", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2, result.stderr
    assert "pbx.agents is empty" in warnings[0]
    assert "no carrier trunk" in warnings[1]


QUEUES = ("hotline-general", "hotline-complaint", "hotline-report")


def test_render_is_quiet_when_agents_trunk_and_bind_are_set(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_PBX__SIP_BIND", "192.0.2.20:5060")
    result = CliRunner().invoke(cli, ["asterisk-conf", "render", "--out", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    # loopback with phones configured: they could not reach it
    monkeypatch.setenv("HOTLINE_PBX__SIP_BIND", "127.0.0.1:5060")
    result = CliRunner().invoke(cli, ["asterisk-conf", "render", "--out", str(tmp_path / "c")])
    assert "warning: pbx.sip_bind is 127.0.0.1:5060" in result.stderr


def test_rtp_range_must_be_a_range(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("HOTLINE_PBX__RTP_PORT_MIN", "20000")
    monkeypatch.setenv("HOTLINE_PBX__RTP_PORT_MAX", "10000")
    with pytest.raises(SettingsError, match="rtp_port_min must be below rtp_port_max"):
        load_settings()
