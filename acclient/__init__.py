"""acclient: an ActiveCampaign v3 client.

Two styles over one core:

* modern: ``ActiveCampaign(api_url=..., api_token=...)`` with ``.contacts``, ``.connections``,
  ``.ecom_customers``, ``.ecom_orders`` raising typed errors from ``acclient.errors``;
* compatible with the ``active_campaign`` library: ``ACClient``, ``ACContact`` and
  ``acclient.ecommerce`` returning ``(success, response)`` tuples.

This package imports nothing from the rest of the project, so it can be published on its own.
"""

from acclient.client import ActiveCampaign
from acclient.compat import ACClient, ACContact
from acclient.errors import (
    ACError,
    APIError,
    AuthenticationError,
    DuplicateError,
    ErrorDetail,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
)
from acclient.ratelimit import IntervalRateLimiter, NoRateLimit, RateLimiter
from acclient.resources import SOURCE_REALTIME, SOURCE_SYNC, OrderProduct, Page
from acclient.transport import NO_RETRIES, RetryPolicy

__all__ = [
    "NO_RETRIES",
    "SOURCE_REALTIME",
    "SOURCE_SYNC",
    "ACClient",
    "ACContact",
    "ACError",
    "APIError",
    "ActiveCampaign",
    "AuthenticationError",
    "DuplicateError",
    "ErrorDetail",
    "IntervalRateLimiter",
    "NoRateLimit",
    "NotFoundError",
    "OrderProduct",
    "Page",
    "RateLimitError",
    "RateLimiter",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "ValidationError",
]
