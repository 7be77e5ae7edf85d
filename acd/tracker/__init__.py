"""Parts of the AMI call tracker (`acd.calls.CallTracker`): its state, shared steps, event
handlers (channels, IVR, queue legs), outage resync, member board and snapshot parsing."""
