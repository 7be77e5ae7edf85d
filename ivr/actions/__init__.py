"""Menu actions: the registry of kinds (``registry``) and the kinds the hotline ships
(``builtin``). Importing this package registers the built-in kinds."""

from ivr.actions.builtin import (
    EMERGENCY_SERVICES,
    CallbackAction,
    DistrictAction,
    EmergencyAction,
    HangupAction,
    IncidentReportAction,
    LanguageAction,
    PlayAction,
    QueueAction,
    SubmenuAction,
    TicketProgressAction,
)
from ivr.actions.registry import (
    ActionKind,
    Field,
    Finish,
    MenuAction,
    Walk,
    follow,
    kind_named,
    kind_names,
    kind_of,
    register,
    unregister,
)

__all__ = [
    "EMERGENCY_SERVICES",
    "ActionKind",
    "CallbackAction",
    "DistrictAction",
    "EmergencyAction",
    "Field",
    "Finish",
    "HangupAction",
    "IncidentReportAction",
    "LanguageAction",
    "MenuAction",
    "PlayAction",
    "QueueAction",
    "SubmenuAction",
    "TicketProgressAction",
    "Walk",
    "follow",
    "kind_named",
    "kind_names",
    "kind_of",
    "register",
    "unregister",
]
