"""queues, queuerules, pjsip, manager and musiconhold files rendered from the settings."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from asterisk_conf import render
from asterisk_conf.config import Agent, AsteriskConfig, ManagerLogin, Pbx, Queue
from asterisk_conf.render import FILES, RenderError, write_config
from hotline.asterisk_config import render_all
from hotline.settings import AgentSettings, Settings
from tests.asterisk_conf.conf import section, sections


def with_pbx(settings: Settings, **update: object) -> Settings:
    return settings.model_copy(update={"pbx": settings.pbx.model_copy(update=update)})


def test_queues_carry_service_level_strategy_wrapup_and_empty_rules(settings: Settings) -> None:
    text = render_all(settings)["queues.conf"]
    assert [name for name, _ in sections(text)] == [
        "general",
        "hotline-general",
        "hotline-complaint",
        "hotline-report",
    ]
    general = section(text, "hotline-general")
    assert general["servicelevel"] == ["15"]
    assert general["wrapuptime"] == ["10"]
    assert general["strategy"] == ["rrmemory"]
    assert general["joinempty"] == ["yes"] and general["leavewhenempty"] == ["no"]
    assert general["member"] == ["PJSIP/1001,0,Agent One", "PJSIP/1002,0,王芳"]
    assert general["defaultrule"] == ["hotline-widen"]
    complaint = section(text, "hotline-complaint")
    assert complaint["strategy"] == ["leastrecent"] and complaint["member"] == ["PJSIP/1002,0,王芳"]
    report = section(text, "hotline-report")
    assert report["joinempty"] == ["no"] and report["leavewhenempty"] == ["yes"]
    assert "member" not in report
    rules = section(render_all(settings)["queuerules.conf"], "hotline-widen")
    assert rules["penaltychange"] == ["30,+1", "60,+1"]


def test_pjsip_has_endpoint_aor_and_auth_per_agent(settings: Settings) -> None:
    text = render_all(settings)["pjsip.conf"]
    for agent in settings.pbx.agents:
        ext = agent.extension
        endpoint = section(text, ext, type="endpoint")
        assert endpoint["auth"] == [f"{ext}-auth"] and endpoint["aors"] == [ext]
        assert endpoint["context"] == ["hotline-agents"]
        auth = section(text, f"{ext}-auth", type="auth")
        # conf.py undoes the "\;" escaping, exactly as Asterisk's config parser does
        assert auth["password"] == [agent.secret.get_secret_value()]
        assert auth["username"] == [ext]
        assert section(text, ext, type="aor")["max_contacts"] == ["1"]
    assert "pw\\;two" in text  # a bare ";" would have cut the password short
    trunk = section(text, "pstn-trunk", type="identify")
    assert trunk["match"] == ["192.0.2.10"]
    assert section(text, "pstn-trunk", type="endpoint")["context"] == ["hotline-ivr"]


def test_no_trunk_without_trunk_addresses_or_host(settings: Settings) -> None:
    none = with_pbx(settings, trunk_addresses=[], trunk_host=None, trunk_username="")
    files = render_all(none)
    assert "pstn-trunk" not in files["pjsip.conf"]
    # no trunk, no outbound route
    assert "hotline-outbound" not in files["extensions.conf"]


def test_manager_is_least_privilege_on_loopback(settings: Settings) -> None:
    text = render_all(settings)["manager.conf"]
    general = section(text, "general")
    assert general["bindaddr"] == ["127.0.0.1"]
    user = section(text, "hotline")
    assert user["secret"] == ["ami-s3cret"]
    assert user["permit"] == ["127.0.0.1/255.255.255.255"]
    assert user["deny"] == ["0.0.0.0/0.0.0.0"]
    read = set(user["read"][0].split(","))
    write = set(user["write"][0].split(","))
    assert {"call", "agent", "dialplan", "cdr", "user"} <= read
    assert {"call", "originate", "agent"} <= write
    # never the classes that reach the shell, the config files or everything at once
    assert not ({"all", "command", "config", "system"} & write)
    assert not ({"all", "config", "security"} & read)


def test_music_on_hold_directory_from_settings(settings: Settings) -> None:
    moh = section(render_all(settings)["musiconhold.conf"], "default")
    assert moh["mode"] == ["files"]
    assert moh["directory"] == [str(settings.pbx.moh_directory)]


def test_secrets_come_from_settings_or_rendering_stops(settings: Settings) -> None:
    no_ami = settings.model_copy(
        update={"ami": settings.ami.model_copy(update={"secret": SecretStr("")})}
    )
    with pytest.raises(RenderError, match=r"^setting ami\.secret: empty"):
        render_all(no_ami)
    agents = [*settings.pbx.agents, AgentSettings(extension="1003", name="No Secret")]
    with pytest.raises(RenderError, match=r"^setting pbx\.agents\.2\.secret: empty.*'1003'"):
        render_all(with_pbx(settings, agents=agents))
    templates = Path(__file__).resolve().parents[2] / "asterisk_conf" / "templates"
    for template in templates.iterdir():
        body = template.read_text("utf-8")
        assert "pw-one" not in body and "ami-s3cret" not in body


def test_a_line_break_in_a_setting_cannot_inject_config(settings: Settings) -> None:
    agents = [AgentSettings(extension="1001", name="Eve\n[evil]", secret=SecretStr("x"))]
    with pytest.raises(RenderError, match="line break"):
        render_all(with_pbx(settings, agents=agents))
    agents = [AgentSettings(extension="1001", name="Doe, John", secret=SecretStr("x"))]
    queues = [
        q.model_copy(update={"members": ["1001"] if q.members else []}) for q in settings.pbx.queues
    ]
    with pytest.raises(RenderError, match="comma"):
        render_all(with_pbx(settings, agents=agents, queues=queues))


def test_ivr_port_zero_needs_an_explicit_fastagi_port(settings: Settings) -> None:
    free_port = settings.model_copy(update={"ivr": settings.ivr.model_copy(update={"port": 0})})
    with pytest.raises(RenderError, match=r"^setting pbx\.fastagi_port"):
        render_all(free_port)


def test_written_files_secret_ones_private(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "etc" / "asterisk"
    paths = write_config(render_all(settings), out)
    assert sorted(p.name for p in paths) == sorted(FILES)
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o600 if FILES[path.name] else 0o644), path.name
    assert list(out.glob(".*.tmp")) == []
    # rendering again replaces the files in place
    write_config({"queues.conf": "[general]\n"}, out)
    assert (out / "queues.conf").read_text() == "[general]\n"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_manager_binds_the_loopback_ami_host(settings: Settings, host: str) -> None:
    ami = settings.ami.model_copy(update={"host": host})
    text = render_all(settings.model_copy(update={"ami": ami}))["manager.conf"]
    bindaddr = section(text, "general")["bindaddr"][0]
    assert bindaddr == ("127.0.0.1" if host == "localhost" else host)
    assert section(text, "hotline")["permit"][0].startswith(bindaddr + "/")


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "pbx.example.org"])
def test_manager_refuses_a_non_loopback_ami_host(settings: Settings, host: str) -> None:
    ami = settings.ami.model_copy(update={"host": host})
    with pytest.raises(RenderError, match=r"setting ami\.host"):
        render_all(settings.model_copy(update={"ami": ami}))


def with_servers(settings: Settings, *servers: dict[str, object]) -> Settings:
    data = settings.model_dump(mode="python")
    data["ami"]["servers"] = list(servers)
    return Settings.model_validate(data)


EAST = {"name": "east", "queue_log": "/e/queue_log", "cdr_csv": "/e/Master.csv"}
WEST = {
    "name": "west",
    "port": 6038,
    "username": "svc-west",
    "secret": "west-s3cret",
    "queue_log": "/w/queue_log",
    "cdr_csv": "/w/Master.csv",
}


def test_one_pbx_asterisk_conf_names_it_too(settings: Settings) -> None:
    one = render_all(settings)
    assert section(one["asterisk.conf"], "options")["systemname"] == ["pbx1"]
    named = render_all(settings, pbx="pbx1")
    assert section(named["asterisk.conf"], "options")["systemname"] == ["pbx1"]
    assert named["manager.conf"] == render_all(settings)["manager.conf"]


def test_each_of_several_pbxs_gets_its_systemname_and_manager_login(settings: Settings) -> None:
    several = with_servers(settings, EAST, WEST)
    with pytest.raises(RenderError, match=r"several PBXs.*--pbx \(east, west\)"):
        render_all(several)
    with pytest.raises(RenderError, match=r"no PBX named 'north'"):
        render_all(several, pbx="north")
    west = render_all(several, pbx="west")
    assert section(west["asterisk.conf"], "options")["systemname"] == ["west"]
    assert section(west["manager.conf"], "general")["port"] == ["6038"]
    assert section(west["manager.conf"], "svc-west")["secret"] == ["west-s3cret"]
    east = render_all(several, pbx="east")
    # Unset fields come from [ami]: its user and secret.
    assert section(east["asterisk.conf"], "options")["systemname"] == ["east"]
    assert section(east["manager.conf"], "hotline")["secret"] == ["ami-s3cret"]
    # The dialplan is the same on every PBX.
    assert east["extensions.conf"] == west["extensions.conf"]


def test_asterisk_conf_is_written_with_the_others(settings: Settings, tmp_path: Path) -> None:
    paths = write_config(render_all(settings, pbx="pbx1"), tmp_path)
    assert sorted(p.name for p in paths) == sorted(FILES)
    assert stat.S_IMODE((tmp_path / "asterisk.conf").stat().st_mode) == 0o644


def test_the_renderer_needs_only_its_own_typed_config() -> None:
    # No hotline settings involved: asterisk_conf renders from plain dataclasses.
    config = AsteriskConfig(
        pbx=Pbx(
            queues=(Queue("hotline-general", members=("8001",)),),
            agents=(Agent("8001", "Agent One", "sip-secret"),),
        ),
        servers=(ManagerLogin("pbx1", "127.0.0.1", 5038, "hotline", "ami-secret"),),
        fastagi_host="127.0.0.1",
        fastagi_port=4573,
        recordings_dir=Path("/var/spool/asterisk/monitor"),
    )
    files = render.render_all(config)
    assert set(files) == set(FILES)
    assert "[hotline-general]" in files["queues.conf"]
    assert "secret = ami-secret" in files["manager.conf"]
    assert "agi://127.0.0.1:4573/ivr" in files["extensions.conf"]


@pytest.mark.parametrize("mode", ["files", "fragments"])
def test_the_simulator_holds_callers_with_the_rendered_music_class(
    settings: Settings, mode: str
) -> None:
    """A waiting caller's MusicOnHoldStart names the class the rendered queues use: fragments
    have their own ("hotline"), so an existing musiconhold.conf's [default] stays as it is."""
    from acd.ami.message import AmiMessage
    from hotline.sim.model import CallerScript, PbxConfig
    from hotline.sim.pbx import Pbx
    from hotline.sim.scheduler import Scheduler

    files = render_all(settings, mode=mode)
    queues = "".join(
        t for name, t in files.items() if name.startswith("queues") and "rules" not in name
    )
    (musicclass,) = {
        line.split("=", 1)[1].strip()
        for line in queues.splitlines()
        if line.replace(" ", "").startswith("musicclass=")
    }
    assert musicclass == render.MOH_CLASS[mode]
    events: list[AmiMessage] = []
    scheduler = Scheduler(1795445557.0)
    pbx = Pbx(scheduler, events.append, PbxConfig(moh_class=musicclass))
    pbx.place_call(CallerScript("13800138000", "张三", "1", patience=30))
    scheduler.run_until(scheduler.now + 20)
    (hold,) = [m for m in events if m.name == "MusicOnHoldStart"]
    assert hold.get("Class") == musicclass
    # the class is one musiconhold.conf defines in this mode
    moh = "".join(text for name, text in files.items() if "musiconhold" in name)
    assert f"[{musicclass}]" in moh
