"""acclient: an ActiveCampaign v3 client.

Two styles over one core:

* modern: ``ActiveCampaign(api_url=..., api_token=...)`` with ``.contacts``, ``.connections``,
  ``.ecom_customers``, ``.ecom_orders``, ``.ecom_graphql`` (Ecommerce GraphQL) and ``.bulk_import``,
  raising typed errors from ``acclient.errors``;
* shared with other HTTP clients: ``Transport`` (pooled session, timeouts, safe retries) and
  ``HTTPAPIError``, the error base ``ACError`` derives from (status, retryable, retry_after, method, path);
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
    BulkImportRateLimited,
    DuplicateError,
    ErrorDetail,
    GraphQLError,
    NotFoundError,
    RateLimitError,
    RecordFailure,
    RecordValidationError,
    ServerError,
    TokenLimitError,
    TransportError,
    ValidationError,
)
from acclient.graphql import BulkResult, EcomGraphQL
from acclient.http_errors import HTTPAPIError
from acclient.ratelimit import IntervalRateLimiter, NoRateLimit, RateLimiter
from acclient.resources import SOURCE_REALTIME, SOURCE_SYNC, BulkImport, OrderProduct, Page, chunk_contacts
from acclient.transport import NO_RETRIES, HTTPResponse, RetryPolicy, Transport, parse_retry_after
from acclient.values import AmountOutOfRange, cents_to_decimal

__all__ = [
    "NO_RETRIES",
    "SOURCE_REALTIME",
    "SOURCE_SYNC",
    "ACClient",
    "ACContact",
    "ACError",
    "APIError",
    "ActiveCampaign",
    "AmountOutOfRange",
    "AuthenticationError",
    "BulkImport",
    "BulkImportRateLimited",
    "BulkResult",
    "DuplicateError",
    "EcomGraphQL",
    "ErrorDetail",
    "GraphQLError",
    "HTTPAPIError",
    "HTTPResponse",
    "IntervalRateLimiter",
    "NoRateLimit",
    "NotFoundError",
    "OrderProduct",
    "Page",
    "RateLimitError",
    "RateLimiter",
    "RecordFailure",
    "RecordValidationError",
    "RetryPolicy",
    "ServerError",
    "TokenLimitError",
    "Transport",
    "TransportError",
    "ValidationError",
    "cents_to_decimal",
    "chunk_contacts",
    "parse_retry_after",
]
