"""marshmallow schemas: the one place where hook bodies are validated.

Tolerant where VTEX is loose: unknown fields are ignored, numbers may arrive as strings, timestamps
carry 7 fractional digits, optional fields may be missing, null, empty, or an unreplaced Master Data
placeholder such as ``"{!firstName}"``. Strict where the pipeline needs data: ``OrderId`` and
``State`` for orders (VTEX resends a refused order hook), a valid e-mail for carts and customers and
a cart for cart triggers.

Master Data v1 triggers never retry, so a refused trigger is lost for good: their schemas
(``TriggerSchema``) keep what can be kept. Values that stores really send are normalised (dates
without an offset, whole cart URLs, pt-BR amounts and float artifacts, free-text phones, "true"
strings) and any other optional field that does not validate is dropped from the payload, with the
event kept; only a missing or invalid e-mail or cart refuses it (``Refused.reason``:
``missing_email``, ``invalid_email``, ``missing_cart``, ``invalid_cart``).

Dates without an offset are the store's local time: ``schema_for(kind, timezone)`` builds each
trigger schema once per time zone (stores' ``timezone`` setting) and caches it.
"""

from __future__ import annotations

import functools
import re
import time
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, ClassVar, TypeVar
from zoneinfo import ZoneInfo

from marshmallow import EXCLUDE, Schema, ValidationError, fields, missing, validate

from acsync_core.cart import CartParseError, EmptyCartError, normalize_rclastcart

PLACEHOLDER = re.compile(r"^\{![^}]*\}$")
SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
MAX_TEXT = 256
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def _required_message() -> str:
    """marshmallow's message for a missing required field (its error messages are typed str, list or dict)."""
    message = fields.Field.default_error_messages["required"]
    if not isinstance(message, str):
        raise TypeError(f"marshmallow's 'required' error message is a {type(message).__name__}, not a str")
    return message


REQUIRED_MESSAGE = _required_message()
EMPTY_CART = "The cart has no item."

T = TypeVar("T")


class Refused(Exception):
    """A hook body that cannot be accepted: ``reason`` for the answer and the metric, ``fields`` for the sender."""

    def __init__(self, reason: str, fields: dict[str, Any]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fields = fields


def is_blank(value: Any) -> bool:
    """Null, an empty string or an unreplaced ``{!field}`` placeholder: how VTEX sends an absent value."""
    if not isinstance(value, str):
        return value is None
    text = value.strip()
    return not text or (text[0] == "{" and PLACEHOLDER.match(text) is not None)


class BlankIsMissing(fields.Field[T]):
    """A blank value counts as missing: left out of the result, or "required" if the field is.

    Done per field rather than in a ``pre_load`` hook over the whole body: the same rule, at a
    fraction of the cost on the ingest's hot path. A present value skips Field.deserialize's checks
    for missing and null values, which cannot apply to it (a property test holds both paths equal).
    """

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        if value is missing or is_blank(value):
            return super().deserialize(missing, attr, data, **kwargs)
        # present and not null: all that is left of Field.deserialize is _deserialize and the validators
        output = self._deserialize(value, attr, data, **kwargs)
        if self.validators:
            self._validate(output)
        return output


class Text(BlankIsMissing[str], fields.String):
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


class Timestamp(BlankIsMissing[str]):
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


class MasterDataDate(BlankIsMissing[str]):
    """A Master Data date as stores send it, kept as ISO 8601 with offset (``datetime.isoformat``).

    Taken: ISO 8601 with or without an offset, ``Z``, 7 fractional digits, a space instead of the
    ``T``, a date alone (midnight). A value without an offset is the store's local time: the
    ``timezone`` of the schema (``schema_for``).
    """

    def parse(self, value: Any) -> datetime:
        if not isinstance(value, str) or len(value) > 40:
            raise ValidationError("Not a valid date.")
        try:
            moment = datetime.fromisoformat(value.strip())  # Python 3.11+: all of the forms above
        except ValueError:
            raise ValidationError("Not a valid date.") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=getattr(self.parent, "timezone", UTC))
        return moment

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return self.parse(value).isoformat()


class SessionDate(MasterDataDate):
    """``rclastsessiondate``: also dropped if over a day ahead, which would hold its cart back for good."""

    FUTURE_MARGIN_SECONDS = 24 * 3600

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        moment = self.parse(value)
        try:
            ahead = moment.timestamp() - time.time()
        except (OverflowError, ValueError):  # year 1 or 9999 moved by its offset
            raise ValidationError("Not a plausible date.") from None
        if ahead > self.FUTURE_MARGIN_SECONDS:
            raise ValidationError("Not a plausible date: more than a day ahead.")
        return moment.isoformat()


CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("100000000")
# How amounts are written, tried in this order (fullmatch); the replacements make each a plain decimal.
AMOUNT_FORMS = (
    (re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"), None),  # 59.70, 59.699999999999996, 1.234 (a decimal)
    (re.compile(r"\d+,\d+"), {",": "."}),  # pt-BR without thousands: 59,70
    (re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?"), {".": "", ",": "."}),  # pt-BR: 1.234,56 and 1.234.567
    (re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?"), {",": ""}),  # en-US: 1,234.56 and 1,234,567
)


def parse_amount(value: Any) -> Decimal:
    """A cart value in currency units, rounded half-even to cents; ``ValidationError`` if it is none."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationError("Not a valid amount.")
    if isinstance(value, float):
        text = repr(value)  # the shortest repr is the number as the JSON had it: 59.699999999999996
    elif isinstance(value, int):
        text = str(value)
    else:
        text = value.strip().removeprefix("R$").strip()
        for pattern, replacements in AMOUNT_FORMS:
            if pattern.fullmatch(text):
                for old, new in (replacements or {}).items():
                    text = text.replace(old, new)
                break
        else:
            raise ValidationError("Not a valid amount.")
    try:
        amount = Decimal(text)
    except InvalidOperation:  # nan, inf from a float
        raise ValidationError("Not a valid amount.") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise ValidationError("Not a valid amount.")
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


class DecimalAmount(BlankIsMissing[str]):
    """A decimal in currency units, as a number or a string; kept as a two-decimal string ("59.70").

    Taken: numbers with float artifacts (``59.699999999999996``), pt-BR (``1.234,56``, ``59,70``) and
    en-US (``1,234.56``) formatting, an ``R$`` prefix. A single ``.`` or ``,`` is the decimal mark.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return str(parse_amount(value))


class LooseBoolean(BlankIsMissing[bool], fields.Boolean):
    """true/false as booleans, 0/1, or strings in any case ("true", "FALSE", "sim"); "null" is absent."""

    TRUE_TEXT = frozenset({"true", "1", "yes", "sim"})
    FALSE_TEXT = frozenset({"false", "0", "no", "não", "nao"})

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if value is True or value is False:
            return value
        if type(value) is int and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            text = value.strip().lower()
            if text in self.TRUE_TEXT:
                return True
            if text in self.FALSE_TEXT:
                return False
            if text == "null":
                return missing
        raise ValidationError("Not a valid boolean.")


PHONE_SEPARATORS = re.compile(r"[\s.()\-]+")
PHONE = re.compile(r"\+?[0-9]{3,20}")


class Phone(Text):
    """A phone as shoppers type it, kept as digits with an optional leading ``+``: ``+5511999990000``.

    Spaces, dots, dashes and parentheses go; anything else (an extension, letters, a second ``+``),
    fewer than 3 or more than 20 digits is not a phone number.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=64, **kwargs)

    def clean(self, text: str) -> str:
        digits = PHONE_SEPARATORS.sub("", super().clean(text))
        if not PHONE.fullmatch(digits):
            raise ValidationError("Not a valid phone number.")
        return digits

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, float):
            raise ValidationError("Not a valid phone number.")  # 5511999990000.0 would gain a digit
        return super()._deserialize(value, attr, data, **kwargs)


class CartURL(Text):
    """``rclastcart``, kept in the relative form the pipeline reads (``acsync_core.cart.normalize_rclastcart``).

    Taken: the relative form, the path from ``/checkout/cart/`` or the whole URL, a trailing ``&``,
    ``sc`` per item. A cart with no item at all is refused (``EMPTY_CART``). Anything else the parser
    cannot read is kept as sent: the worker dead-letters it as ``unparsable_cart``, where an operator
    sees it, rather than losing a trigger that is never resent.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=4096, **kwargs)

    def clean(self, text: str) -> str:
        text = super().clean(text)
        try:
            return normalize_rclastcart(text)
        except EmptyCartError:
            raise ValidationError(EMPTY_CART) from None
        except CartParseError:
            return text


class _Tolerant(Schema):
    class Meta:
        unknown = EXCLUDE

    def load_hook(self, body: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
        """The validated payload and the fields dropped from it (none here); ``Refused`` if invalid."""
        try:
            return self.load(body), ()
        except ValidationError as exc:
            raise Refused("validation_failed", exc.messages_dict) from None  # a schema's errors: by field


class TriggerSchema(_Tolerant):
    """A Master Data trigger body: never resent, so every field but the required ones is best effort.

    An optional field that does not validate is dropped (its name is returned by ``load_hook``); a
    required one refuses the body with the reason in ``REQUIRED``: (missing, invalid).
    """

    REQUIRED: ClassVar[dict[str, tuple[str, str]]] = {"email": ("missing_email", "invalid_email")}
    MISSING_MESSAGES: ClassVar[frozenset[str]] = frozenset({REQUIRED_MESSAGE, EMPTY_CART})

    def __init__(self, *, timezone: tzinfo = UTC, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timezone = timezone  # of dates without an offset (MasterDataDate reads it)

    def load_hook(self, body: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
        try:
            return self.load(body), ()
        except ValidationError as exc:  # the happy path above pays nothing for what follows
            messages = exc.messages_dict
            refused = {name: messages[name] for name in self.REQUIRED if name in messages}
            if refused:
                name = next(iter(refused))
                missing_reason, invalid_reason = self.REQUIRED[name]
                reason = missing_reason if self.MISSING_MESSAGES.issuperset(refused[name]) else invalid_reason
                raise Refused(reason, refused) from None
            valid_data = exc.valid_data or {}
            if not isinstance(valid_data, dict):  # a list only comes from a many=True load
                raise TypeError(f"{type(self).__name__}.load_hook loads one body, got a list") from None
            return valid_data, tuple(sorted(messages))


class OriginField(BlankIsMissing[dict[str, str]]):
    """The order hook's ``Origin`` object: ``Account`` and ``Key``, unknown keys ignored.

    A field rather than a ``Nested`` schema, whose load is a large share of the order hook's validation
    (docs/benchmarks.md). Errors keep the nested shape, ``{"Origin": {"Account": [...]}}``.
    """

    parts: dict[str, Text] = {"Account": Text(max_length=64), "Key": Text(max_length=128)}

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


class CartTriggerSchema(TriggerSchema):
    """Master Data abandoned-cart trigger body (every placeholder arrives as a string)."""

    REQUIRED: ClassVar[dict[str, tuple[str, str]]] = {
        "email": ("missing_email", "invalid_email"),
        "rclastcart": ("missing_cart", "invalid_cart"),
    }

    email = Email(required=True)
    rclastcart = CartURL(required=True)
    rclastcartvalue = DecimalAmount()
    rclastsession = Text(max_length=128)
    rclastsessiondate = SessionDate()
    userId = Text(max_length=64)
    firstName = Text()
    lastName = Text()
    localeDefault = Text(max_length=16)
    id = Text(max_length=64)
    accountId = Text(max_length=64)
    accountName = Text(max_length=64)
    dataEntityId = Text(max_length=16)
    createdIn = MasterDataDate()
    updatedIn = MasterDataDate()
    lastInteractionIn = MasterDataDate()


class CustomerTriggerSchema(TriggerSchema):
    """Master Data trigger on the customer entity (CL): a register or profile update."""

    email = Email(required=True)
    firstName = Text()
    lastName = Text()
    phone = Phone()
    homePhone = Phone()
    userId = Text(max_length=64)
    isNewsletterOptIn = LooseBoolean()
    id = Text(max_length=64)
    accountName = Text(max_length=64)
    createdIn = MasterDataDate()
    updatedIn = MasterDataDate()


class PingSchema(_Tolerant):
    hookConfig = fields.String(required=True, validate=validate.Equal("ping"))


TRIGGER_SCHEMAS: dict[str, type[TriggerSchema]] = {"cart": CartTriggerSchema, "customer": CustomerTriggerSchema}
_ORDER_SCHEMA = OrderHookSchema()


@functools.cache
def schema_for(kind: str, timezone: str = "UTC") -> _Tolerant:
    """The schema of a kind of hook for a store's time zone (an IANA name), built once and reused.

    A schema is not cheap to build (marshmallow copies its fields); on the ingest's hot path this is
    a cache lookup. Keys are kinds x the stores' configured time zones.
    """
    if kind == "order":
        return _ORDER_SCHEMA
    return TRIGGER_SCHEMAS[kind](timezone=UTC if timezone == "UTC" else ZoneInfo(timezone))


# The schemas for a store in UTC (the default time zone), by kind.
SCHEMA_FOR_KIND: dict[str, Schema] = {kind: schema_for(kind) for kind in ("order", *TRIGGER_SCHEMAS)}
