"""Early warning (预警): a burst of similar calls from one area, long before anyone announces
an outage, raised as a suggested incident on the supervisor console and over MQTT; one
click makes it an IVR announcement.

The capability's event table (``service.EarlyWarning.handlers``):

| listens to | why |
| --- | --- |
| ``call.ivr_finished`` | the caller's area (number) and menu choice, as soon as they chose |
| ``call.ended`` | every leg, callers who hung up in the menu or queue included |

| publishes | when |
| --- | --- |
| ``warning.suggested`` | a key (area, branch or category) reaches the burst threshold |
| ``warning.accepted`` | a supervisor made it an announcement (the incident's id in it) |
| ``warning.dismissed`` | a supervisor set it aside (who and why: also in the access log) |

- `areas`: caller number → area (configured prefixes, else the number's first digits).
- `signals`: one call → (area, branch, category), pure.
- `detector`: sliding windows and the baseline rule, pure.
- `suggestions`: a suggestion and the incident it becomes.
- `service`: the above on the bus; no transport inside (hotline/wiring/warning.py wires it);
  its suggestions are kept through a ``SuggestionStore`` (ticketing.warning_store in the
  service), so a restart or the standby taking over picks up where it stopped.
"""
