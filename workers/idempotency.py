"""What the pipeline already wrote to ActiveCampaign, remembered in Redis.

Every step has a key (contact by account+email, customer by connection+email, order by
connection+externalid, cart by connection+externalcheckoutid) holding the AC id it produced, so a
retried or redelivered task resumes where it stopped and repeats no write. E-mails are hashed in
key names. Records live ``RECORD_TTL`` (400 days: longer than VTEX keeps orders reachable).
"""

from __future__ import annotations

import hashlib
from typing import Any

import redis

PREFIX = "acsync:ac:"
RECORD_TTL = 400 * 24 * 3600


def email_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class IdStore:
    def __init__(self, client: redis.Redis, account: str) -> None:
        self.client = client
        self.account = hashlib.sha256(account.encode()).hexdigest()[:12]

    def _key(self, *parts: str) -> str:
        return PREFIX + ":".join((self.account, *parts))

    # ------------------------------------------------------------ simple ids
    def get_id(self, kind: str, *parts: str) -> str | None:
        value = self.client.get(self._key(kind, *parts))
        return value.decode() if isinstance(value, bytes) else value

    def set_id(self, kind: str, *parts: str, value: str, pipe: redis.client.Pipeline | None = None) -> None:
        (pipe if pipe is not None else self.client).set(self._key(kind, *parts), value, ex=RECORD_TTL)

    def forget(self, kind: str, *parts: str) -> None:
        self.client.delete(self._key(kind, *parts))

    # ------------------------------------------------------------ records (hashes)
    def get_record(self, kind: str, *parts: str) -> dict[str, str]:
        raw = self.client.hgetall(self._key(kind, *parts))
        return {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in raw.items()
        }

    def update_record(
        self, kind: str, *parts: str, values: dict[str, Any], pipe: redis.client.Pipeline | None = None
    ) -> None:
        """Set fields of a record; with ``pipe`` the writes join the caller's transaction."""
        key = self._key(kind, *parts)
        target = pipe if pipe is not None else self.client.pipeline()
        target.hset(key, mapping={k: str(v) for k, v in values.items()})
        target.expire(key, RECORD_TTL)
        if pipe is None:
            target.execute()
