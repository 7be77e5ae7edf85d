"""The working-day calendar of mainland China, shared by the IVR's opening hours and the
case workflow's deadlines. A leaf package: it imports none of the rooms."""

from working_days.business import BusinessHours, WorkingTime
from working_days.calendar import WorkingCalendar

__all__ = ["BusinessHours", "WorkingCalendar", "WorkingTime"]
