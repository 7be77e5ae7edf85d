"""Agents at their queues: one live state machine per agent fed by app_queue's AMI events,
the member actions the desk sends (QueueAdd/QueueRemove/QueuePause, Originate), and the
timed after-call work (话后处理).

- ``state``: what is remembered (`AgentsState`, `Agent`, `Membership`, `Ring`) and the pure
  `derive` that says which of ``AGENT_STATES`` an agent is in.
- ``events``: the event table (AMI event name → plain handler function) and the QueueStatus
  resync.
- ``board``: `AgentBoard`, the façade a feed drives: ``handle(msg)``, ``resync(status)``;
  it publishes ``agent.status`` on every change.
- ``actions``: `MemberActions`, every AMI action awaited with a timeout; a refusal or a
  silence is an `AgentActionFailed` with one line for the person who clicked.
- ``wrapup``: `WrapUps`, the timer that ends after-call work when it runs out.
"""
