"""Slow clients cannot stop ingest: gunicorn as the README starts it (ingest.worker.BufferingWorker), real
sockets over loopback. Assertions count outcomes; the only time bounds are generous ones."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests

from ingest.worker import chunked_body_end
from tests.factories import SECRETS, order_hook
from tests.ingest.conftest import queued, running_ingest

READ_DEADLINE = 2.0
TRICKLERS = 30


@pytest.fixture
def ingest_url(redis_url: str, tmp_path: Path) -> Iterator[str]:
    # the configuration's own worker class (ingest.worker.BufferingWorker), whatever the environment says
    unset = dict.fromkeys(("ACSYNC_INGEST_WORKER_CLASS", "ACSYNC_INGEST_THREADS"))
    with running_ingest(redis_url, tmp_path, ACSYNC_INGEST_READ_DEADLINE=str(READ_DEADLINE), **unset) as url:
        yield url


def _raw_hook(body: bytes, *, chunked: bool = False) -> bytes:
    head = (
        b"POST /hooks/vtex/mystore/orders HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\n"
        b"X-Hook-Secret: " + SECRETS["mystore"].encode() + b"\r\n"
    )
    if not chunked:
        return head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
    chunks = b"".join(
        f"{len(body[i : i + 50]):x}\r\n".encode() + body[i : i + 50] + b"\r\n" for i in range(0, len(body), 50)
    )
    return head + b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"


def _hook_body(order_id: str) -> bytes:
    return requests.Request("POST", "http://x", json=order_hook(order_id=order_id)).prepare().body


class Tricklers:
    """Connections sending a request a byte at a time (a third of them their headers, the rest the body
    of a request whose headers came whole), one byte each every 0.2 s, never the last one."""

    def __init__(self, url: str, count: int) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.socks = []
        self.pending: list[bytes] = []
        for i in range(count):
            sock = socket.create_connection((host, int(port)), timeout=10)
            request = _raw_hook(_hook_body(f"v-slow-{i}-01"))
            head, _, body = request.partition(b"\r\n\r\n")
            if i % 3 == 0:
                rest = head + b"\r\n\r\n"
            else:
                sock.sendall(head + b"\r\n\r\n")
                rest = body
            self.socks.append(sock)
            self.pending.append(rest[:-1])
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            for i, sock in enumerate(self.socks):
                if self.pending[i]:
                    try:
                        sock.send(self.pending[i][:1])
                    except OSError:  # cut off by the server
                        self.pending[i] = b""
                        continue
                    self.pending[i] = self.pending[i][1:]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        for sock in self.socks:
            sock.close()


def test_hooks_are_answered_while_connections_trickle_and_tricklers_are_cut_off(ingest_url, redis_url):
    tricklers = Tricklers(ingest_url, TRICKLERS)
    try:
        # While 30 connections trickle (15 per worker; a sync worker would be stuck on its first one): distinct
        # hooks, each sent four times at once from 8 threads, answered 200, enqueued once, repeats deduplicated.
        headers = {"X-Hook-Secret": SECRETS["mystore"]}
        ids = [f"v-normal-{i}-01" for i in range(10)]

        def post(order_id: str) -> requests.Response:
            return requests.post(
                ingest_url + "/hooks/vtex/mystore/orders",
                json=order_hook(order_id=order_id),
                headers=headers,
                timeout=30,
            )

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, [order_id for order_id in ids for _ in range(4)]))
        assert [a.status_code for a in answers] == [200] * 40
        for i, order_id in enumerate(ids):
            mine = answers[4 * i : 4 * i + 4]
            assert sorted(a.json()["duplicate"] for a in mine) == [False, True, True, True], order_id
            assert len({a.json()["event_id"] for a in mine}) == 1
        messages = queued(redis.Redis.from_url(redis_url), "order")
        assert sorted(m["event"]["payload"]["OrderId"] for m in messages) == sorted(ids)
        assert not any(m["event"]["payload"]["OrderId"].startswith("v-slow") for m in messages)

        # Every trickler is cut off: answered 408 (or closed) once the read deadline has passed.
        answers_seen = []
        give_up = time.monotonic() + READ_DEADLINE + 30  # generous: a loaded CI machine
        for sock in tricklers.socks:
            sock.settimeout(max(0.1, give_up - time.monotonic()))
            received = b""
            try:
                while chunk := sock.recv(4096):
                    received += chunk
            except (ConnectionResetError, BrokenPipeError):
                pass  # closed
            except TimeoutError:
                pytest.fail(f"a trickling connection was still open {READ_DEADLINE + 30:.0f} s on: {received!r}")
            answers_seen.append(received)
        assert all(r == b"" or r.startswith(b"HTTP/1.1 408 ") for r in answers_seen), answers_seen
        assert sum(r.startswith(b"HTTP/1.1 408 ") for r in answers_seen) >= TRICKLERS // 2
    finally:
        tricklers.close()
    assert queued(redis.Redis.from_url(redis_url), "order").__len__() == len(ids)  # no trickler got through


def test_requests_arriving_in_pieces_are_served_whole(ingest_url, redis_url):
    host, port = ingest_url.removeprefix("http://").split(":")
    cases = {
        "length": _raw_hook(_hook_body("v-pieces-1-01")),
        "chunked": _raw_hook(_hook_body("v-pieces-2-01"), chunked=True),
    }
    for name, request in cases.items():
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            for i in range(0, len(request), 7):
                sock.sendall(request[i : i + 7])
                time.sleep(0.002)
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 "), (name, answer)
        assert b'"duplicate":false' in answer
    assert len(queued(redis.Redis.from_url(redis_url), "order")) == 2


def test_expect_100_continue_gets_its_interim_answer(ingest_url):
    host, port = ingest_url.removeprefix("http://").split(":")
    body = _hook_body("v-expect-01")
    head, _, _ = _raw_hook(body).partition(b"\r\n\r\n")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head + b"\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ")


def test_oversized_bodies_are_413_without_waiting_for_all_of_them(ingest_url):
    host, port = ingest_url.removeprefix("http://").split(":")
    head, _, _ = _raw_hook(b"{}").partition(b"\r\n\r\n")
    head = head.replace(b"Content-Length: 2", b"Content-Length: 10000000")
    for sent in (b"", b"x" * (330 * 1024)):  # announced only; announced and more than the buffer holds (320 KiB)
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(head + b"\r\n\r\n" + sent)
            answer = b""
            while b"\r\n\r\n" not in answer and (chunk := sock.recv(4096)):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 413 "), (len(sent), answer)


def test_malformed_request_line_is_refused_at_once(ingest_url):
    host, port = ingest_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"NOT HTTP\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"5\r\nhello\r\n0\r\n\r\n", True),
        (b"5;ext=1\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n", True),
        (b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n", False),
        (b"5\r\nhel", False),
        (b"5\r\nhello\r\n", False),
        (b"a\r\n0123456789\r\n0\r\n", False),
        (b"zz\r\nhello\r\n", None),
        (b"", False),
    ],
)
def test_chunked_body_end(data, expected):
    assert chunked_body_end(data, 0)[0] is expected


def test_the_configuration_hands_its_limits_to_the_buffering_worker():
    from ingest import gunicorn_conf
    from ingest.worker import BufferingWorker

    worker = BufferingWorker.__new__(BufferingWorker)  # the attributes only, no process
    gunicorn_conf.post_fork(object(), worker)
    assert worker.read_deadline == gunicorn_conf.read_deadline
    assert worker.max_buffer_bytes == gunicorn_conf.max_header_bytes + gunicorn_conf.max_body_bytes + 1
    gunicorn_conf.post_fork(object(), object())  # other worker classes: nothing to set
