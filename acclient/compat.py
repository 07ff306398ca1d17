"""Facade with the API of the ``active_campaign`` library (rev365), over the modern core.

Same constructors, method names and keyword arguments, and the same ``(success, response)`` tuples,
with the reference's defects fixed: requests have timeouts, ``list()`` sends real paging parameters,
products use AC's keys (``externalid``, ``productUrl``, ``imageUrl``), dates are ISO 8601 with an
offset, amounts are integer cents (a fractional cent raises ``ValueError`` instead of being mangled),
``create_or_update`` only sends the fields given, and orders can be retrieved, updated and deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from acclient.client import ActiveCampaign
from acclient.errors import ACError
from acclient.resources.base import DEFAULT_LIMIT, Page

T = TypeVar("T")
Result = tuple[bool, dict[str, Any]]


class ACClient:
    """Credentials for one account: ``ACClient(account='name', api_token='...')``.

    ``api_url`` may be given instead of (or besides) ``account``; it wins, because AC does not
    guarantee ``{account}.api-us1.com`` for every account.
    """

    def __init__(
        self, account: str | None = None, api_token: str | None = None, *, api_url: str | None = None, **options: Any
    ) -> None:
        if not api_token:
            raise ValueError("api_token is required")
        self.account = account
        self.api = ActiveCampaign(api_token=api_token, api_url=api_url, account=account, **options)
        self.base_url = self.api.requestor.base_url


def call(action: Callable[[], T], wrap: Callable[[T], dict[str, Any]]) -> Result:
    """Run one core call and turn its result or its ACError into the reference's tuple."""
    try:
        return True, wrap(action())
    except ACError as exc:
        body = exc.body if isinstance(exc.body, dict) else {"message": exc.message}
        return False, body


def page_body(key: str) -> Callable[[Page], dict[str, Any]]:
    return lambda page: {key: page.items, "meta": {"total": str(page.total)}}


def keyed(key: str) -> Callable[[Any], dict[str, Any]]:
    return lambda item: {key: item}


def list_args(
    limit: int, offset: int, ordering: Mapping[str, str] | None, filters: Mapping[str, Any] | None
) -> dict[str, Any]:
    return {"limit": limit, "offset": offset, "ordering": ordering, "filters": filters}


class ACContact:
    STATUS_SUBSCRIBE = "1"
    STATUS_UNSUBSCRIBE = "2"

    def __init__(self, *, client: ACClient) -> None:
        self.client = client
        self._contacts = client.api.contacts

    def create_or_update(
        self,
        *,
        email: str,
        first_name: str | None = None,
        last_name: str | None = None,
        phone: str | None = None,
        org_id: int | None = None,
        deleted: bool | None = None,
    ) -> Result:
        # org_id and deleted are deprecated by AC; they are accepted for compatibility and not sent.
        return call(
            lambda: self._contacts.sync(email, first_name=first_name, last_name=last_name, phone=phone),
            keyed("contact"),
        )

    def retrieve(self, id: int) -> Result:  # noqa: A002 - the reference's parameter name
        return call(lambda: self._contacts.retrieve(id), keyed("contact"))

    def update_list_status(self, *, list: int, contact: int, status: str) -> Result:  # noqa: A002
        return call(
            lambda: self._contacts.update_list_status(list_id=list, contact_id=contact, status=status),
            keyed("contactList"),
        )

    def list(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        ordering: Mapping[str, str] | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> Result:
        return call(lambda: self._contacts.list(**list_args(limit, offset, ordering, filters)), page_body("contacts"))


__all__ = ["ACClient", "ACContact"]
