"""Contacts: ``/contact/sync`` for a few, the bulk import for many or for list subscriptions.

ActiveCampaign's reference ("Bulk import contacts") advises contact sync for 10 contacts or fewer and
the bulk import above that: up to 250 contacts and 400,000 bytes a call, 20 single-contact and 100
multi-contact calls a minute (refused with HTTP 400 "Rate limit exceeded."), processed asynchronously.
Its ``subscribe`` never re-subscribes someone who unsubscribed from the list, unlike ``POST
/contactLists`` with status 1, so every list subscription goes through the import, even alone.
The writer keeps its own count of import calls per minute and defers (without using up an attempt)
rather than be refused.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

import redis

from acclient import ActiveCampaign, ValidationError
from acclient.bulk_import import chunk_contacts
from acsync_core.errors import RetryLater
from workers.idempotency import IdStore, email_key
from workers.mapping import clean_text
from workers.outbox import Claimed
from workers.writers.results import Deferred, Failed, Landed, Rejected, Result

BULK_THRESHOLD = 10  # more than this many waiting contacts go through the bulk import
SINGLE_PER_MINUTE = 20
MULTI_PER_MINUTE = 100


class ImportBudget:
    """Bulk-import calls made in the last minute, per account (a sliding window in Redis)."""

    def __init__(self, client: redis.Redis, account_hash: str) -> None:
        self.client = client
        self.key = f"acsync:bulkimport:{{{account_hash}}}"

    def wait(self, *, single: bool, now: float | None = None) -> float:
        """Seconds until one more call of this kind is allowed (0: now), counting it when allowed."""
        now = time.time() if now is None else now
        key = self.key + (":single" if single else ":multi")
        limit = SINGLE_PER_MINUTE if single else MULTI_PER_MINUTE
        self.client.zremrangebyscore(key, "-inf", now - 60)
        if self.client.zcard(key) >= limit:
            oldest = self.client.zrange(key, 0, 0, withscores=True)
            return max(0.1, float(oldest[0][1]) + 60 - now) if oldest else 1.0
        pipe = self.client.pipeline()
        pipe.zadd(key, {uuid.uuid4().hex: now})
        pipe.expire(key, 120)
        pipe.execute()
        return 0.0


def import_row(contact: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"email": contact["email"]}
    for source, target in (("first_name", "first_name"), ("last_name", "last_name"), ("phone", "phone")):
        if contact.get(source):
            row[target] = contact[source]
    if contact.get("list_id"):
        row["subscribe"] = [{"listid": int(contact["list_id"])}]
    return row


class ContactWriter:
    def __init__(self, ac: ActiveCampaign, ids: IdStore, budget: ImportBudget) -> None:
        self.ac = ac
        self.ids = ids
        self.budget = budget

    def write(self, batch: Sequence[Claimed]) -> list[Result]:
        subscribing = [i for i in batch if i.payload.get("list_id")]
        if len(batch) > BULK_THRESHOLD:
            return self.bulk(list(batch))
        results: list[Result] = self.bulk(subscribing) if subscribing else []
        return results + [self.sync(i) for i in batch if not i.payload.get("list_id")]

    def sync(self, item: Claimed) -> Result:
        contact = item.payload
        try:
            answer = self.ac.contacts.sync(
                contact["email"],
                first_name=clean_text(contact.get("first_name")),
                last_name=clean_text(contact.get("last_name")),
                phone=clean_text(contact.get("phone"), 40),
            )
        except Exception as exc:
            return Failed(item, exc)
        self.ids.set_id("contact", email_key(contact["email"]), value=str(answer["id"]))
        return Landed(item, "contact_synced", str(answer["id"]))

    def bulk(self, items: list[Claimed]) -> list[Result]:
        if not items:
            return []
        rows = [import_row(i.payload) for i in items]
        results: list[Result] = []
        start = 0
        for chunk in chunk_contacts(rows):
            part = items[start : start + len(chunk)]
            start += len(chunk)
            wait = self.budget.wait(single=len(chunk) == 1)
            if wait > 0:
                results += [Deferred(i, wait, "bulk_import_budget") for i in part]
                continue
            try:
                self.ac.bulk_import.import_contacts(chunk)
            except ValidationError as exc:
                bad = _bad_indexes(exc.body)
                if not bad:
                    results += [Failed(i, exc) for i in part]
                    continue
                for index, item in enumerate(part):
                    if index in bad:
                        results.append(Rejected(item, "ac_rejected", bad[index]))
                    else:  # the whole call was refused: send the good ones again
                        results.append(Failed(item, RetryLater("bulk import refused for another contact", delay=0)))
                continue
            except Exception as exc:
                results += [Failed(i, exc) for i in part]
                continue
            for item in part:
                outcome = "contact_imported+subscribed" if item.payload.get("list_id") else "contact_imported"
                results.append(Landed(item, outcome))
        return results


def _bad_indexes(body: Any) -> dict[int, str]:
    reasons = body.get("failureReasons") if isinstance(body, dict) else None
    out: dict[int, str] = {}
    for reason in reasons or []:
        if isinstance(reason, dict) and isinstance(reason.get("contact"), int):
            out[reason["contact"]] = str(reason.get("failureReason") or "refused")[:300]
    return out
