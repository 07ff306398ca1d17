"""Conversions of money and dates into the forms ActiveCampaign expects."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation


def to_cents(amount: object, *, field: str = "amount") -> int:
    """Return ``amount`` (already in cents) as an int, refusing anything that would lose money.

    ints pass; floats, Decimals and numeric strings pass only when integral (``1999.0``); ``19.99``
    cents, negatives, booleans and NaN raise ``ValueError``: a silent truncation is a wrong invoice.
    """
    if isinstance(amount, bool):
        raise ValueError(f"{field}: expected integer cents, got a boolean")
    if isinstance(amount, int):
        value = amount
    else:
        try:
            if isinstance(amount, str):
                decimal = Decimal(amount.strip())
            elif isinstance(amount, float | Decimal):
                decimal = Decimal(amount)
            else:
                raise TypeError(f"{type(amount).__name__} is not an amount")
        except (InvalidOperation, TypeError, ValueError):
            raise ValueError(f"{field}: {amount!r} is not a number of cents") from None
        if not decimal.is_finite() or decimal != decimal.to_integral_value():
            raise ValueError(f"{field}: {amount!r} is not a whole number of cents")
        value = int(decimal)
    if value < 0:
        raise ValueError(f"{field}: {value} cents is negative")
    return value


def decimal_to_cents(amount: object, *, field: str = "amount", decimal_places: int = 2) -> int:
    """Convert an amount in currency units (``"19.99"``) into integer cents without float error."""
    try:
        decimal = Decimal(str(amount).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"{field}: {amount!r} is not a decimal amount") from None
    return to_cents(decimal.scaleb(decimal_places), field=field)


INT32_MAX = 2_147_483_647


class AmountOutOfRange(ValueError):
    """An amount ActiveCampaign cannot store: negative, or more than int32 minor units (2,147,483,647 cents)."""


def cents_to_decimal(cents: int, *, decimal_places: int = 2) -> Decimal:
    """Exact currency units from integer minor units: ``1999`` -> ``Decimal("19.99")``, ``1`` -> ``Decimal("0.01")``.

    The result always has ``decimal_places`` digits after the point (``0`` -> ``Decimal("0.00")``) and never
    goes through float. ``cents`` must be an int or an integral Decimal: booleans and floats raise
    ``TypeError``, a fractional Decimal or NaN ``ValueError``. Negative amounts and amounts over
    2,147,483,647 minor units (AC keeps money as int32 cents) raise ``AmountOutOfRange``.
    """
    if isinstance(decimal_places, bool) or not isinstance(decimal_places, int) or decimal_places < 0:
        raise ValueError(f"decimal_places must be a non-negative integer (got {decimal_places!r})")
    if isinstance(cents, bool) or not isinstance(cents, int | Decimal):
        raise TypeError(f"cents must be an int, got {type(cents).__name__} {cents!r}")
    if isinstance(cents, Decimal):
        if not cents.is_finite() or cents != cents.to_integral_value():
            raise ValueError(f"{cents!r} is not a whole number of minor units")
        cents = int(cents)
    if cents < 0:
        raise AmountOutOfRange(f"amount of {cents} minor units is negative; ActiveCampaign stores amounts >= 0")
    if cents > INT32_MAX:
        raise AmountOutOfRange(
            f"amount of {cents} minor units is over {INT32_MAX}, the largest amount ActiveCampaign can store"
        )
    return Decimal(cents).scaleb(-decimal_places)


def to_iso8601(value: datetime | date | str) -> str:
    """Format a datetime as ISO 8601 with a UTC offset.

    Naive datetimes are taken as local time (Python's own convention for ``astimezone``); strings are
    parsed first so that a malformed date fails here rather than at ActiveCampaign.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 date") from None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.astimezone()
    elif isinstance(value, date):
        moment = datetime.combine(value, time(), tzinfo=UTC)
    else:
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    return moment.isoformat(timespec="seconds")
