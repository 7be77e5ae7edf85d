"""docker/asterisk.Dockerfile builds the PBX the tests run: the same Asterisk and pjproject
versions, tarball checksums, configure flags, module selection and build packages as
../shared/asterisk/build.sh (read, never run: nothing is downloaded here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "asterisk.Dockerfile"
SHARED = ROOT / ".." / "shared" / "asterisk"


@pytest.fixture
def build_sh() -> str:
    path = SHARED / "build.sh"
    if not path.is_file():
        pytest.skip(f"no {path} (the shared Asterisk sources are not beside this checkout)")
    return path.read_text("utf-8")


def joined(text: str) -> str:
    """Shell/Dockerfile continuation lines joined into one."""
    return re.sub(r"\\\n\s*", " ", text)


def menuselect(text: str) -> list[str]:
    (call,) = re.findall(r"menuselect/menuselect\s+((?:--(?:en|dis)able\s+\S+\s+)+)", joined(text))
    return call.split()


def test_same_versions_and_checksums(build_sh: str) -> None:
    docker = DOCKERFILE.read_text("utf-8")
    version = re.search(r"^VERSION=(\S+)", build_sh, re.M)
    pjproject = re.search(r"^PJPROJECT=(\S+)", build_sh, re.M)
    assert version and pjproject
    assert f"ARG ASTERISK_VERSION={version[1]}\n" in docker
    assert f"ARG PJPROJECT_VERSION={pjproject[1]}\n" in docker
    sums = dict(reversed(line.split()) for line in (SHARED / "SHA256SUMS").read_text().splitlines())
    assert f"ARG ASTERISK_SHA256={sums[f'asterisk-{version[1]}.tar.gz']}\n" in docker
    assert f"ARG PJPROJECT_SHA256={sums[f'pjproject-{pjproject[1]}.tar.bz2']}\n" in docker


def test_same_configure_flags_and_module_selection(build_sh: str) -> None:
    docker = joined(DOCKERFILE.read_text("utf-8"))
    assert menuselect(docker) == menuselect(build_sh)
    assert "--enable chan_pjsip" in docker and "--enable app_queue" in docker
    for flag in ("--with-pjproject-bundled", "--with-jansson-bundled=no", "--with-download-cache"):
        assert flag in docker and flag in build_sh, flag
    # the same refusal to build with a sound download switched on
    assert "^MENUSELECT_(CORE_SOUNDS|MOH|EXTRA_SOUNDS)=.+" in docker


def test_same_build_packages(build_sh: str) -> None:
    deps = re.search(r"BUILD_DEPS=\(([^)]*)\)", build_sh, re.S)
    assert deps
    docker = joined(DOCKERFILE.read_text("utf-8"))
    install = docker[: docker.index("FROM debian:bookworm-slim\n")]
    for package in deps[1].split():
        assert re.search(rf"\s{re.escape(package)}\s", install), package


def test_the_image_creates_the_folders_cdr_csv_and_mixmonitor_need() -> None:
    docker = DOCKERFILE.read_text("utf-8")
    assert "install -d -o asterisk -g asterisk /var/log/asterisk/cdr-csv" in docker
