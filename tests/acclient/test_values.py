from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from acclient.values import decimal_to_cents, to_cents, to_iso8601


@pytest.mark.parametrize(
    ("value", "cents"),
    [(0, 0), (1999, 1999), (1999.0, 1999), (Decimal("1999"), 1999), ("1999", 1999), (Decimal("1999.00"), 1999)],
)
def test_integral_amounts_pass(value, cents):
    assert to_cents(value) == cents


@pytest.mark.parametrize("value", [19.99, Decimal("10.5"), "0.1", -1, True, float("nan"), "abc", None])
def test_fractional_negative_or_junk_amounts_raise(value):
    with pytest.raises(ValueError):
        to_cents(value)


@pytest.mark.parametrize(("value", "cents"), [("19.99", 1999), ("0.1", 10), ("100", 10000), (" 5.5 ", 550)])
def test_decimal_currency_units_convert_without_float_error(value, cents):
    assert decimal_to_cents(value) == cents


def test_decimal_to_cents_refuses_sub_cent_amounts():
    with pytest.raises(ValueError):
        decimal_to_cents("19.999")


def test_iso8601_keeps_offsets_and_localises_naive_datetimes():
    aware = datetime(2026, 11, 27, 10, 30, tzinfo=timezone(timedelta(hours=-3)))
    assert to_iso8601(aware) == "2026-11-27T10:30:00-03:00"
    assert to_iso8601("2026-11-27T13:30:00.1234567Z") == "2026-11-27T13:30:00+00:00"
    naive = to_iso8601(datetime(2026, 11, 27, 10, 30))
    assert naive.startswith("2026-11-27T10:30:00") and ("+" in naive[10:] or "-" in naive[10:])
    assert to_iso8601(date(2026, 11, 27)) == "2026-11-27T00:00:00+00:00"
    with pytest.raises(ValueError):
        to_iso8601("yesterday")
