"""Hypothesis settings of the fuzz suite.

``ci`` (the default, what ``./run test`` uses) is derandomized: the examples are derived from
each test's own code, so the same tree gives the same examples on every machine and every run.
A failure is then a fact about the code, reproducible by anyone with the commit, never a flake
that the next CI run does not see; and no example database is written into the work tree. The
budget (``max_examples`` per test, set at each test) keeps the folder well under 90 s.
``HYPOTHESIS_PROFILE=explore`` searches at random with ten times the examples, for a developer
hunting new bugs; whatever it finds becomes an ``@example`` so that ``ci`` keeps checking it.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "explore",
    deadline=None,
    max_examples=1000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def budget(examples: int) -> int:
    """A test's max_examples under the active profile (explore multiplies it by ten)."""
    return examples * 10 if os.environ.get("HYPOTHESIS_PROFILE") == "explore" else examples
