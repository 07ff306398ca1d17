"""One Redis connection per thread, used without redis-py's per-command layers, for the ingest hot path.

redis-py 8 wraps every ``Redis.execute_command`` in a pool check-out and check-in, a retry object,
event dispatch and observability recorders, which cost more CPU per command than the round trip
itself sent on a connection directly (``bench/redis_call.py``; figures in docs/benchmarks.md).
Ingest answers every hook with one round trip, so those layers would be a large share of its CPU.

What is kept: the connection class and settings of the client it is built from (TCP, TLS or Unix
socket, timeouts, auth, database), hiredis parsing, and one resend after a connection broke while
idle (a Redis restart), the same policy as the pooled client's ``Retry(NoBackoff(), 1)``.
What is dropped: nothing a single command needs; the pool is not shared, so there is no lock.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, Protocol, TypeVar

import redis
from redis.exceptions import NoScriptError

hiredis: ModuleType | None
try:  # the C serializer redis-py uses when installed (redis[hiredis]); without its per-argument checks
    import hiredis
except ImportError:  # pragma: no cover - hiredis is a dependency
    hiredis = None

T = TypeVar("T")


class Connection(Protocol):
    """What :class:`DirectConnection` uses of a redis-py connection (``redis.connection.AbstractConnection``,
    whose methods carry no annotations): the signatures it relies on."""

    def connect(self) -> None: ...

    def disconnect(self) -> None: ...

    def pack_commands(self, commands: Sequence[tuple[Any, ...]]) -> list[bytes]: ...

    def send_packed_command(self, command: list[bytes], check_health: bool = True) -> None: ...

    def read_response(self) -> Any: ...


class DirectConnection:
    """Commands on a thread-local connection made like ``client``'s pool would make it."""

    def __init__(self, client: redis.Redis) -> None:
        pool = client.connection_pool
        self._connection_class: Callable[..., Connection] = pool.connection_class
        self._connection_kwargs = dict(pool.connection_kwargs)
        self._local = threading.local()

    def _connection(self) -> tuple[Connection, bool]:
        """The thread's connection, and whether it was used before (and so may have gone stale)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn, True
        conn = self._connection_class(**self._connection_kwargs)
        # connect() now, not on first send: a Sentinel-managed connection learns the primary's address in
        # its connect() (sending on an unconnected one would dial its default, localhost:6379)
        conn.connect()
        self._local.conn, self._local.pid = conn, os.getpid()  # a forked child never shares its parent's
        return conn, False

    def execute(self, *args: Any) -> Any:
        """Send one command and return its reply; redis-py's exceptions, as from ``execute_command``.

        A reused connection that fails with a connection error or timeout is replaced and the
        command sent once more; callers must only send commands that are safe to repeat.
        """
        return self._resending(lambda conn: self._round_trip(conn, args))

    def execute_durably(self, args: tuple[Any, ...], replicas: int, timeout_ms: int) -> tuple[Any, int]:
        """Send one command and ``WAIT replicas timeout_ms`` together (still one round trip).

        Returns the command's reply and how many replicas acknowledged every write this connection
        made so far (Redis's ``WAIT``). Resent once on a stale connection, like :meth:`execute`.
        """
        return self._resending(lambda conn: self._round_trip_waiting(conn, args, replicas, timeout_ms))

    def _resending(self, send: Callable[[Connection], T]) -> T:
        """``send`` on the thread's connection; once more on a fresh one if a reused one broke."""
        conn, reused = self._connection()
        try:
            return send(conn)
        except (redis.ConnectionError, redis.TimeoutError):
            self._drop(conn)
            if not reused:
                raise
        conn, _ = self._connection()
        try:
            return send(conn)
        except (redis.ConnectionError, redis.TimeoutError):
            self._drop(conn)
            raise

    @staticmethod
    def _pack(conn: Connection, *commands: tuple[Any, ...]) -> list[bytes]:
        if hiredis is not None:
            return [hiredis.pack_command(command) for command in commands]
        return conn.pack_commands(commands)

    @classmethod
    def _round_trip(cls, conn: Connection, args: tuple[Any, ...]) -> Any:
        conn.send_packed_command(cls._pack(conn, args), check_health=False)
        return conn.read_response()

    @classmethod
    def _round_trip_waiting(
        cls, conn: Connection, args: tuple[Any, ...], replicas: int, timeout_ms: int
    ) -> tuple[Any, int]:
        conn.send_packed_command(cls._pack(conn, args, ("WAIT", replicas, timeout_ms)), check_health=False)
        try:
            reply = conn.read_response()
        except redis.ResponseError:
            conn.read_response()  # the WAIT's own reply, so the next command reads its own
            raise
        return reply, int(conn.read_response())

    def _drop(self, conn: Connection) -> None:
        conn.disconnect()
        self._local.conn = None

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._drop(conn)


class DirectScript:
    """A Lua script run with EVALSHA on a :class:`DirectConnection`, loaded by EVAL when Redis lacks it."""

    def __init__(self, connection: DirectConnection, source: str) -> None:
        self.connection = connection
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    def __call__(self, keys: list[Any], args: list[Any]) -> Any:
        try:
            return self.connection.execute("EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:  # first call since Redis started (or SCRIPT FLUSH): EVAL also caches it
            return self.connection.execute("EVAL", self.source, len(keys), *keys, *args)

    def call_durably(self, keys: list[Any], args: list[Any], replicas: int, timeout_ms: int) -> tuple[Any, int]:
        """Run the script and ``WAIT`` for ``replicas`` in one round trip: (reply, replicas that hold it)."""
        try:
            return self.connection.execute_durably(("EVALSHA", self.sha, len(keys), *keys, *args), replicas, timeout_ms)
        except NoScriptError:
            return self.connection.execute_durably(("EVAL", self.source, len(keys), *keys, *args), replicas, timeout_ms)
