"""Parts of the AMI call tracker (`acd.calls.CallTracker`, a thin façade over them): its
state (`state.TrackerState`), the event table (`handlers.HANDLERS`: event name → a plain
function ``(state, headers, out) -> None``) and its handler modules (channels, ivr,
variables, queue_events, member_events), the shared steps (core), outage resync, live views,
member board and snapshot parsing."""
