"""The files the production guide ships in deploy/: systemd units systemd itself accepts, and
the nginx and firewall examples agreeing with the settings' defaults."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.settings import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
HOTLINE = Path(sys.executable).with_name("hotline")


@pytest.mark.parametrize("unit", ["hotline.service", "asterisk.service"])
def test_systemd_accepts_the_units(unit: str, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("no systemd-analyze")
    # The executables live elsewhere on this machine: point at ones that exist, change nothing
    # else, so every directive is checked by systemd's own parser.
    text = (DEPLOY / unit).read_text("utf-8")
    text = text.replace("/opt/hotline/.venv/bin/hotline", str(HOTLINE))
    text = text.replace("/usr/sbin/asterisk", "/bin/true")
    copy = tmp_path / unit
    copy.write_text(text, "utf-8")
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = [line for line in (result.stdout + result.stderr).splitlines() if unit in line]
    assert output == [], "\n".join(output)


def test_the_service_unit_migrates_then_serves_with_its_settings() -> None:
    unit = (DEPLOY / "hotline.service").read_text("utf-8")
    assert "ExecStartPre=/opt/hotline/.venv/bin/hotline db upgrade\n" in unit
    assert "ExecStart=/opt/hotline/.venv/bin/hotline serve\n" in unit
    assert "EnvironmentFile=/etc/hotline/hotline.env\n" in unit
    assert "User=hotline\n" in unit
    # cdr_csv and MixMonitor never create their folders
    asterisk = (DEPLOY / "asterisk.service").read_text("utf-8")
    assert re.search(r"ExecStartPre=\+/usr/bin/install -d .*/var/log/asterisk/cdr-csv", asterisk)


def test_nginx_proxies_the_web_app_and_its_websockets() -> None:
    conf = (DEPLOY / "nginx-hotline.conf").read_text("utf-8")
    web = Settings.model_construct().web
    assert conf.count(f"proxy_pass http://{web.host}:{web.port};") == 2
    ws = conf[conf.index("location /ws") :]
    assert "proxy_set_header Upgrade $http_upgrade;" in ws
    assert "X-Forwarded-For" in conf and "listen 443 ssl;" in conf


def test_firewall_opens_sip_and_rtp_and_keeps_ami_and_fastagi_private() -> None:
    rules = (DEPLOY / "nftables-hotline.conf").read_text("utf-8")
    pbx = Settings.model_construct().pbx
    assert "udp dport 5060 " in rules and "tcp dport 5060 " in rules
    assert f"udp dport {pbx.rtp_port_min}-{pbx.rtp_port_max} " in rules
    ami_fastagi = [line for line in rules.splitlines() if "5038" in line and "dport" in line]
    assert ami_fastagi == ["        tcp dport { 5038, 4573 } ip saddr @office accept"]
    assert "policy drop;" in rules
