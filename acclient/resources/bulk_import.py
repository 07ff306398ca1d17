"""Bulk contact import: ``POST /import/bulk_import`` (up to 250 contacts a request) and its status.

AC's limits, per request: at most 250 contacts and less than 400,000 bytes of body. Going over them is
a caller bug, refused here with ``ValueError`` before anything is sent; ``chunk_contacts`` cuts a long
list into requests that respect both. Over AC's per-minute import budget the requestor raises
``BulkImportRateLimited`` (AC's HTTP 400 "Rate limit exceeded."); a batch AC refuses as invalid raises
``ValidationError`` whose ``errors`` name the contacts (AC rejects the whole batch).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from acclient.requestor import Requestor, encode_json

MAX_CONTACTS = 250
MAX_BODY_BYTES = 400_000  # the body must be strictly smaller


def import_body(
    contacts: Sequence[Mapping[str, Any]],
    *,
    exclude_automations: bool = False,
    callback: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body of one import request; each contact's None values are left out (AC would blank them)."""
    body: dict[str, Any] = {
        "contacts": [_contact(contact, index) for index, contact in enumerate(contacts)],
        "exclude_automations": bool(exclude_automations),
    }
    if callback is not None:
        body["callback"] = dict(callback)
    return body


def _contact(contact: Mapping[str, Any], index: int) -> dict[str, Any]:
    if not isinstance(contact, Mapping):
        raise TypeError(f"contact {index} is a {type(contact).__name__}, not a mapping")
    email = contact.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise ValueError(f"contact {index} needs an e-mail address (got {email!r})")
    return {key: value for key, value in contact.items() if value is not None}


def chunk_contacts(
    contacts: Iterable[Mapping[str, Any]],
    *,
    exclude_automations: bool = False,
    callback: Mapping[str, Any] | None = None,
    max_contacts: int = MAX_CONTACTS,
    max_bytes: int = MAX_BODY_BYTES,
) -> Iterator[list[dict[str, Any]]]:
    """Yield lists of contacts, in order, each one import request under both AC limits.

    The byte count is that of the body ``import_contacts`` sends with the same ``exclude_automations`` and
    ``callback``. Raises ``ValueError`` for a contact without an e-mail address, or one too large to be
    sent even alone (``TypeError`` for one that is not a mapping); ``max_contacts``/``max_bytes`` may only
    tighten AC's limits.
    """
    if not 1 <= max_contacts <= MAX_CONTACTS:
        raise ValueError(f"max_contacts must be from 1 to {MAX_CONTACTS} (got {max_contacts!r})")
    if not 1 <= max_bytes <= MAX_BODY_BYTES:
        raise ValueError(f"max_bytes must be from 1 to {MAX_BODY_BYTES} (got {max_bytes!r})")
    envelope = len(encode_json(import_body([], exclude_automations=exclude_automations, callback=callback)))
    batch: list[dict[str, Any]] = []
    size = envelope
    for index, contact in enumerate(contacts):
        item = _contact(contact, index)
        item_size = len(encode_json(item))
        if envelope + item_size >= max_bytes:
            raise ValueError(f"contact {index} ({item['email']}) alone makes a body of {max_bytes} bytes or more")
        added = item_size + (1 if batch else 0)  # the comma between list items
        if batch and (len(batch) >= max_contacts or size + added >= max_bytes):
            yield batch
            batch, size, added = [], envelope, item_size
        batch.append(item)
        size += added
    if batch:
        yield batch


class BulkImport:
    """``ac.bulk_import``: queue contact imports and read their status."""

    path = "/import/bulk_import"

    def __init__(self, requestor: Requestor) -> None:
        self._requestor = requestor

    def import_contacts(
        self,
        contacts: Sequence[Mapping[str, Any]],
        *,
        exclude_automations: bool = False,
        callback: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Queue one import; returns AC's answer (``{"success": 1, "queued_contacts": N, "batchId": ...}``).

        Contacts use AC's import keys (``email``, ``first_name``, ``last_name``, ``phone``, ``tags``,
        ``fields``, ``subscribe``, ``unsubscribe`` ...). Raises ``ValueError`` without sending when the list
        is empty, has more than 250 contacts, has a contact without an e-mail address, or makes a body of
        400,000 bytes or more (use ``chunk_contacts``). ``subscribe`` does not re-subscribe a contact who
        unsubscribed from that list.
        """
        if not contacts:
            raise ValueError("import_contacts needs at least one contact")
        if len(contacts) > MAX_CONTACTS:
            raise ValueError(
                f"{len(contacts)} contacts in one import; AC takes at most {MAX_CONTACTS} (use chunk_contacts)"
            )
        body = import_body(contacts, exclude_automations=exclude_automations, callback=callback)
        size = len(encode_json(body))
        if size >= MAX_BODY_BYTES:
            raise ValueError(
                f"import body of {size} bytes; AC takes less than {MAX_BODY_BYTES} bytes (use chunk_contacts)"
            )
        return self._requestor.request("POST", self.path, body=body)

    def status(self, batch_id: str) -> dict[str, Any]:
        """AC's ``/import/info`` for a batch.

        ``{"status": "completed" | "queued", "success": [contact ids], "failure": [e-mail addresses]}``.
        """
        if not isinstance(batch_id, str) or not batch_id.strip():
            raise ValueError(f"batch_id must be a non-empty string (got {batch_id!r})")
        return self._requestor.request("GET", "/import/info", params={"batchId": batch_id})
