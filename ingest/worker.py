"""ingest's gunicorn worker: gunicorn's sync worker, except that a request is read whole before it runs.

gunicorn's sync worker hands a connection to the application as soon as it is accepted and then reads
the request from it with blocking calls: a client sending its headers or body a byte at a time holds
the worker, which is one of 2 x cores, until the worker timeout kills it. This worker keeps every
connection that has not yet sent a complete request in a selector (``epoll``) with a buffer and a
read deadline, and runs the application only on complete requests, inline, in the worker's one
thread, exactly as the sync worker does. A slow client costs a buffer and a file descriptor, not the
worker; the hot path (accept, one ``recv``, gunicorn's own parser, the app, the answer) stays the sync
worker's, with no thread hand-off and no GIL contention: sync is the fastest worker class measured in
docs/benchmarks.md. The last step of the sync worker that waits on the client, the graceful close
(half-close, then read until the client closes, up to 2 s), is done in the selector too.

Limits (set by ingest/gunicorn_conf.py): ``read_deadline`` seconds from accept to a complete request,
answered 408 and closed when exceeded; headers over ``max_header_bytes`` are answered 431; a body that
makes the buffer exceed ``max_buffer_bytes`` (the app's body limit plus the headers' allowance) is
handed to the application unbuffered, which refuses it with 413 from the bytes already received;
``worker_connections`` open connections per worker at most (the worker stops accepting beyond them, so
that the others take the new ones). Each answer closes the connection (``Connection: close``), as the
sync worker's do. Plain HTTP/1.x only: TLS ends at the load balancer.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import selectors
import socket
import ssl
import time
from collections import deque
from typing import Any

from gunicorn import http, util
from gunicorn.http.body import ChunkedReader, LengthReader
from gunicorn.http.errors import LimitRequestHeaders, NoMoreData
from gunicorn.workers.sync import SyncWorker

_READING, _LINGERING, _CLOSED = 1, 2, 3
_RECV_SIZE = 65536
_ACCEPT_BATCH = 16  # connections accepted per wake-up, so that waiting connections are not starved
_LINGER_SECONDS = 2.0  # gunicorn's util.close_graceful: how long a closed connection is drained
_LINGER_MAX_BYTES = 65536
_TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 16\r\n\r\nRequest Timeout\n"
)
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _Incomplete(Exception):
    """The buffered bytes end before the request does."""


class _Source:
    """What gunicorn's parser reads from: the buffered bytes, then (``sock`` given) the socket itself."""

    __slots__ = ("data", "deadline", "pos", "sock")

    def __init__(self, data: bytes, sock: socket.socket | None = None, deadline: float = 0.0) -> None:
        self.data = data
        self.pos = 0
        self.sock = sock
        self.deadline = deadline

    def recv(self, size: int) -> bytes:
        data, pos = self.data, self.pos
        if pos < len(data):
            chunk = data if pos == 0 and size >= len(data) else data[pos : pos + size]
            self.pos = pos + len(chunk)
            return chunk
        if self.sock is None:
            raise _Incomplete
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("read deadline")
        self.sock.settimeout(remaining)
        return self.sock.recv(size)


class _Conn:
    __slots__ = (
        "addr",
        "buf",
        "chunk_pos",
        "continued",
        "drained",
        "linger_deadline",
        "listener",
        "need",
        "read_deadline",
        "registered",
        "scan",
        "sock",
        "state",
    )

    def __init__(self, sock: socket.socket, addr: Any, listener: Any, read_deadline: float) -> None:
        self.sock = sock
        self.addr = addr
        self.listener = listener
        self.read_deadline = read_deadline
        self.linger_deadline = 0.0
        self.state = _READING
        self.buf = bytearray()
        self.scan = 0  # where to look for the end of the headers next time
        self.need: int | None = None  # total bytes of the request, once its headers gave a Content-Length
        self.chunk_pos: int | None = None  # next chunk-size line of a chunked body, once headers are read
        self.continued = False  # "100 Continue" sent
        self.registered = False
        self.drained = 0


