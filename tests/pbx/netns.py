"""A private network namespace with only loopback up, for everything that speaks SIP.

res_pjsip always opens a DNS resolver socket on 0.0.0.0 (../shared/asterisk/README.md), so an
Asterisk with PJSIP loaded must never run in the machine's own namespace. One holder process
(``unshare -n``: a new namespace, ``ip link set lo up``, then it sleeps) keeps the namespace
alive; every process that must be inside it (Asterisk, ``hotline serve``, SIPp) is started
through ``nsenter --net=/proc/<holder>/ns/net``, so the namespace's lifetime is the holder's and
the caller keeps each child's own PID (nsenter execs the command: no extra fork).

The process that drives the test stays outside, in the machine's namespace: it needs no socket
into the namespace. It reads what Asterisk and the service write (queue_log, CDR, recordings,
the SQLite store: the file system is shared) and runs CLI commands through Asterisk's control
socket, a Unix socket with a path, which is reachable from any network namespace.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path


class NamespaceUnavailable(RuntimeError):
    """This machine or user may not create a network namespace; the message says why."""


class NetNamespace:
    """A held network namespace (loopback only); ``command()`` runs a program inside it."""

    def __init__(self, holder: subprocess.Popen[bytes]) -> None:
        self._holder = holder

    @classmethod
    def create(cls) -> NetNamespace:
        """A new namespace with loopback up; NamespaceUnavailable when that is not permitted."""
        for tool in ("unshare", "nsenter", "ip"):
            if shutil.which(tool) is None:
                raise NamespaceUnavailable(f"`{tool}` is not installed (util-linux, iproute2)")
        # "ready" is printed only once lo is up, so a caller never races the link.
        holder = subprocess.Popen(
            ["unshare", "-n", "sh", "-c", "ip link set lo up && echo ready && exec sleep 86400"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert holder.stdout is not None and holder.stderr is not None
        line = holder.stdout.readline()  # "ready", or b"" once the shell exited
        if line.strip() != b"ready":
            holder.kill()
            holder.wait()
            why = holder.stderr.read().decode(errors="replace").strip().splitlines()
            raise NamespaceUnavailable(
                f"`unshare -n` is not permitted here: {why[-1] if why else 'no reason given'}"
            )
        return cls(holder)

    @property
    def holder_pid(self) -> int:
        return self._holder.pid

    def command(self, argv: Sequence[str | Path]) -> list[str]:
        """``argv`` run inside the namespace (as the same process: nsenter execs it)."""
        return ["nsenter", f"--net=/proc/{self._holder.pid}/ns/net", *map(str, argv)]

    def close(self) -> None:
        """End the holder; the namespace goes with its last process."""
        if self._holder.poll() is None:
            self._holder.terminate()
            try:
                self._holder.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._holder.kill()
                self._holder.wait()
        for stream in (self._holder.stdout, self._holder.stderr):
            if stream is not None:
                stream.close()
