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

from marshmallow import EXCLUDE, Schema, ValidationError, fields, missing, validate, validates_schema

PLACEHOLDER = re.compile(r"^\{![^}]*\}$")
SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
MAX_TEXT = 256
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def is_blank(value: Any) -> bool:
    """An empty string or an unreplaced ``{!field}`` placeholder: how VTEX sends an absent value."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    return not text or (text[0] == "{" and PLACEHOLDER.match(text) is not None)


class BlankIsMissing(fields.Field):
    """A blank value counts as missing: left out of the result, or "required" if the field is.

    Done per field rather than in a ``pre_load`` hook over the whole body: the same rule, at a
    fraction of the cost on the ingest's hot path.
    """

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        return super().deserialize(missing if is_blank(value) else value, attr, data, **kwargs)


class Text(BlankIsMissing, fields.String):
    """A single-line string: trimmed, bounded, CR/LF and control characters refused.

    The length bound is checked here rather than by a ``validate.Length``: the same rule and message,
    without a validator call per field. Most hook fields are Text, so a non-blank string, the usual
    value, takes a short path through the same checks (``deserialize``).
    """

    def __init__(self, *, max_length: int = MAX_TEXT, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length

    def clean(self, text: str) -> str:
        """The checks on the string itself; subclasses add theirs (``Email``)."""
        text = text.strip()
        if len(text) > self.max_length:
            raise ValidationError(f"Longer than maximum length {self.max_length}.")
        if CONTROL_CHARS.search(text):
            raise ValidationError("Control characters (CR, LF, ...) are not allowed.")
        return text

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        if type(value) is str and not is_blank(value):
            # what Field.deserialize would do for a present, non-null string, minus its generic steps
            text = self.clean(value)
            if self.validators:
                self._validate(text)
            return text
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # ids and numbers arrive either way
        return self.clean(super()._deserialize(value, attr, data, **kwargs))


class Email(Text):
    def clean(self, text: str) -> str:
        text = super().clean(text)
        if not EMAIL.match(text):
            raise ValidationError("Not a valid e-mail address.")
        return text


class Timestamp(BlankIsMissing):
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


class DecimalAmount(BlankIsMissing):
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


class LooseBoolean(BlankIsMissing, fields.Boolean):
    truthy = {True, "1", "true", "True", "TRUE", "yes", "sim"}
    falsy = {False, "0", "false", "False", "FALSE", "no", "não", "null"}


class _Tolerant(Schema):
    class Meta:
        unknown = EXCLUDE


class OriginField(BlankIsMissing):
    """The order hook's ``Origin`` object: ``Account`` and ``Key``, unknown keys ignored.

    A field rather than a ``Nested`` schema: a nested load was a third of the order hook's validation
    cost. Errors keep the nested shape, ``{"Origin": {"Account": [...]}}``.
    """

    parts: dict[str, fields.Field] = {"Account": Text(max_length=64), "Key": Text(max_length=128)}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            raise ValidationError("Not a valid object.")
        result: dict[str, str] = {}
        errors: dict[str, Any] = {}
        for name, field in self.parts.items():
            if name not in value:
                continue
            try:
                loaded = field.deserialize(value[name])
            except ValidationError as exc:
                errors[name] = exc.messages
                continue
            if loaded is not missing:
                result[name] = loaded
        if errors:
            raise ValidationError(errors)
        return result


class OrderHookSchema(_Tolerant):
    """Orders Feed v3 hook body."""

    Domain = Text(max_length=32)
    OrderId = Text(required=True, validate=validate.Regexp(SAFE_ID, error="Not a valid VTEX order id."))
    State = Text(required=True, validate=validate.Regexp(r"^[a-z-]{2,40}$", error="Not a valid VTEX order state."))
    LastState = Text(max_length=40)
    LastChange = Timestamp()
    CurrentChange = Timestamp()
    Origin = OriginField()


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