def chunked_body_end(buf: bytes | bytearray, pos: int) -> tuple[bool | None, int]:
    """Whether a chunked body starting at ``pos`` is complete in ``buf``: (True, _) when it is,
    (False, resume_at) when more bytes are needed, (None, _) when its framing is unreadable (the parser
    then says why). Only framing is looked at; gunicorn's parser validates everything afterwards."""
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return (None if len(buf) - pos > 4096 else False), pos
        size_field = bytes(buf[pos:eol]).split(b";", 1)[0].strip(b" \t")
        if not size_field or len(size_field) > 16 or size_field.strip(b"0123456789abcdefABCDEF"):
            return None, pos
        size = int(size_field, 16)
        if size == 0:  # the last chunk, then trailer lines, then an empty line
            return buf.find(b"\r\n\r\n", eol) >= 0, pos
        following = eol + 2 + size + 2
        if len(buf) < following:
            return False, pos
        pos = following


class BufferingWorker(SyncWorker):
    """``worker_class = "ingest.worker.BufferingWorker"``; the limits below are set by post_fork."""

    read_deadline = 10.0
    max_header_bytes = 64 * 1024
    max_buffer_bytes = 64 * 1024 + 256 * 1024 + 1
    write_timeout = 10.0

    def run(self) -> None:
        if self.cfg.is_ssl:
            raise RuntimeError("ingest.worker.BufferingWorker serves plain HTTP: terminate TLS in front of it")
        self.selector = selectors.DefaultSelector()
        self.reading: deque[_Conn] = deque()  # in accept order, hence in read-deadline order
        self.lingering: deque[_Conn] = deque()
        self.open = 0
        self.accepting = False
        for listener in self.sockets:
            listener.setblocking(False)
            if getattr(listener, "FAMILY", None) in (socket.AF_INET, socket.AF_INET6) and hasattr(
                socket, "TCP_DEFER_ACCEPT"
            ):
                # Linux: accept() returns a connection once its first bytes are in, so that the first recv()
                # finds the request and the worker runs it at once, as sync does, rather than taking it into
                # the selector and accepting more while the other workers wait idle.
                listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)
        self.selector.register(self.PIPE[0], selectors.EVENT_READ, None)
        self._set_accepting(True)
        try:
            while self.alive:
                self.notify()
                for key, _ in self.selector.select(self._wait_seconds()):
                    target = key.data
                    if target is None:
                        self._drain_pipe()
                    elif isinstance(target, _Conn):
                        if target.state == _READING:
                            self._read(target)
                        elif target.state == _LINGERING:
                            self._drain(target)
                    elif self.accepting:
                        self._accept(target)
                self._expire()
                self._set_accepting(self.open < self.cfg.worker_connections)
                if not self.is_parent_alive():
                    break
        finally:
            for conn in [*self.reading, *self.lingering]:
                self._close(conn)
            self.selector.close()

    def _wait_seconds(self) -> float:
        wait = 1.0  # notify() the arbiter at least once a second
        now = time.monotonic()
        if self.reading:
            wait = min(wait, self.reading[0].read_deadline - now)
        if self.lingering:
            wait = min(wait, self.lingering[0].linger_deadline - now)
        return max(wait, 0.0)

    def _drain_pipe(self) -> None:
        try:
            while os.read(self.PIPE[0], 64):
                pass
        except OSError:
            pass

    def _set_accepting(self, enabled: bool) -> None:
        if enabled == self.accepting:
            return
        for listener in self.sockets:
            if enabled:
                self.selector.register(listener, selectors.EVENT_READ, listener)
            else:
                self.selector.unregister(listener)
        self.accepting = enabled

    def _accept(self, listener: Any) -> None:
        for _ in range(_ACCEPT_BATCH):
            if self.open >= self.cfg.worker_connections:
                return
            try:
                sock, addr = listener.accept()
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    return
                if exc.errno == errno.ECONNABORTED:
                    continue
                raise
            sock.setblocking(False)
            util.close_on_exec(sock)
            self.open += 1
            conn = _Conn(sock, addr, listener, time.monotonic() + self.read_deadline)
            self._read(conn)
            if conn.state == _READING:  # not complete yet: wait for it in the selector
                self._register(conn)
                self.reading.append(conn)

    def _register(self, conn: _Conn) -> None:
        if not conn.registered:
            self.selector.register(conn.sock, selectors.EVENT_READ, conn)
            conn.registered = True

    def _read(self, conn: _Conn) -> None:
        """Take what the client sent so far; serve the request if it is complete."""
        got = 0
        while True:
            try:
                data = conn.sock.recv(_RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self._close(conn)
                return
            if not data:  # the client went away before finishing its request
                self._close(conn)
                return
            got += len(data)
            conn.buf += data
            if len(data) < _RECV_SIZE or len(conn.buf) > self.max_buffer_bytes:
                break
        if got:
            self._progress(conn)

    def _progress(self, conn: _Conn) -> None:
        buf = conn.buf
        if conn.need is not None:
            if len(buf) < conn.need:
                self._unless_over_buffer(conn)
                return
        elif conn.chunk_pos is not None:
            complete, conn.chunk_pos = chunked_body_end(buf, conn.chunk_pos)
            if complete is False:
                self._unless_over_buffer(conn)
                return
        else:
            if buf.find(b"\r\n\r\n", conn.scan) < 0:
                conn.scan = max(0, len(buf) - 3)
                if len(buf) > self.max_header_bytes:
                    self._refuse(conn, LimitRequestHeaders("header section over the limit"))
                return
        self._parse(conn)

    def _parse(self, conn: _Conn) -> None:
        source = _Source(bytes(conn.buf))
        req = None
        try:
            req = next(http.get_parser(self.cfg, source, conn.addr))
        except _Incomplete:  # the headers do not end where the blank line is (the parser knows better)
            conn.scan = max(0, len(conn.buf) - 3)
            return
        except (StopIteration, NoMoreData):
            self._close(conn)
            return
        except Exception as exc:
            self._refuse(conn, exc)
            return
        header_bytes = source.pos - len(req.unreader.buf.getvalue())  # what the parser took, read-ahead given back
        reader = req.body.reader
        if isinstance(reader, LengthReader):
            conn.need = header_bytes + reader.length
            if len(conn.buf) >= conn.need:
                self._serve(conn, req)  # the body is in memory, the app reads it from there
                return
            if conn.need > self.max_buffer_bytes:  # e.g. a Content-Length over the body limit: the app refuses it
                self._pass_through(conn)
                return
        else:
            try:
                body = req.body.read()
            except _Incomplete:
                if isinstance(reader, ChunkedReader) and conn.chunk_pos is None:
                    conn.chunk_pos = header_bytes
            except Exception as exc:
                self._refuse(conn, exc, req)
                return
            else:
                req.body = io.BytesIO(body)
                self._serve(conn, req)
                return
        if req._expected_100_continue and not conn.continued:  # the client waits for it to send the body
            conn.continued = True
            try:
                conn.sock.send(_CONTINUE)
            except OSError:
                self._close(conn)
                return
        self._unless_over_buffer(conn)

    def _unless_over_buffer(self, conn: _Conn) -> None:
        if len(conn.buf) > self.max_buffer_bytes:
            self._pass_through(conn)

    def _pass_through(self, conn: _Conn) -> None:
        """A request too large to buffer: served like the sync worker serves, the socket read as the app
        reads, each read bounded by what is left of the read deadline."""
        self._leave_selector(conn)
        conn.sock.settimeout(max(conn.read_deadline - time.monotonic(), 0.01))
        source = _Source(bytes(conn.buf), conn.sock, conn.read_deadline)
        conn.buf = bytearray()
        req = None
        try:
            req = next(http.get_parser(self.cfg, source, conn.addr))
        except (StopIteration, NoMoreData):
            self._close(conn)
            return
        except TimeoutError:
            self._time_out(conn)
            return
        except Exception as exc:
            self._refuse(conn, exc, req)
            return
        self._serve(conn, req, buffered=False)

    def _serve(self, conn: _Conn, req: Any, buffered: bool = True) -> None:
        """Run the application on a complete request, as the sync worker does, then close gracefully."""
        self._leave_selector(conn)
        conn.buf = bytearray()
        sock = conn.sock
        if buffered or conn.continued:  # sent already, or the body came without waiting for it
            req._expected_100_continue = False
        try:
            sock.settimeout(self.write_timeout)
            self.handle_request(conn.listener, req, sock, conn.addr)
        except StopIteration as exc:
            self.log.debug("Closing connection. %s", exc)
        except NoMoreData as exc:
            self.log.debug("Ignored premature client disconnection. %s", exc)
        except ssl.SSLError:  # pragma: no cover - TLS is refused at start-up
            self._close(conn)
            return
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, None):
                self.log.exception("Socket error processing request.")
            self._close(conn)
            return
        except BaseException as exc:
            self.handle_error(req, sock, conn.addr, exc)
        self._linger(conn)

    def _refuse(self, conn: _Conn, exc: BaseException, req: Any = None) -> None:
        self._leave_selector(conn)
        try:
            conn.sock.settimeout(self.write_timeout)
            self.handle_error(req, conn.sock, conn.addr, exc)
        except OSError:
            self._close(conn)
            return
        self._linger(conn)

    def _time_out(self, conn: _Conn) -> None:
        self.log.debug("Request not received within %.1f s from %s: 408", self.read_deadline, conn.addr)
        try:
            conn.sock.setblocking(False)
            conn.sock.send(_TIMEOUT_ANSWER)
        except OSError:
            self._close(conn)
            return
        conn.buf = bytearray()
        self._linger(conn)  # a close with unread bytes would reset the connection, and lose the 408 with it

    def _linger(self, conn: _Conn) -> None:
        """gunicorn's close_graceful without the wait: FIN now, read what the client still sends, close
        when it closes (or after 2 s or 64 KiB), so that unread bytes do not turn the close into a reset."""
        sock = conn.sock
        try:
            sock.setblocking(False)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)
            return
        conn.state = _LINGERING
        conn.linger_deadline = time.monotonic() + _LINGER_SECONDS
        self._drain(conn)
        if conn.state == _LINGERING:
            self._register(conn)
            self.lingering.append(conn)

    def _drain(self, conn: _Conn) -> None:
        while True:
            try:
                data = conn.sock.recv(_RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                break
            conn.drained += len(data)
            if not data or conn.drained > _LINGER_MAX_BYTES:
                break
        self._close(conn)

    def _expire(self) -> None:
        now = time.monotonic()
        reading = self.reading
        while reading and (reading[0].state != _READING or reading[0].read_deadline <= now):
            conn = reading.popleft()
            if conn.state == _READING:
                self._leave_selector(conn)
                self._time_out(conn)
        lingering = self.lingering
        while lingering and (lingering[0].state != _LINGERING or lingering[0].linger_deadline <= now):
            conn = lingering.popleft()
            if conn.state == _LINGERING:
                self._close(conn)

    def _leave_selector(self, conn: _Conn) -> None:
        if conn.registered:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.selector.unregister(conn.sock)
            conn.registered = False

    def _close(self, conn: _Conn) -> None:
        if conn.state == _CLOSED:
            return
        self._leave_selector(conn)
        conn.state = _CLOSED
        conn.buf = bytearray()
        util.close(conn.sock)
        self.open -= 1
