from pathlib import Path

import pytest

from hotline.settings import SettingsError, load_settings


def test_defaults_are_valid(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.kpi.answer_threshold_s == 15
    assert settings.kpi.timeliness_target == 0.80
    assert settings.kpi.connect_target == 0.95
    # The connect rate is answered ÷ offered unless a centre opts into the 未接秒挂 rule.
    assert settings.kpi.connect_excludes_short_abandons is False
    assert settings.kpi.timezone == "Asia/Shanghai"


def test_a_known_time_zone_is_accepted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOTLINE_KPI__TIMEZONE", "Europe/Paris")
    assert load_settings().kpi.timezone == "Europe/Paris"


def test_file_then_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "h.toml"
    config.write_text('[ami]\nport = 6038\nsecret = "s3"\n[kpi]\nanswer_threshold_s = 20\n')
    monkeypatch.setenv("HOTLINE_CONFIG", str(config))
    monkeypatch.setenv("HOTLINE_KPI__ANSWER_THRESHOLD_S", "10")
    settings = load_settings()
    assert settings.ami.port == 6038
    assert settings.ami.secret.get_secret_value() == "s3"
    assert settings.kpi.answer_threshold_s == 10  # environment wins over the file


@pytest.mark.parametrize(
    ("env", "value", "named"),
    [
        ("HOTLINE_AMI__PORT", "abc", "setting ami.port:"),
        ("HOTLINE_AMI__PORT", "70000", "setting ami.port:"),
        ("HOTLINE_KPI__TIMELINESS_TARGET", "1.5", "setting kpi.timeliness_target:"),
        ("HOTLINE_DATABASE__URL", "mysql://x", "setting database.url:"),
        ("HOTLINE_KPI__TIMEZONE", "Mars/X", "setting kpi.timezone:"),
        ("HOTLINE_KPI__TIMEZONE", "America", "setting kpi.timezone:"),  # a folder, not a zone
        ("HOTLINE_KPI__TIMEZONE", "../etc/passwd", "setting kpi.timezone:"),
    ],
)
def test_wrong_value_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: str, value: str, named: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(named)
    assert "\n" not in message


def test_unknown_setting_in_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "h.toml"
    config.write_text("[ami]\nprot = 1\n")
    monkeypatch.setenv("HOTLINE_CONFIG", str(config))
    with pytest.raises(SettingsError, match=r"^setting ami\.prot:"):
        load_settings()


def test_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(SettingsError, match="HOTLINE_CONFIG"):
        load_settings()


def test_one_ami_table_is_one_pbx_named_pbx1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "h.toml"
    config.write_text('[ami]\nhost = "10.0.0.5"\nsecret = "s3"\n[asterisk]\nqueue_log = "/q"\n')
    monkeypatch.setenv("HOTLINE_CONFIG", str(config))
    [pbx] = load_settings().pbx_servers()
    assert (pbx.name, pbx.host, pbx.port, pbx.username) == ("pbx1", "10.0.0.5", 5038, "hotline")
    assert (pbx.secret.get_secret_value(), pbx.queue_log) == ("s3", Path("/q"))


def test_several_pbxs_take_unset_values_from_ami_and_asterisk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "h.toml"
    config.write_text(
        '[ami]\nusername = "svc"\n'
        '[[ami.servers]]\nname = "east"\nhost = "10.0.0.5"\nqueue_log = "/e/q"\ncdr_csv = "/e/c"\n'
        '[[ami.servers]]\nname = "west"\nhost = "10.0.0.6"\nport = 6038\nusername = "w"\n'
        'queue_log = "/w/q"\ncdr_csv = "/w/c"\n'
    )
    monkeypatch.setenv("HOTLINE_CONFIG", str(config))
    # The secret shared by every PBX comes from the environment, like the single one.
    monkeypatch.setenv("HOTLINE_AMI__SECRET", "shared")
    settings = load_settings()
    east, west = settings.pbx_servers()
    assert (east.name, east.host, east.port, east.username) == ("east", "10.0.0.5", 5038, "svc")
    assert (west.name, west.port, west.username, west.queue_log) == (
        "west",
        6038,
        "w",
        Path("/w/q"),
    )
    assert {east.secret.get_secret_value(), west.secret.get_secret_value()} == {"shared"}
    assert settings.pbx_server("west") == west
    with pytest.raises(SettingsError, match="no PBX named 'north' \\(known: east, west\\)"):
        settings.pbx_server("north")


@pytest.mark.parametrize(
    ("servers", "named"),
    [
        ('[[ami.servers]]\nname = "a"\n[[ami.servers]]\nname = "b"\n', "queue_log"),
        ('[[ami.servers]]\nname = "a"\nqueue_log = "/a"\ncdr_csv = "/a.csv"\n' * 2, "name"),
        ('[[ami.servers]]\nname = "a b"\n', "ami.servers.0.name"),
    ],
)
def test_pbxs_must_be_told_apart(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, servers: str, named: str
) -> None:
    config = tmp_path / "h.toml"
    config.write_text(servers)
    monkeypatch.setenv("HOTLINE_CONFIG", str(config))
    with pytest.raises(SettingsError, match=named) as error:
        load_settings()
    assert "\n" not in str(error.value)


def test_one_site_timezone_for_everything(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOTLINE_SITE__TIMEZONE", "Asia/Urumqi")
    settings = load_settings()
    assert settings.site.timezone == "Asia/Urumqi"
    assert settings.kpi.timezone == "Asia/Urumqi"  # the deprecated name follows


def test_the_old_kpi_timezone_still_sets_the_site_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "h.toml"
    config.write_text('[kpi]\ntimezone = "Europe/Paris"\n')
    monkeypatch.setenv("HOTLINE_CONFIG", str(config))
    settings = load_settings()
    assert settings.site.timezone == "Europe/Paris"
    assert "kpi.timezone is deprecated: use site.timezone" in caplog.text


def test_two_different_timezones_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "h.toml"
    config.write_text('[site]\ntimezone = "UTC"\n[kpi]\ntimezone = "Europe/Paris"\n')
    monkeypatch.setenv("HOTLINE_CONFIG", str(config))
    with pytest.raises(SettingsError, match=r"set site\.timezone only"):
        load_settings()


def test_a_wrong_site_timezone_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOTLINE_SITE__TIMEZONE", "Mars/X")
    with pytest.raises(SettingsError, match=r"^setting site\.timezone: "):
        load_settings()
