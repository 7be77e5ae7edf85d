"""Helpers of the AMI call tracker (`acd.calls.CallTracker`): member board, outage recovery."""
