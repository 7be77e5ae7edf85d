"""The roles, and the groups of them that routes are declared with (hotline/web/routes.py).

``PUBLIC`` routes need no login; keep them free of personal data.
"""

from __future__ import annotations

from typing import Final

# The roles of ticketing.users.ROLES, repeated here so the web app does not need the store
# to know them; tests/web check both lists agree.
ROLES: Final = (
    "agent", "supervisor", "reviewer", "unit", "auditor", "admin", "wallboard", "qa"
)  # fmt: skip

PUBLIC: Final = frozenset({"*public*"})
SIGNED_IN: Final = frozenset(ROLES)
WALLBOARD: Final = frozenset({"agent", "supervisor", "auditor", "admin", "wallboard"})
SUPERVISION: Final = frozenset({"supervisor", "admin"})
FIGURES: Final = frozenset({"supervisor", "admin", "auditor"})
AUDIT: Final = frozenset({"auditor", "admin"})
# Accounts and roles: admins only.
ADMINISTRATION: Final = frozenset({"admin"})
# The supervisor console's start page: whoever has at least one console page.
CONSOLE: Final = SUPERVISION | FIGURES | AUDIT | ADMINISTRATION
# The agent desk: whoever takes calls (a supervisor may sit at a desk too).
DESK: Final = frozenset({"agent", "supervisor"})
# Who plays recordings and searches calls: supervisors and QA staff (质检). Recordings are
# personal data: administrators and auditors are left out (auditors read who listened, in
# the access log); agents hear their own calls only when recordings.agents_hear_own allows.
RECORDINGS: Final = frozenset({"supervisor", "qa"})
