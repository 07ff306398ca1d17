"""ActiveCampaign's Ecommerce GraphQL API: a literal-argument serializer and the ``ecom_graphql`` resource.

AC's own WooCommerce plugin sends documents with literal arguments
(``mutation{bulkUpsertOrders(orders:[{storeOrderId:"v1-01",...}]){id storeOrderId}}``) as
``Content-Type: application/graphql``; this module builds the same form. Values are Python values:
str, int, bool, ``Decimal`` (money, in currency units), ``Enum("REAL_TIME")``, lists, mappings, None.
floats are refused so that money never passes through binary floating point.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from acclient.errors import ACError, APIError, RecordValidationError, TokenLimitError
from acclient.requestor import GRAPHQL_PATH, Requestor

_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
_SELECTION = re.compile(r"[_0-9A-Za-z{}\s,]+")
_RESERVED_ENUM_NAMES = frozenset({"true", "false", "null"})


@dataclass(frozen=True)
class Enum:
    """A GraphQL enum value, serialized bare: ``Enum("REAL_TIME")`` -> ``REAL_TIME``."""

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not is_name(self.name) or self.name in _RESERVED_ENUM_NAMES:
            raise ValueError(f"{self.name!r} is not a GraphQL enum value name")


def is_name(text: str) -> bool:
    """True when ``text`` is a GraphQL Name (``[_A-Za-z][_0-9A-Za-z]*``)."""
    return _NAME.fullmatch(text) is not None


def serialize(value: Any) -> str:
    """The GraphQL literal for ``value``.

    * Mapping -> ``{key:value ...}`` (keys must be GraphQL names; entries whose value is None are omitted);
    * list or tuple -> ``[...]`` (a None item becomes ``null``); None on its own -> ``null``;
    * str -> a JSON string literal (quotes, backslashes and control characters escaped, other characters,
      astral ones included, as UTF-8); a string with a lone surrogate raises ``ValueError``;
    * bool -> ``true``/``false``; int -> decimal digits;
    * Decimal -> plain decimal text without exponent (``Decimal("1E+2")`` -> ``100``); NaN and infinities
      raise ``ValueError``;
    * ``Enum`` -> its bare name.

    float raises ``TypeError`` (pass money as Decimal or as a string), as does any other type.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        detail = "NaN/infinity" if not math.isfinite(value) else "float"
        raise TypeError(f"refusing {detail} {value!r}: pass amounts as Decimal so money never goes through float")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"refusing {value!r}: GraphQL has no literal for NaN or infinity")
        return format(value, "f")
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, Mapping):
        return _object(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(serialize(item) for item in value) + "]"
    raise TypeError(f"cannot serialize {type(value).__name__} {value!r} as a GraphQL literal")


def _string(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"string {value[:40]!r} contains a lone surrogate, which is not Unicode text") from None
    return json.dumps(value, ensure_ascii=False)


def _object(value: Mapping[Any, Any]) -> str:
    fields = []
    for key, item in value.items():
        if not isinstance(key, str) or not is_name(key):
            raise ValueError(f"{key!r} is not a GraphQL field name")
        if item is not None:
            fields.append(f"{key}:{serialize(item)}")
    return "{" + ",".join(fields) + "}"


def _selection(selection: str | Sequence[str]) -> str:
    text = selection if isinstance(selection, str) else " ".join(selection)
    if not text.strip() or _SELECTION.fullmatch(text) is None or not _balanced(text):
        raise ValueError(f"{selection!r} is not a GraphQL selection of field names")
    return " ".join(text.split())


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _document(operation: str, argument_name: str, literal: str, selection: str | Sequence[str]) -> str:
    if not is_name(operation):
        raise ValueError(f"{operation!r} is not a GraphQL field name")
    if not is_name(argument_name):
        raise ValueError(f"{argument_name!r} is not a GraphQL argument name")
    return f"mutation{{{operation}({argument_name}:{literal}){{{_selection(selection)}}}}}"


def mutation_document(operation: str, argument_name: str, value: Any, selection: str | Sequence[str]) -> str:
    """``mutation{<operation>(<argument_name>:<serialize(value)>){<selection>}}``.

    ``selection`` is a string (``"id storeOrderId"``, nested braces allowed) or a sequence of field names.
    """
    return _document(operation, argument_name, serialize(value), selection)


@dataclass
class BulkResult:
    """What a bulk upsert did: ``succeeded`` (record id -> AC's result record), ``failed`` (record id -> AC's
    reason) and ``requests`` (HTTP requests sent, transport retries included)."""

    succeeded: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    requests: int = 0


@dataclass(frozen=True)
class _Record:
    key: str
    literal: str


@dataclass(frozen=True)
class _Bulk:
    operation: str
    argument: str
    key_field: str
    selection: str


_ORDERS = _Bulk("bulkUpsertOrders", "orders", "storeOrderId", "id storeOrderId")
_ORDERS_ASYNC = _Bulk("bulkUpsertOrdersAsync", "orders", "storeOrderId", "recordId storeOrderId")
_PRODUCTS = _Bulk("bulkUpsertProducts", "products", "storePrimaryId", "id storePrimaryId")

NO_RESULT = "ActiveCampaign's answer had no result for this record"


class EcomGraphQL:
    """``ac.ecom_graphql``: orders and products through ``POST /api/3/ecom/graphql``.

    Records are mappings with AC's field names (``storeOrderId``, ``legacyConnectionId``, ``finalAmount`` ...)
    and the values ``serialize`` takes. Every HTTP request goes through the client's rate limiter; upserts
    are idempotent by (legacyConnectionId, storeOrderId) or (legacyConnectionId, storePrimaryId), so
    resending is safe. The ``bulk_upsert_*`` methods send records until each one has landed
    (``BulkResult.succeeded``) or been refused (``BulkResult.failed``):

    * every record is serialized before the first request: a value that cannot be sent raises
      ``TypeError``/``ValueError`` and nothing is sent; so does a record without its id field, or two
      records with the same id (the result could not tell them apart);
    * ``batch_size`` caps the records per request (default: all of them in the first request);
    * "Validation errors": AC applied none of that request's records; the refused ones go to ``failed``
      and the others are sent again;
    * the token limit ("More than 15000 grammar tokens"): the batch is split in halves, recursively; a
      single record over the limit goes to ``failed`` with AC's message;
    * a record AC's answer does not mention goes to ``failed`` (``NO_RESULT``);
    * any other error (``RateLimitError``, ``ServerError``, ``TransportError``, ``AuthenticationError`` ...)
      propagates with ``exc.partial``, the ``BulkResult`` of what was settled before it.
    """

    path = GRAPHQL_PATH

    def __init__(self, requestor: Requestor) -> None:
        self._requestor = requestor

    def execute(self, document: str) -> dict[str, Any]:
        """Send any GraphQL document and return its ``data``; errors raise like every call of this resource."""
        return self._requestor.graphql(document, path=self.path)

    def upsert_order(self, order: Mapping[str, Any]) -> dict[str, Any]:
        """Create or update one order; returns AC's ``{"id": ..., "storeOrderId": ...}``.

        A refused order raises ``RecordValidationError`` (``failures`` holds AC's reason).
        """
        document = mutation_document("upsertOrder", "order", dict(order), "id storeOrderId")
        result = self.execute(document).get("upsertOrder")
        if isinstance(result, list):
            result = result[0] if result else None
        if not isinstance(result, dict):
            raise APIError("upsertOrder answered without a result record", method="POST", path=self.path)
        return result

    def bulk_upsert_orders(self, orders: Sequence[Mapping[str, Any]], *, batch_size: int | None = None) -> BulkResult:
        """Upsert orders with ``bulkUpsertOrders``, keyed by ``storeOrderId`` (failures: see the class)."""
        return self._bulk(_ORDERS, orders, batch_size)

    def bulk_upsert_orders_async(
        self, orders: Sequence[Mapping[str, Any]], *, batch_size: int | None = None
    ) -> BulkResult:
        """Queue orders with ``bulkUpsertOrdersAsync``; ``succeeded`` holds ``{recordId, storeOrderId}`` records."""
        return self._bulk(_ORDERS_ASYNC, orders, batch_size)

    def bulk_upsert_products(
        self, products: Sequence[Mapping[str, Any]], *, batch_size: int | None = None
    ) -> BulkResult:
        """Upsert products with ``bulkUpsertProducts``, keyed by ``storePrimaryId``."""
        return self._bulk(_PRODUCTS, products, batch_size)

    def _bulk(self, bulk: _Bulk, records: Sequence[Mapping[str, Any]], batch_size: int | None) -> BulkResult:
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive integer (got {batch_size!r})")
        prepared = _prepare(records, bulk.key_field)
        result = BulkResult()
        size = batch_size or max(len(prepared), 1)

        def count_request() -> None:
            result.requests += 1

        try:
            for start in range(0, len(prepared), size):
                self._send_batch(bulk, prepared[start : start + size], result, count_request)
        except ACError as exc:
            exc.partial = result
            raise
        return result

    def _send_batch(
        self, bulk: _Bulk, batch: list[_Record], result: BulkResult, count_request: Callable[[], None]
    ) -> None:
        while batch:
            literal = "[" + ",".join(record.literal for record in batch) + "]"
            document = _document(bulk.operation, bulk.argument, literal, bulk.selection)
            try:
                data = self._requestor.graphql(document, path=self.path, on_attempt=count_request)
            except RecordValidationError as exc:
                refused = _refused(exc, batch)
                if not refused:
                    raise  # AC named no record of this batch: resending the same batch would loop
                result.failed.update(refused)
                batch = [record for record in batch if record.key not in refused]
                continue
            except TokenLimitError as exc:
                if len(batch) == 1:
                    result.failed[batch[0].key] = exc.message
                    return
                too_large = True
            else:
                too_large = False
            if too_large:  # outside the except block, so errors of the halves do not chain to this one
                half = len(batch) // 2
                self._send_batch(bulk, batch[:half], result, count_request)
                self._send_batch(bulk, batch[half:], result, count_request)
            else:
                _record_results(bulk, batch, data.get(bulk.operation), result)
            return


def _prepare(records: Iterable[Mapping[str, Any]], key_field: str) -> list[_Record]:
    prepared: list[_Record] = []
    seen: set[str] = set()
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise TypeError(f"record {index} is a {type(record).__name__}, not a mapping")
        key = record.get(key_field)
        if key is None or str(key) == "":
            raise ValueError(f"record {index} has no {key_field}")
        key = str(key)
        if key in seen:
            raise ValueError(f"{key_field} {key!r} appears twice; send one version of each record")
        seen.add(key)
        prepared.append(_Record(key=key, literal=serialize(record)))
    return prepared


def _refused(exc: RecordValidationError, batch: list[_Record]) -> dict[str, str]:
    """The records of ``batch`` that AC named, by id, else by the index in the extension key."""
    keys = {record.key for record in batch}
    refused: dict[str, str] = {}
    for failure in exc.records:
        if failure.key in keys:
            refused[failure.key] = failure.reason
        elif failure.index is not None and 0 <= failure.index < len(batch):
            refused[batch[failure.index].key] = failure.reason
    return refused


def _record_results(bulk: _Bulk, batch: list[_Record], answer: Any, result: BulkResult) -> None:
    """File AC's result records under their ids; a record without a result goes to ``failed``."""
    items = [answer] if isinstance(answer, dict) else [item for item in answer or [] if isinstance(item, dict)]
    keys = {record.key for record in batch}
    by_position = len(items) == len(batch)
    for position, item in enumerate(items):
        key = item.get(bulk.key_field)
        if key is not None and str(key) in keys:
            result.succeeded[str(key)] = item
        elif by_position:
            result.succeeded[batch[position].key] = item
    for record in batch:
        if record.key not in result.succeeded:
            result.failed[record.key] = NO_RESULT
