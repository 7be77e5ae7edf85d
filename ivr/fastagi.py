"""An asyncio FastAGI server: many concurrent calls in one process, routed by script name.

Why not ``panoramisk.fast_agi`` (1.4): its handler reads the environment with
``while b'\\n\\n' not in buffer: buffer += await reader.read(…)``, which spins forever when the
peer closes before the blank line; it has no timeouts at all, so a vanished peer pins a task
for good; a ``HANGUP`` line arriving before a reply is taken as that reply; an empty read
(closed socket) crashes the result parser with ``int('')``; and non-coroutine routes go through
``asyncio.coroutine``, which Python 3.11 no longer has. The protocol is small, so this module
speaks it itself (``ivr.agi_protocol`` + ``ivr.session``), on the same wire format.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from ivr.agi_protocol import AgiError, parse_env_line
from ivr.session import AgiSession, MissingSounds, script_name

log = logging.getLogger(__name__)

Handler = Callable[[AgiSession], Awaitable[None]]

# The environment is ~22 lines; a peer that sends far more is not Asterisk.
_MAX_ENV_LINES = 500
# A junk connection (a port scan, an HTTP client) gets this many warning lines for its bad
# environment lines, then one summary: one peer must not flood the log.
_LOGGED_BAD_LINES = 3


class FastAgiServer:
    """Serve FastAGI on ``host:port``; ``routes`` maps ``agi_network_script`` to a handler.

    A handler owns its session; whatever it raises is logged and ends that session only.
    """

    def __init__(
        self,
        routes: Mapping[str, Handler],
        *,
        host: str = "127.0.0.1",
        port: int = 4573,
        env_timeout: float = 10.0,
        reply_timeout: float = 60.0,
        encoding: str = "utf-8",
    ) -> None:
        self.routes = dict(routes)
        self.host = host
        self._port = port
        self.env_timeout = env_timeout
        self.reply_timeout = reply_timeout
        self.encoding = encoding
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.sessions_served = 0
        self.peak_sessions = 0
        # Sounds this server's calls could not play (one warning each).
        self.missing_sounds = MissingSounds()

    @property
    def port(self) -> int:
        """The bound port (the real one when started with port 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def active_sessions(self) -> int:
        return len(self._tasks)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self._port, backlog=1024)
        log.info("FastAGI listening on %s:%s", self.host, self.port)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop accepting, give running sessions ``grace`` seconds, then cancel the rest."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def __aenter__(self) -> FastAgiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.peak_sessions = max(self.peak_sessions, len(self._tasks))
        try:
            await self._serve(reader, writer)
        except Exception:
            log.exception("FastAGI session crashed outside its handler")
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            env = await asyncio.wait_for(self._read_env(reader, peer), self.env_timeout)
        except TimeoutError:
            log.warning("FastAGI peer %s sent no complete environment in time", peer)
            return
        except AgiError as error:
            log.warning("FastAGI peer %s: bad environment: %s", peer, error)
            return
        if env is None:
            log.info("FastAGI peer %s closed before its environment ended", peer)
            return
        session = AgiSession(
            reader,
            writer,
            env,
            reply_timeout=self.reply_timeout,
            encoding=self.encoding,
            missing_sounds=self.missing_sounds,
        )
        handler = self.routes.get(session.script)
        if handler is None:
            log.error(
                "FastAGI: no route for script %r (uniqueid %s)",
                script_name(env.get("agi_network_script", "")),
                session.uniqueid,
            )
            return
        self.sessions_served += 1
        try:
            await handler(session)
        except AgiError as error:
            log.info("FastAGI %s session %s ended: %s", session.script, session.uniqueid, error)
        except Exception:
            log.exception(
                "FastAGI %s handler crashed (uniqueid %s)", session.script, session.uniqueid
            )

    async def _read_env(self, reader: asyncio.StreamReader, peer: object) -> dict[str, str] | None:
        env: dict[str, str] = {}
        skipped = 0
        try:
            for _ in range(_MAX_ENV_LINES):
                try:
                    raw = await reader.readline()
                except (ConnectionError, OSError, ValueError):
                    return None
                if not raw:
                    return None
                line = raw.decode(self.encoding, errors="replace").rstrip("\r\n")
                if not line:
                    return env
                pair = parse_env_line(line)
                if pair is None:
                    # One bad line must not cost the caller the IVR: skip it, keep the rest.
                    skipped += 1
                    if skipped <= _LOGGED_BAD_LINES:
                        log.warning(
                            "FastAGI peer %s: ignoring non-environment line %r", peer, line[:120]
                        )
                    continue
                env[pair[0]] = pair[1]
            log.warning("FastAGI peer %s: environment longer than %d lines", peer, _MAX_ENV_LINES)
            return None
        finally:
            if skipped > _LOGGED_BAD_LINES:
                log.warning(
                    "FastAGI peer %s: %d non-environment lines ignored in all (first %d logged)",
                    peer,
                    skipped,
                    _LOGGED_BAD_LINES,
                )
