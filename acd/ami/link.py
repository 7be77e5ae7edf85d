"""The AMI link: one supervised, logged-in connection to an Asterisk manager interface.

Built on panoramisk's ``AMIProtocol`` (the asyncio protocol edge) with our own framing and our
own supervision, because panoramisk 1.4 decodes each TCP read on its own (losing UTF-8 names cut
between reads), dispatches every event with ``ensure_future`` (which reorders them) and
reconnects at a fixed pace without noticing a peer that went silent.

Every unsolicited event reaches the one consumer, ``on_message``, synchronously and in wire
order. Responses and the events of list actions go to whoever sent the action instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from panoramisk.ami_protocol import AMIProtocol

from acd.ami.framing import AmiFramer
from acd.ami.message import AmiMessage
from retry_policy.backoff import STABLE_AFTER_S, Backoff, Clock, Sleep

log = logging.getLogger(__name__)

ActionFields = Mapping[str, str] | Iterable[tuple[str, str]]
OnMessage = Callable[[AmiMessage], None]
OnConnected = Callable[[], Awaitable[None] | None]
OnDisconnected = Callable[[str], None]


class AmiError(Exception):
    """Something went wrong on the AMI link (base of the link's errors)."""


class AmiNotConnected(AmiError):
    """An action was sent while the link is not logged in."""


class AmiConnectionLost(AmiError):
    """The connection went away before the action was answered."""


class AmiActionTimeout(AmiError, TimeoutError):
    """No (complete) answer to an action within its time limit."""


class AmiActionError(AmiError):
    """Asterisk answered ``Response: Error`` (only raised when the caller asks for a check)."""

    def __init__(self, message: str, response: AmiMessage) -> None:
        super().__init__(message)
        self.response = response


class AmiLoginError(AmiError):
    """Asterisk refused the login (wrong user or secret, or not permitted)."""


@dataclass(eq=False)
class _Pending:
    action: str
    future: asyncio.Future[list[AmiMessage]]
    as_list: bool
    messages: list[AmiMessage] = field(default_factory=list)
    listing: bool = False  # an ``EventList: start`` response came: events follow until Complete


def _action_fields(fields: ActionFields) -> list[tuple[str, str]]:
    pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
    out = [(str(k), str(v)) for k, v in pairs]
    if not any(k.lower() == "action" for k, _ in out):
        raise ValueError(f"an AMI action needs an 'Action' field: {out!r}")
    return out


def _encode(fields: list[tuple[str, str]]) -> bytes:
    for key, value in fields:
        if "\r" in value or "\n" in value or "\r" in key or "\n" in key or ":" in key:
            # A newline in a value would let it inject a second action.
            raise ValueError(f"AMI field {key!r} contains a line break or a bad key")
    return AmiMessage(fields).to_bytes()


def _is_list_end(msg: AmiMessage) -> bool:
    return msg.get("EventList") == "Complete" or msg.name.endswith("Complete")


class _LinkProtocol(AMIProtocol):
    """panoramisk's protocol with our framer; every message goes to the link, in order."""

    closed: bool
    version: str | None

    def __init__(self, link: AmiLink) -> None:
        self._link = link
        self.framer = AmiFramer()
        self.bytes_received = 0
        self.lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.bytes_received += len(data)
        route = self._link._route
        for message in self.framer.feed(data):
            route(message)
        if self.version is None and self.framer.version is not None:
            self.version = self.framer.version
        if self._link._waiters:
            self._link._state_changed()

    def write(self, data: bytes) -> None:
        if self.closed:
            raise AmiConnectionLost("AMI connection is closed")
        self.transport.write(data)

    def abort(self) -> None:
        if not self.closed:
            self.closed = True
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        reason = f"connection lost: {exc}" if exc else "connection closed by peer"
        if not self.lost.done():
            self.lost.set_result(reason)
        if self._link._protocol is self:
            # Fail waiting actions now, not at their timeout (the login, a resync's lists…).
            self._link._fail_pending(reason)


class AmiLink:
    """A supervised AMI client: login, ordered events, actions, pings, reconnects."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        on_message: OnMessage,
        on_connected: OnConnected | None = None,
        on_disconnected: OnDisconnected | None = None,
        ping_interval: float = 20.0,
        ping_timeout: float = 5.0,
        action_timeout: float = 10.0,
        reconnect_min: float = 0.5,
        reconnect_max: float = 30.0,
        connect_timeout: float = 5.0,
        events: str | None = None,
        stable_after: float = STABLE_AFTER_S,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not 0 < reconnect_min <= reconnect_max:
            raise ValueError("need 0 < reconnect_min <= reconnect_max")
        # Reconnect delays double (with jitter) up to reconnect_max, and start again from
        # reconnect_min only after a connection stayed up stable_after seconds: an Asterisk
        # that accepts the login and hangs up at once is not retried every reconnect_min.
        self._retry = Backoff(reconnect_min, reconnect_max, stable_after=stable_after, clock=clock)
        self._sleep = sleep
        self.host = host
        self.port = port
        self.username = username
        self._secret = secret
        self._on_message = on_message
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.action_timeout = action_timeout
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.connect_timeout = connect_timeout
        # None: log in without an Events header, so Asterisk sends every event (as the captures).
        self.events = events

        self._protocol: _LinkProtocol | None = None
        self._pending: dict[str, _Pending] = {}
        self._listing = 0  # how many pending list actions are between start and Complete
        self._ids = itertools.count(1)
        self._id_prefix = f"hl-{secrets.token_hex(3)}-"
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._logged_in = False
        self._connected_event = asyncio.Event()
        self._since = time.time()
        self._reconnects = 0
        self._last_error: str | None = None
        self._events = 0
        self._skipped_before = 0  # frames skipped on earlier connections
        self.next_delay: float | None = None
        self.version: str | None = None
        self._waiters: set[asyncio.Future[None]] = set()

    # ---- public API --------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._logged_in

    @property
    def state(self) -> dict[str, Any]:
        """A small snapshot for /healthz."""
        proto = self._protocol
        return {
            "connected": self._logged_in,
            "since": self._since,
            "reconnects": self._reconnects,
            "last_error": self._last_error,
            "events": self._events,
            "skipped_frames": self._skipped_before + (proto.framer.skipped if proto else 0),
        }

    @property
    def bytes_received(self) -> int:
        """Bytes read on the current connection (tests use it to force separate TCP reads)."""
        return self._protocol.bytes_received if self._protocol else 0

    async def start(self) -> None:
        """Start connecting in the background; returns at once (see ``wait_connected``)."""
        if self._task is not None:
            return
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._supervise(), name="ami-link")

    async def wait_connected(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Wait until the link is logged in (``TimeoutError`` after ``timeout`` seconds)."""
        await asyncio.wait_for(self._connected_event.wait(), timeout)

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until ``predicate()`` holds, re-checked on every read, connect, disconnect or
        error (``TimeoutError`` after ``timeout`` seconds)."""
        async with asyncio.timeout(timeout):
            while not predicate():
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.add(waiter)
                try:
                    await waiter
                finally:
                    self._waiters.discard(waiter)

    def _state_changed(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def stop(self) -> None:
        """Log off politely, close the connection and stop reconnecting."""
        self._stopping = True
        proto = self._protocol
        if proto is not None and self._logged_in:
            with contextlib.suppress(AmiError, ValueError):
                await self.send_action({"Action": "Logoff"}, timeout=min(1.0, self.action_timeout))
        if proto is not None:
            proto.abort()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def send_action(
        self,
        fields: ActionFields,
        timeout: float | None = None,  # noqa: ASYNC109 - the per-action limit is the API
        *,
        check: bool = False,
    ) -> AmiMessage:
        """Send one action and return its response (``Response: Error`` too, unless ``check``)."""
        messages = await self._request(fields, timeout, as_list=False)
        response = messages[0]
        if check and response.name not in ("Success", "Goodbye", "Follows"):
            raise AmiActionError(
                f"AMI action failed: {response.get('Message', response.name)}", response
            )
        return response

    async def send_list_action(
        self,
        fields: ActionFields,
        timeout: float | None = None,  # noqa: ASYNC109 - the per-action limit is the API
    ) -> list[AmiMessage]:
        """Send a list action (CoreShowChannels, QueueStatus…).

        Returns ``[response, *list events, complete event]``; just ``[response]`` when Asterisk
        answers without a list (an error, say). The timeout covers the whole list.
        """
        return await self._request(fields, timeout, as_list=True)

    # ---- actions -----------------------------------------------------------------------------

    async def _request(
        self, fields: ActionFields, limit_s: float | None, *, as_list: bool, login: bool = False
    ) -> list[AmiMessage]:
        pairs = _action_fields(fields)
        proto = self._protocol
        if proto is None or proto.closed or not (self._logged_in or login):
            raise AmiNotConnected(f"AMI link to {self.host}:{self.port} is not connected")
        action = next(v for k, v in pairs if k.lower() == "action")
        action_id = next((v for k, v in pairs if k.lower() == "actionid"), None)
        if action_id is None:
            action_id = f"{self._id_prefix}{next(self._ids)}"
            at = 1 if pairs[0][0].lower() == "action" else len(pairs)
            pairs.insert(at, ("ActionID", action_id))
        if action_id in self._pending:
            raise ValueError(f"ActionID {action_id!r} is already waiting for an answer")
        data = _encode(pairs)
        future: asyncio.Future[list[AmiMessage]] = asyncio.get_running_loop().create_future()
        pending = _Pending(action, future, as_list)
        self._pending[action_id] = pending
        limit = self.action_timeout if limit_s is None else limit_s
        try:
            proto.write(data)
            return await asyncio.wait_for(future, limit)
        except TimeoutError:
            raise AmiActionTimeout(
                f"AMI action {action} (ActionID {action_id}) got no "
                f"{'complete list' if as_list else 'response'} within {limit:g} s"
            ) from None
        finally:
            # send_action got a list it did not ask for: its entry stays to swallow the list
            # events until Complete, so they do not reach on_message as unsolicited events.
            swallow = pending.listing and not pending.as_list and not proto.closed
            if self._pending.get(action_id) is pending and not swallow:
                del self._pending[action_id]
                if pending.listing:
                    self._listing -= 1

    def _route(self, msg: AmiMessage) -> None:
        """Every message of the connection, in wire order (the hot path)."""
        # ``kind`` reads only the first line: most events are never split here.
        if not self._listing and msg.kind == "event":
            # _deliver() inlined: one call less for every event of the stream.
            self._events += 1
            try:
                self._on_message(msg)
            except Exception:
                log.exception("AMI: on_message failed on %s; the link goes on", msg.name)
            return
        action_id = msg.get("ActionID")
        pending = self._pending.get(action_id) if action_id is not None else None
        if msg.kind == "response":
            if pending is None or pending.messages:
                log.debug("AMI: response nobody waits for (late or foreign): %r", msg.fields)
                return
            pending.messages.append(msg)
            if msg.get("EventList") == "start":
                pending.listing = True
                self._listing += 1
                if pending.as_list:
                    return
            self._resolve(pending)
            return
        if pending is not None and pending.listing:
            if pending.as_list:
                pending.messages.append(msg)
            if _is_list_end(msg):
                pending.listing = False
                self._listing -= 1
                if pending.as_list:
                    self._resolve(pending)
                else:
                    # The owner already has its response; it left this entry to swallow the list.
                    self._pending.pop(action_id or "", None)
            return
        self._deliver(msg)

    @staticmethod
    def _resolve(pending: _Pending) -> None:
        if not pending.future.done():
            pending.future.set_result(list(pending.messages))

    def _deliver(self, msg: AmiMessage) -> None:
        self._events += 1
        try:
            self._on_message(msg)
        except Exception:
            log.exception("AMI: on_message failed on %s; the link goes on", msg.name)

    def _fail_pending(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        self._listing = 0
        for item in pending.values():
            if not item.future.done():
                item.future.set_exception(AmiConnectionLost(f"AMI {item.action}: {reason}"))

    # ---- supervision -------------------------------------------------------------------------

    async def _supervise(self) -> None:
        while not self._stopping:
            try:
                reason = await self._one_connection()
            except Exception as exc:  # a bug or bad config must not end reconnecting silently
                log.exception("AMI: connection attempt to %s:%s failed", self.host, self.port)
                reason = f"unexpected error: {exc!r}"
                self._last_error = reason
            if self._stopping:
                break
            self.next_delay = delay = self._retry.next_delay()
            log.info(
                "AMI: reconnecting to %s:%s in %.2f s (%s)", self.host, self.port, delay, reason
            )
            await self._sleep(delay)
            self._reconnects += 1

    async def _one_connection(self) -> str:
        """Connect, log in, serve until the connection dies; returns why it ended."""
        loop = asyncio.get_running_loop()
        pinger: asyncio.Task[None] | None = None
        try:
            try:
                _, proto = await asyncio.wait_for(
                    loop.create_connection(lambda: _LinkProtocol(self), self.host, self.port),
                    self.connect_timeout,
                )
            except (OSError, TimeoutError) as exc:
                reason = f"cannot connect to {self.host}:{self.port}: {exc or 'timeout'}"
                self._set_error(reason, logging.WARNING)
                return reason
            self._protocol = proto
            try:
                await self._login(proto)
            except AmiError as exc:
                if not self._stopping:  # a login cut short by stop() is no error
                    self._set_error(str(exc), logging.ERROR)
                return str(exc)
            self._mark_connected(proto)
            pinger = loop.create_task(self._ping_loop(proto), name="ami-ping")
            await self._run_on_connected()
            reason = await asyncio.shield(proto.lost)
            if not self._stopping:
                self._set_error(f"AMI {self.host}:{self.port}: {reason}", logging.WARNING)
            return reason
        finally:
            if pinger is not None:
                pinger.cancel()
            self._close_connection()

    async def _login(self, proto: _LinkProtocol) -> None:
        fields = [("Action", "Login"), ("Username", self.username), ("Secret", self._secret)]
        if self.events is not None:
            fields.append(("Events", self.events))
        try:
            response = (
                await self._request(fields, self.action_timeout, as_list=False, login=True)
            )[0]
        except AmiActionTimeout as exc:
            raise AmiLoginError(f"AMI login to {self.host}:{self.port}: {exc}") from None
        except AmiConnectionLost:
            raise AmiLoginError(
                f"AMI login to {self.host}:{self.port}: connection closed before an answer"
            ) from None
        if response.name != "Success":
            raise AmiLoginError(
                f"AMI login to {self.host}:{self.port} as {self.username!r} refused: "
                f"{response.get('Message', response.name)}"
            )

    def _mark_connected(self, proto: _LinkProtocol) -> None:
        self._logged_in = True
        self._retry.connected()
        self.next_delay = None
        self._since = time.time()
        self.version = proto.framer.version
        self._connected_event.set()
        self._state_changed()
        log.info(
            "AMI: logged in to %s:%s as %r (AMI %s)",
            self.host,
            self.port,
            self.username,
            self.version,
        )

    async def _run_on_connected(self) -> None:
        if self._on_connected is None:
            return
        try:
            result = self._on_connected()
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("AMI: on_connected failed; events keep flowing")

    def _close_connection(self) -> None:
        proto, self._protocol = self._protocol, None
        was_logged_in = self._logged_in
        self._logged_in = False
        self._connected_event.clear()
        if proto is None:
            return
        self._skipped_before += proto.framer.skipped
        proto.abort()
        lost = proto.lost
        reason = lost.result() if lost.done() and not lost.cancelled() else "link stopped"
        self._fail_pending(reason)
        self._state_changed()
        if was_logged_in:
            self._since = time.time()
            if self._on_disconnected is not None:
                try:
                    self._on_disconnected(reason)
                except Exception:
                    log.exception("AMI: on_disconnected failed")

    def _set_error(self, reason: str, level: int) -> None:
        self._last_error = reason
        log.log(level, "AMI: %s", reason)
        self._state_changed()

    async def _ping_loop(self, proto: _LinkProtocol) -> None:
        while not proto.closed:
            await asyncio.sleep(self.ping_interval)
            try:
                await self.send_action({"Action": "Ping"}, timeout=self.ping_timeout)
            except AmiActionTimeout:
                reason = f"no answer to Ping within {self.ping_timeout:g} s: declared dead"
                if not proto.lost.done():
                    proto.lost.set_result(reason)
                proto.abort()
                return
            except AmiError:
                return
