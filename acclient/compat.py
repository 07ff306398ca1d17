"""Facade with the API of the ``active_campaign`` library (rev365), over the modern core.

Same constructors, method names and keyword arguments, and the same ``(success, response)`` tuples,
with the reference's defects fixed: requests have timeouts, ``list()`` sends real paging parameters,
products use AC's keys (``externalid``, ``productUrl``, ``imageUrl``), dates are ISO 8601 with an
offset, amounts are integer cents (a fractional cent raises ``ValueError`` instead of being mangled),
``create_or_update`` only sends the fields given, and orders can be retrieved, updated and deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from acclient.client import ActiveCampaign
from acclient.errors import ACError
from acclient.resources.base import DEFAULT_LIMIT, Page, Resource
from acclient.resources.contacts import Contacts

T = TypeVar("T")
ResourceT = TypeVar("ResourceT", bound=Resource)
Result = tuple[bool, dict[str, Any]]

# The reference's keyword for a record's external id, and AC's key for it.
EXTERNAL_ID_RENAMES = {"external_id": "externalid"}


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


def renamed(fields: Mapping[str, Any], renames: Mapping[str, str]) -> dict[str, Any]:
    """``fields`` with the reference's keyword names replaced by the core's (``renames``: reference -> core)."""
    return {renames.get(name, name): value for name, value in fields.items()}


class ReferenceResource(Generic[ResourceT]):
    """What the reference's resource classes share over one core resource: ``retrieve`` and ``list``, answered
    under the resource's keys (``{"contact": {...}}``, ``{"contacts": [...], "meta": {"total": "N"}}``)."""

    def __init__(self, resource: ResourceT) -> None:
        self._resource = resource

    def _answer(self, action: Callable[[], Any]) -> Result:
        """Run a call that returns one record, answered as ``{item_key: record}``."""
        return call(action, keyed(self._resource.item_key))

    def retrieve(self, id: int) -> Result:  # noqa: A002 - the reference's parameter name
        return self._answer(lambda: self._resource.retrieve(id))

    def list(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        ordering: Mapping[str, str] | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> Result:
        return call(
            lambda: self._resource.list(limit=limit, offset=offset, ordering=ordering, filters=filters),
            page_body(self._resource.list_key),
        )


class DeletableReferenceResource(ReferenceResource[ResourceT]):
    """A reference resource class that also has ``delete`` (answered with an empty object)."""

    def delete(self, id: int) -> Result:  # noqa: A002
        return call(lambda: self._resource.delete(id), lambda _: {})


class ACContact(ReferenceResource[Contacts]):
    STATUS_SUBSCRIBE = "1"
    STATUS_UNSUBSCRIBE = "2"

    def __init__(self, *, client: ACClient) -> None:
        super().__init__(client.api.contacts)
        self.client = client

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
        return self._answer(lambda: self._resource.sync(email, first_name=first_name, last_name=last_name, phone=phone))

    def update_list_status(self, *, list: int, contact: int, status: str) -> Result:  # noqa: A002
        return call(
            lambda: self._resource.update_list_status(list_id=list, contact_id=contact, status=status),
            keyed("contactList"),
        )


__all__ = ["ACClient", "ACContact"]
