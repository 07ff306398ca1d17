"""One writer per ActiveCampaign account, cluster-wide: a lease in Redis, renewed while the writer lives.

A writer thread holds ``acsync:writer:lease:{<account hash>}`` (value: its owner token) for ``ttl``
seconds and renews it on every loop. Another process's writer for the same account stays on standby
and takes over when the lease lapses (its owner died or lost Redis); the new owner first makes the
dead owner's claimed writes due again (``Outbox.release_claims``).
"""

from __future__ import annotations

import os
import socket
import uuid

import redis

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    def __init__(self, client: redis.Redis, account_hash: str, *, ttl: float = 15.0) -> None:
        self.client = client
        self.key = f"acsync:writer:lease:{{{account_hash}}}"
        self.ttl_ms = int(ttl * 1000)
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self.held = False

    def acquire(self) -> bool:
        """True if this writer holds the lease now; ``newly`` tells a fresh take-over (see ``take``)."""
        return self.take()[0]

    def take(self) -> tuple[bool, bool]:
        """(held, newly acquired)."""
        if self.held and int(self._renew(keys=[self.key], args=[self.token, self.ttl_ms])):
            return True, False
        self.held = bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
        return self.held, self.held

    def release(self) -> None:
        if self.held:
            self._release(keys=[self.key], args=[self.token])
            self.held = False

    def owner(self) -> str | None:
        value = self.client.get(self.key)
        return value.decode() if isinstance(value, bytes) else value
