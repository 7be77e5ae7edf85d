"""The simulated PBX: Asterisk 22 + the hotline dialplan + app_queue, on loopback.

Modules, one job each:

- ``scheduler``: discrete-event scheduler over simulated epoch seconds.
- ``channels``: simulated channels and the AMI channel/bridge field blocks.
- ``model``: PBX configuration (queues, members, robot behaviour), ``CallerScript`` (what one
  caller does), ``CallTruth`` (what really happened, in expected.json form), ``Counters``.
- ``pbx``: the PBX itself (IVR, Queue(), members, transfers): AMI events + queue_log lines,
  put together from mixins over ``pbx_core`` (``pbx_state``, ``queue_members``,
  ``queue_engine``, ``queue_waiting``, ``conversation``, ``transfers``, ``caller_path``; see
  ``pbx``'s docstring); ``emitter``: its channel-level AMI events (field order, timestamps).
- ``queue_log_writer``: queue_log lines exactly as Asterisk writes them.
- ``actions``: the AMI actions it answers (``PbxActions``) and ``attach(pbx, server)``.
- ``traffic``: the traffic model (Poisson arrivals over an hourly profile, IVR mix, patience,
  agents) and ``Simulation`` (run as fast as possible, or in scaled real time).
- ``agi_client`` / ``agi_driver``: Asterisk's side of FastAGI, so a real IVR server can run
  the simulated calls' IVR.
- ``shapes``: event shape comparison (the simulator's promise: captured field orders).
- ``ami_server``: the AMI protocol server (banner, login, framing).

Simulated time: every Timestamp, Uniqueid and queue_log epoch is simulated time. In
``Simulation.run_realtime(speed)`` simulated time runs ``speed`` times the wall clock, so a
compressed demo hour still carries an hour of Timestamps consistent with HoldTime/TalkTime.
"""
