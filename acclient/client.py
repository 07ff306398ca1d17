"""The modern entry point: ``ActiveCampaign(api_url=..., api_token=...)`` with typed resources."""

from __future__ import annotations

from acclient.graphql import EcomGraphQL
from acclient.ratelimit import IntervalRateLimiter, RateLimiter
from acclient.requestor import RequestObserver, Requestor, resolve_api_url
from acclient.resources import BulkImport, Connections, Contacts, EcomCustomers, EcomOrders
from acclient.transport import RetryPolicy, Transport

DEFAULT_REQUESTS_PER_SECOND = 5.0


class ActiveCampaign:
    """An ActiveCampaign API client: v3 resources, ``ecom_graphql`` (Ecommerce GraphQL) and ``bulk_import``.

    >>> ac = ActiveCampaign(api_url="https://myaccount.api-us1.com", api_token="...")
    >>> contact = ac.contacts.sync("ana@example.com", first_name="Ana")

    Every request first calls ``rate_limiter.acquire()`` (default: 5 requests/second in this
    process). Inject a shared limiter when several processes use the same AC account.
    """

    def __init__(
        self,
        *,
        api_token: str,
        api_url: str | None = None,
        account: str | None = None,
        rate_limiter: RateLimiter | None = None,
        connect_timeout: float = 3.05,
        read_timeout: float = 30.0,
        retry_policy: RetryPolicy | None = None,
        transport: Transport | None = None,
        observer: RequestObserver | None = None,
    ) -> None:
        self.api_url = resolve_api_url(api_url, account)
        self.transport = transport or Transport(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retry_policy=retry_policy or RetryPolicy(),
        )
        self.requestor = Requestor(
            api_url=self.api_url,
            api_token=api_token,
            transport=self.transport,
            rate_limiter=rate_limiter or IntervalRateLimiter(DEFAULT_REQUESTS_PER_SECOND),
            observer=observer,
        )
        self.contacts = Contacts(self.requestor)
        self.connections = Connections(self.requestor)
        self.ecom_customers = EcomCustomers(self.requestor)
        self.ecom_orders = EcomOrders(self.requestor)
        self.ecom_graphql = EcomGraphQL(self.requestor)
        self.bulk_import = BulkImport(self.requestor)

    def __repr__(self) -> str:
        return f"ActiveCampaign(api_url={self.api_url!r})"

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> ActiveCampaign:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
