"""How the service waits before trying again: one backoff policy for every reconnect and
retry (AMI link, MQTT bridge and incident input, database writes). A leaf package: every
room may import it, it imports nothing of theirs."""

from retry_policy.backoff import Backoff, retry

__all__ = ["Backoff", "retry"]
