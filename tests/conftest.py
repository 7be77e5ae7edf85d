"""Plugins of the whole suite, and the rule that CI runs the real-PBX tests."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

pytest_plugins = ["tests.mosquitto", "tests.chromium", "tests.pg"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    """Where CI=true a skipped `pbx` test fails the run: the real PBX must have been tested."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.skipped and item.get_closest_marker("pbx") and os.environ.get("CI") == "true":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"pbx test skipped where CI=true (it must run there): {reason}"
