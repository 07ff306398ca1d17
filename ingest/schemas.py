"""marshmallow schemas: the one place where hook bodies are validated.

Tolerant where VTEX is loose: unknown fields are ignored, numbers may arrive as strings, timestamps
carry 7 fractional digits, optional fields may be missing, empty, or an unreplaced Master Data
placeholder such as ``"{!firstName}"``. Strict where the pipeline needs data: ``OrderId`` and
``State`` for orders, a valid e-mail for carts and customers.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema

PLACEHOLDER = re.compile(r"^\{![^}]*\}$")
SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
MAX_TEXT = 256
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def _blank_to_missing(data: Any) -> Any:
    """Drop empty strings and unreplaced ``{!field}`` placeholders: VTEX sends them for absent values."""
    if not isinstance(data, dict):
        return data
    return {k: v for k, v in data.items()
            if not (isinstance(v, str) and (not v.strip() or PLACEHOLDER.match(v.strip())))}


class Text(fields.String):
    """A single-line string: trimmed, bounded, CR/LF and control characters refused.

    The length bound is checked here rather than by a ``validate.Length``: the same rule and message,
    without a validator call per field on the ingest hot path.
    """

    def __init__(self, *, max_length: int = MAX_TEXT, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # ids and numbers arrive either way
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if len(text) > self.max_length:
            raise ValidationError(f"Longer than maximum length {self.max_length}.")
        if CONTROL_CHARS.search(text):
            raise ValidationError("Control characters (CR, LF, ...) are not allowed.")
        return text


class Email(Text):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not EMAIL.match(text):
            raise ValidationError("Not a valid e-mail address.")
        return text


class Timestamp(fields.Field):
    """ISO 8601 with offset, any number of fractional digits; kept as the normalised string."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str) or len(value) > 40:
            raise ValidationError("Not a valid ISO 8601 timestamp.")
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("Not a valid ISO 8601 timestamp.") from None
        if moment.tzinfo is None:
            raise ValidationError("The timestamp needs a UTC offset.")
        return value.strip()


class DecimalAmount(fields.Field):
    """A decimal in currency units, as a number or a string ("129.90", "129,90"); kept as a string."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationError("Not a valid amount.")
        text = str(value).strip().replace(",", ".")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValidationError("Not a valid amount.") from None
        if not amount.is_finite() or amount < 0 or amount > Decimal("100000000"):
            raise ValidationError("Not a valid amount.")
        return str(amount)


class LooseBoolean(fields.Boolean):
    truthy = {True, "1", "true", "True", "TRUE", "yes", "sim"}
    falsy = {False, "0", "false", "False", "FALSE", "no", "não", "null"}


class _Tolerant(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def drop_blanks(self, data: Any, **_: Any) -> Any:
        return _blank_to_missing(data)


class OriginSchema(_Tolerant):
    Account = Text(max_length=64)
    Key = Text(max_length=128)


class OrderHookSchema(_Tolerant):
    """Orders Feed v3 hook body."""

    Domain = Text(max_length=32)
    OrderId = Text(required=True, validate=validate.Regexp(SAFE_ID, error="Not a valid VTEX order id."))
    State = Text(required=True, validate=validate.Regexp(r"^[a-z-]{2,40}$", error="Not a valid VTEX order state."))
    LastState = Text(max_length=40)
    LastChange = Timestamp()
    CurrentChange = Timestamp()
    Origin = fields.Nested(OriginSchema)


class CartTriggerSchema(_Tolerant):
    """Master Data abandoned-cart trigger body (every placeholder arrives as a string)."""

    email = Email(required=True)
    rclastcart = Text(required=True, max_length=4096)
    rclastcartvalue = DecimalAmount()
    rclastsession = Text(max_length=128)
    rclastsessiondate = Timestamp()
    userId = Text(max_length=64)
    firstName = Text()
    lastName = Text()
    localeDefault = Text(max_length=16)
    id = Text(max_length=64)
    accountId = Text(max_length=64)
    accountName = Text(max_length=64)
    dataEntityId = Text(max_length=16)
    createdIn = Timestamp()
    updatedIn = Timestamp()
    lastInteractionIn = Timestamp()


class CustomerTriggerSchema(_Tolerant):
    """Master Data trigger on the customer entity (CL): a register or profile update."""

    email = Email(required=True)
    firstName = Text()
    lastName = Text()
    phone = Text(max_length=32)
    homePhone = Text(max_length=32)
    userId = Text(max_length=64)
    isNewsletterOptIn = LooseBoolean()
    id = Text(max_length=64)
    accountName = Text(max_length=64)
    createdIn = Timestamp()
    updatedIn = Timestamp()

    @validates_schema
    def phone_is_plausible(self, data: dict[str, Any], **_: Any) -> None:
        for name in ("phone", "homePhone"):
            if name in data and not re.fullmatch(r"[0-9+() .-]{3,32}", data[name]):
                raise ValidationError("Not a valid phone number.", field_name=name)


class PingSchema(_Tolerant):
    hookConfig = fields.String(required=True, validate=validate.Equal("ping"))


SCHEMA_FOR_KIND: dict[str, Schema] = {
    "order": OrderHookSchema(),
    "cart": CartTriggerSchema(),
    "customer": CustomerTriggerSchema(),
}
