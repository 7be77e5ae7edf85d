"""One small wiring module per capability: build it from the settings, connect it to the bus.

- `calls`: the AMI feed of each PBX (acd.feed) and where its finished calls go.
- `tickets`: the ticket store and the buffered writer in front of it (ticketing).
- `cases`: the case workflow's deadline policy and working time (ticketing.workflow).
- `rollups`: the refresher keeping the report rollups built (ticketing.rollup).
- `kpi`: today's live KPI counters (acd.kpi), primed from the store at start.
- `web`: the aiohttp app, its wallboard push subscribed to every event.
- `mqtt`: the MQTT bridge subscribed to every event.
- `health`: the /healthz board each of them adds its probe to as it starts.
- the IVR: hotline/ivr_wiring.py (FastAGI IVR, incidents, the IVR's event subscribers).

`hotline/service.py` only says in what order these start and stop.
"""
