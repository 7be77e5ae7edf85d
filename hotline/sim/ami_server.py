"""A loopback AMI server that answers as Asterisk 22 does in the captures.

Used by the simulator, the replay tool and the tests. It speaks only the manager protocol: the
telephony is whatever the caller registers (``register_action``) or pushes (``broadcast``).
Texts, field names and field order are copied from the real captures (member_ops in particular).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from acd.ami.framing import TERMINATOR, AmiFramer
from acd.ami.message import AmiMessage

log = logging.getLogger(__name__)

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
ActionHandler = Callable[[AmiMessage], Awaitable[list[AmiMessage]]]


def _event_tv(now: float) -> str:
    """Asterisk's EventTV/SessionTV form: ``2026-11-23T14:52:37.223+0000``."""
    stamp = datetime.fromtimestamp(now, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"


@dataclass(eq=False)
class _Client:
    writer: asyncio.StreamWriter
    session_id: str
    remote: str
    local: str
    opened: float
    logged_in: bool = False
    closed: bool = False


@dataclass(frozen=True)
class LoginAttempt:
    at: float  # time.monotonic()
    username: str
    accepted: bool


@dataclass(eq=False)
class AmiServer:
    host: str = "127.0.0.1"
    port: int = 0
    username: str = "hotline"
    secret: str = "hotline-secret"
    # Asterisk sleeps one second before refusing a login (manager.c); tests shorten it.
    badauth_delay: float = 1.0
    pause_responses: bool = False
    login_attempts: list[LoginAttempt] = field(default_factory=list)
    # The last actions received, for tests and the replay tool (bounded: the demo runs for days).
    actions_seen: deque[AmiMessage] = field(default_factory=lambda: deque(maxlen=10_000))

    def __post_init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._clients: set[_Client] = set()
        self._handlers: dict[str, ActionHandler] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._sessions = itertools.count(0x7FC1000011A0, 0x40)
        self._waiters: set[asyncio.Future[None]] = set()
        self._started = time.time()

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._started = time.time()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop_clients()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> AmiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- extension points --------------------------------------------------------------------

    def register_action(self, name: str, handler: ActionHandler) -> None:
        """Answer ``Action: name`` with what the handler returns (ActionID is filled in).

        A handler for ``Login`` replaces the built-in login (fault tests: a server that hangs up
        or never answers); other actions still need a logged-in client first.

        To place the ActionID elsewhere than right after the first header (QueueParams has it
        last), put an ``("ActionID", "")`` field where it belongs.
        """
        self._handlers[name.lower()] = handler

    @property
    def logged_in_clients(self) -> int:
        return sum(1 for c in self._clients if c.logged_in and not c.closed)

    @property
    def connections(self) -> int:
        return sum(1 for c in self._clients if not c.closed)

    async def broadcast(self, msg: AmiMessage) -> None:
        await self.broadcast_raw(msg.to_bytes())

    async def broadcast_raw(self, data: bytes) -> None:
        """Write bytes to every logged-in client, in call order, waiting for slow readers."""
        targets = [c for c in self._clients if c.logged_in and not c.closed]
        for client in targets:
            client.writer.write(data)
        for client in targets:
            with contextlib.suppress(ConnectionError):
                await client.writer.drain()

    async def replay(self, raw: bytes, chunk_sizes: Sequence[int] | None = None) -> int:
        """``replay(self, raw, chunk_sizes)``: stream a capture's events to logged-in clients."""
        return await replay(self, raw, chunk_sizes)

    def drop_clients(self) -> None:
        """Abort every connection at once, as a crashed or restarted Asterisk would."""
        for client in list(self._clients):
            client.closed = True
            transport = client.writer.transport
            transport.abort()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until ``predicate()`` holds, re-checked whenever a client logs in, out or acts."""
        async with asyncio.timeout(timeout):
            while not predicate():
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.add(waiter)
                try:
                    await waiter
                finally:
                    self._waiters.discard(waiter)

    # ---- protocol ----------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        sock = writer.get_extra_info("sockname") or (self.host, self.port)
        client = _Client(
            writer=writer,
            session_id=hex(next(self._sessions)),
            remote=f"IPV4/TCP/{peer[0]}/{peer[1]}",
            local=f"IPV4/TCP/{sock[0]}/{sock[1]}",
            opened=time.time(),
        )
        self._clients.add(client)
        framer = AmiFramer(expect_banner=False, strict_kind=False)
        try:
            writer.write(BANNER)
            while not client.closed:
                data = await reader.read(65536)
                if not data:
                    break
                for action in framer.feed(data):
                    await self._act(client, action)
                    if client.closed:
                        break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # close() cancels sessions stuck in a handler; ending quietly keeps asyncio's
            # start_server callback from logging the cancellation as an error.
            pass
        finally:
            client.closed = True
            self._clients.discard(client)
            if not writer.transport.is_closing():
                writer.close()  # flushes what is still buffered (a Goodbye, say)
            self._notify()
            if task is not None:
                self._tasks.discard(task)

    def _notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _act(self, client: _Client, action: AmiMessage) -> None:
        self.actions_seen.append(action)
        headers = {k.lower(): v for k, v in reversed(action.fields)}
        name = headers.get("action", "")
        action_id = headers.get("actionid")
        lowered = name.lower()
        try:
            if self.pause_responses:
                return
            if lowered == "login" and lowered not in self._handlers:
                await self._login(client, headers, action_id)
                return
            if lowered == "logoff":
                await self._send(
                    client, self._response("Goodbye", action_id, Message="Thanks for all the fish.")
                )
                client.closed = True
                await client.writer.drain()
                client.writer.close()
                return
            if not name:
                await self._send(
                    client, self._response("Error", action_id, Message="Missing action in request")
                )
                return
            if not client.logged_in and lowered != "login":
                await self._send(
                    client, self._response("Error", action_id, Message="Permission denied")
                )
                return
            await self._dispatch(client, name, lowered, action, action_id)
        finally:
            self._notify()

    async def _dispatch(
        self, client: _Client, name: str, lowered: str, action: AmiMessage, action_id: str | None
    ) -> None:
        handler = self._handlers.get(lowered)
        if handler is not None:
            replies = await handler(action)
            await self._send(client, *(self._with_action_id(m, action_id) for m in replies))
        elif lowered == "ping":
            await self._send(
                client,
                self._response("Success", action_id, Ping="Pong", Timestamp=f"{time.time():.6f}"),
            )
        elif lowered == "events":
            mask = (action.get("EventMask") or "on").lower()
            await self._send(
                client,
                self._response("Success", action_id, Events="Off" if mask == "off" else "On"),
            )
        else:
            await self._send(
                client,
                self._response(
                    "Error",
                    action_id,
                    Message=f"Invalid/unknown command: {name}. "
                    "Use Action: ListCommands to show available commands.",
                ),
            )
            await self.broadcast(
                self._security_event(
                    client,
                    "RequestBadFormat",
                    "Error",
                    "1",
                    [
                        ("RequestType", f"Action: {name}"),
                        ("SessionTV", _event_tv(client.opened)),
                        ("AccountID", self.username),
                    ],
                )
            )

    async def _login(self, client: _Client, headers: dict[str, str], action_id: str | None) -> None:
        username = headers.get("username", "")
        accepted = username == self.username and headers.get("secret") == self.secret
        self.login_attempts.append(LoginAttempt(time.monotonic(), username, accepted))
        if not accepted:
            # Other sessions hear of it first, then the refusal comes after Asterisk's pause.
            await self.broadcast(
                self._security_event(
                    client,
                    "InvalidPassword",
                    "Error",
                    "2",
                    [
                        ("AccountID", username),
                        ("SessionID", client.session_id),
                        ("LocalAddress", client.local),
                        ("RemoteAddress", client.remote),
                        ("SessionTV", "1970-01-01T00:00:00.000+0000"),
                    ],
                    ordered=True,
                )
            )
            if self.badauth_delay > 0:
                await asyncio.sleep(self.badauth_delay)
            await self._send(
                client, self._response("Error", action_id, Message="Authentication failed")
            )
            client.closed = True
            client.writer.close()
            return
        await self._send(
            client,
            self._response("Success", action_id, Message="Authentication accepted"),
            AmiMessage(
                [
                    ("Event", "FullyBooted"),
                    ("Privilege", "system,all"),
                    ("Uptime", str(int(time.time() - self._started))),
                    ("LastReload", str(int(time.time() - self._started))),
                    ("Status", "Fully Booted"),
                ]
            ),
        )
        client.logged_in = True
        await self.broadcast(
            self._security_event(
                client,
                "SuccessfulAuth",
                "Informational",
                "1",
                [
                    ("AccountID", username),
                    ("SessionID", client.session_id),
                    ("LocalAddress", client.local),
                    ("RemoteAddress", client.remote),
                    ("UsingPassword", "0"),
                    ("SessionTV", _event_tv(client.opened)),
                ],
                ordered=True,
            )
        )

    def _security_event(
        self,
        client: _Client,
        name: str,
        severity: str,
        version: str,
        tail: list[tuple[str, str]],
        *,
        ordered: bool = False,
    ) -> AmiMessage:
        now = time.time()
        fields = [
            ("Event", name),
            ("Privilege", "security,all"),
            ("Timestamp", f"{now:.6f}"),
            ("EventTV", _event_tv(now)),
            ("Severity", severity),
            ("Service", "AMI"),
            ("EventVersion", version),
        ]
        if ordered:
            fields += tail
        else:
            # RequestBadFormat lists the session before the request (as in member_ops).
            fields += [
                ("SessionID", client.session_id),
                ("LocalAddress", client.local),
                ("RemoteAddress", client.remote),
                *tail,
            ]
        return AmiMessage(fields)

    @staticmethod
    def _response(status: str, action_id: str | None, **headers: str) -> AmiMessage:
        fields = [("Response", status)]
        if action_id is not None:
            fields.append(("ActionID", action_id))
        fields += headers.items()
        return AmiMessage(fields)

    @staticmethod
    def _with_action_id(msg: AmiMessage, action_id: str | None) -> AmiMessage:
        fields = list(msg.fields)
        slot = next((i for i, (k, _) in enumerate(fields) if k == "ActionID"), None)
        if action_id is None:
            if slot is not None:
                del fields[slot]
            return AmiMessage(fields)
        if slot is None:
            fields.insert(1, ("ActionID", action_id))
        else:
            fields[slot] = ("ActionID", action_id)
        return AmiMessage(fields)

    async def _send(self, client: _Client, *messages: AmiMessage) -> None:
        if client.closed:
            return
        client.writer.write(b"".join(m.to_bytes() for m in messages))
        with contextlib.suppress(ConnectionError):
            await client.writer.drain()


def event_frames(raw: bytes) -> list[bytes]:
    """The event messages of a capture's ami.raw, byte-exact with their blank line.

    The capture's Response messages answered the capture client's own actions, so they are left
    out; events (list events included) are kept in wire order.
    """
    if raw.startswith(b"Asterisk Call Manager/"):
        raw = raw[raw.find(b"\r\n") + 2 :]
    return [frame + TERMINATOR for frame in raw.split(TERMINATOR) if frame.startswith(b"Event:")]


async def replay(
    server: AmiServer,
    raw: bytes,
    chunk_sizes: Sequence[int] | None = None,
) -> int:
    """Stream a capture's events to every logged-in client; returns how many were sent.

    ``chunk_sizes`` cuts the byte stream into pieces of those sizes, cycled (each piece written
    and drained on its own), to exercise readers on arbitrary TCP boundaries.
    """
    frames = event_frames(raw)
    data = b"".join(frames)
    if not chunk_sizes:
        await server.broadcast_raw(data)
        return len(frames)
    if any(size <= 0 for size in chunk_sizes):
        raise ValueError("chunk sizes must be positive")
    sizes: Iterable[int] = itertools.cycle(chunk_sizes)
    pos = 0
    for size in sizes:
        if pos >= len(data):
            break
        await server.broadcast_raw(data[pos : pos + size])
        pos += size
    return len(frames)
