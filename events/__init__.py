"""Domain events: topic constants and typed payloads, the rooms' shared vocabulary.

A leaf package like `asterisk_conf.channel_vars` is for the HOTLINE_* contract: every room
(acd, ivr, ticketing, hotline) may import it, it imports nothing of theirs. Topics are in
`events.topics`, payload shapes in `events.payloads`.
"""
