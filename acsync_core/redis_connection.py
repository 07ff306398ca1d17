"""One way to reach Redis for every process: a plain ``redis://`` URL or a Sentinel-managed primary.

``REDIS_URL`` takes either form:

* ``redis://[[user]:password@]host:port/db`` (or ``rediss://``, ``unix://``): one server, as redis-py reads it;
* ``sentinel://[[user]:password@]host1:port1,host2:port2,host3:port3/<master name>[/db][?sentinel_password=...]``:
  the Sentinels to ask, the name they monitor the primary under, and the database. The user and
  password are the primary's (Redis ``requirepass`` / ACL user); ``sentinel_password`` is the
  Sentinels' own ``requirepass`` when they have one.

With Sentinel, every connection asks the Sentinels for the current primary when it connects, and a
connection to a demoted primary (which answers ``READONLY``) is dropped and made again, so a
failover costs each client one failed command and a reconnect (redis-py's ``SentinelConnectionPool``).
Celery gets the same Sentinels through kombu's ``sentinel://`` transport (:func:`celery_broker`).

Replication is asynchronous: a write the primary acknowledged may be missing on the replica that a
failover promotes. Where the service makes a promise outside Redis on the strength of a write (ingest
answering a hook 200), it asks the primary to confirm that ``min_replicas`` replicas hold it (``WAIT``,
see :class:`Durability`); everything else tolerates the loss of the last moments before a failover,
because the ledger, the outbox and ActiveCampaign's keyed upserts make a replayed step harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, unquote, urlsplit

import redis
from redis.sentinel import Sentinel

DEFAULT_SENTINEL_PORT = 26379
SCHEMES = ("redis", "rediss", "unix", "sentinel")


class RedisURLError(ValueError):
    """REDIS_URL cannot be used; the message names what is wrong and never contains a password."""


@dataclass(frozen=True)
class SentinelTarget:
    sentinels: tuple[tuple[str, int], ...]
    master_name: str
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sentinel_password: str | None = field(default=None, repr=False)


def is_sentinel(url: str) -> bool:
    return url.split(":", 1)[0].lower() == "sentinel"


def parse_sentinel_url(url: str) -> SentinelTarget:
    parts = urlsplit(url)
    if parts.scheme.lower() != "sentinel":
        raise RedisURLError(f"{redact(url)}: not a sentinel:// URL")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":") if userinfo else ("", "", "")
    sentinels = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":") if ":" in item else (item.strip(), "", "")
        host = host.strip("[]")  # [::1]:26379
        if not host:
            raise RedisURLError(f"{redact(url)}: every Sentinel needs a host (host:port,host:port,...)")
        try:
            sentinels.append((host, int(port) if port else DEFAULT_SENTINEL_PORT))
        except ValueError:
            raise RedisURLError(f"{redact(url)}: Sentinel port {port!r} is not a number") from None
    path = [unquote(p) for p in parts.path.split("/") if p]
    if not path:
        raise RedisURLError(f"{redact(url)}: name the monitored primary in the path (sentinel://hosts/mymaster/0)")
    if len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise RedisURLError(f"{redact(url)}: the path is /<master name>[/<db number>]")
    query = parse_qs(parts.query)
    unknown = set(query) - {"sentinel_password"}
    if unknown:
        raise RedisURLError(f"{redact(url)}: unknown option(s) {sorted(unknown)} (known: sentinel_password)")
    return SentinelTarget(
        sentinels=tuple(sentinels),
        master_name=path[0],
        db=int(path[1]) if len(path) == 2 else 0,
        username=unquote(username) or None,
        password=unquote(password) or None,
        sentinel_password=query["sentinel_password"][0] if query.get("sentinel_password") else None,
    )


def validate_url(url: str) -> None:
    """Raise :class:`RedisURLError` unless ``url`` is a form :func:`connect` takes."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in SCHEMES:
        raise RedisURLError(f"{redact(url)}: REDIS_URL must start with one of {', '.join(s + '://' for s in SCHEMES)}")
    if scheme == "sentinel":
        parse_sentinel_url(url)


def redact(url: str) -> str:
    """``url`` without its passwords, for logs and error messages."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:***@{hosts}" if ":" in userinfo else f"{userinfo}@{hosts}"
    query = "&".join(
        f"{key}=***" if key.endswith("password") else f"{key}={value}"
        for key, values in parse_qs(parts.query).items()
        for value in values
    )
    return parts._replace(netloc=netloc, query=query).geturl()


class SentinelManager(Protocol):
    """What :func:`connect` uses of ``redis.sentinel.Sentinel``, whose methods carry no annotations."""

    def master_for(self, service_name: str, **kwargs: Any) -> redis.Redis: ...


class SentinelFactory(Protocol):
    def __call__(self, sentinels: list[tuple[str, int]], *, sentinel_kwargs: dict[str, Any]) -> SentinelManager: ...


_sentinel: SentinelFactory = Sentinel  # the class itself, seen through the signatures connect() relies on


def connect(url: str, **client_kwargs: Any) -> redis.Redis:
    """A client for ``url``; ``client_kwargs`` (timeouts, retry, ...) apply to the primary's connections.

    For Sentinel, the Sentinels themselves are asked with the same connect and socket timeouts.
    """
    if not is_sentinel(url):
        return redis.Redis.from_url(url, **client_kwargs)
    target = parse_sentinel_url(url)
    sentinel_kwargs = {k: v for k, v in client_kwargs.items() if k in ("socket_timeout", "socket_connect_timeout")}
    if target.sentinel_password:
        sentinel_kwargs["password"] = target.sentinel_password
    manager = _sentinel(list(target.sentinels), sentinel_kwargs=sentinel_kwargs)
    return manager.master_for(
        target.master_name, db=target.db, username=target.username, password=target.password, **client_kwargs
    )


def celery_broker(url: str) -> tuple[str, dict[str, Any]]:
    """Celery's broker URL and the transport options it needs for ``url`` (kombu's Sentinel transport)."""
    if not is_sentinel(url):
        return url, {}
    target = parse_sentinel_url(url)
    auth = ""
    if target.password:
        auth = f"{quote(target.username or '', safe='')}:{quote(target.password, safe='')}@"
    broker = ";".join(f"sentinel://{auth}{host}:{port}/{target.db}" for host, port in target.sentinels)
    options: dict[str, Any] = {"master_name": target.master_name}
    if target.sentinel_password:
        options["sentinel_kwargs"] = {"password": target.sentinel_password}
    return broker, options


@dataclass(frozen=True)
class Durability:
    """How many replicas must hold a write before the service promises anything on it (``WAIT``).

    ``min_replicas`` 0 (the default for a single Redis) skips the check. With Sentinel the default is 1:
    a hook is answered 200 only once the primary and one replica hold it, else it is also kept in
    ingest's local spool (so a failover in that moment loses nothing). ``timeout_ms`` bounds the wait.
    """

    min_replicas: int = 0
    timeout_ms: int = 200

    @classmethod
    def default_for(cls, url: str) -> Durability:
        return cls(min_replicas=1 if is_sentinel(url) else 0)
