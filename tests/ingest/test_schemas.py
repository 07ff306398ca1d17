"""Schema details that the hook tests do not reach: Text's short path, blanks, the Origin field, and
properties of the Master Data triggers' normalisation (tests/ingest/test_triggers.py has the cases)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, fields, missing, validate

from ingest.schemas import (
    SAFE_ID,
    SCHEMA_FOR_KIND,
    DecimalAmount,
    Email,
    LooseBoolean,
    MasterDataDate,
    Phone,
    Text,
    is_blank,
    parse_amount,
    schema_for,
)
from tests.factories import cart_trigger, customer_trigger

FIELDS = [
    Text(),
    Text(max_length=8),
    Text(required=True),
    Email(),
    Email(required=True),
    Text(validate=validate.Regexp(SAFE_ID, error="Not a valid VTEX order id.")),
]
SAMPLES = [
    " ",
    "",
    "{!firstName}",
    "  {!x}  ",
    "{not a placeholder",
    "ana",
    " ana ",
    "a" * 9,
    "a\nb",
    "a\x00",
    "ana@example.com",
    " ana@example.com ",
    "ana@",
    "v1-01",
    "v1 01",
    12,
    1.5,
    True,
    None,
    ["a"],
    {"a": 1},
]


def generic_path(field: fields.Field, value: Any) -> Any:
    """Field.deserialize's own steps (skipping the short paths), as marshmallow would run them."""
    return fields.Field.deserialize(field, missing if is_blank(value) else value)


def outcome(fn: Any, field: Text, value: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(field, value)
    except ValidationError as exc:
        return "error", exc.messages


@pytest.mark.parametrize("field", FIELDS, ids=repr)
@pytest.mark.parametrize("value", SAMPLES, ids=repr)
def test_text_short_path_matches_the_generic_path(field, value):
    assert outcome(lambda f, v: f.deserialize(v), field, value) == outcome(generic_path, field, value)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(FIELDS), st.one_of(st.text(max_size=20), st.integers(), st.none(), st.booleans()))
def test_text_short_path_matches_the_generic_path_for_any_input(field, value):
    assert outcome(lambda f, v: f.deserialize(v), field, value) == outcome(generic_path, field, value)


OTHER_FIELDS = [
    field
    for name, field in schema_for("cart", "America/Sao_Paulo").fields.items()
    if name in ("rclastcartvalue", "rclastsessiondate", "updatedIn", "rclastcart")
] + [
    schema_for("customer").fields["isNewsletterOptIn"],
    schema_for("customer").fields["phone"],
    schema_for("order").fields["LastChange"],
    schema_for("order").fields["Origin"],
]


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(OTHER_FIELDS),
    st.one_of(
        st.text(max_size=30),
        st.integers(),
        st.floats(),
        st.none(),
        st.booleans(),
        st.lists(st.integers(), max_size=2),
        st.sampled_from(
            [
                "2026-11-27 12:00:00",
                "2026-11-27T12:00:00.1234567Z",
                "59,70",
                "1.234,56",
                "TRUE",
                "null",
                "+55 (11) 99999-0000",
                "https://www.mystore.com/checkout/cart/add?sku=1",
                "add?sc=1",
                " ",
                "{!x}",
                missing,
            ]
        ),
        st.dictionaries(st.sampled_from(["Account", "Key", "x"]), st.text(max_size=5), max_size=2),
    ),
)
def test_every_fields_short_path_matches_the_generic_path(field, value):
    assert outcome(lambda f, v: f.deserialize(v), field, value) == outcome(generic_path, field, value)


def test_blank_optional_values_are_left_out_and_blank_required_ones_are_missing():
    data = SCHEMA_FOR_KIND["cart"].load(
        {
            "email": "a@b.co",
            "rclastcart": "add?sku=1",
            "firstName": "{!firstName}",
            "rclastcartvalue": " ",
            "createdIn": "",
            "lastName": None,
            "userId": None,
        }
    )
    assert data == {"email": "a@b.co", "rclastcart": "add?sku=1&qty=1&seller=1"}
    with pytest.raises(ValidationError) as exc:
        SCHEMA_FOR_KIND["cart"].load({"email": "{!email}", "rclastcart": ""})
    assert exc.value.messages == {
        "email": ["Missing data for required field."],
        "rclastcart": ["Missing data for required field."],
    }
    with pytest.raises(ValidationError) as exc:
        SCHEMA_FOR_KIND["cart"].load({"email": None, "rclastcart": None})  # null is blank: "missing" too
    assert exc.value.messages == {
        "email": ["Missing data for required field."],
        "rclastcart": ["Missing data for required field."],
    }
    assert Text().deserialize("") is missing and Text().deserialize(None) is missing


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ({"Account": "mystore", "Key": "vtexappkey-x", "Other": 1}, {"Account": "mystore", "Key": "vtexappkey-x"}),
        ({"Account": " ", "Key": "{!Key}"}, {}),
        ({"Account": None, "Key": None}, {}),
        ({}, {}),
    ],
)
def test_origin_keeps_account_and_key(origin, expected):
    data = SCHEMA_FOR_KIND["order"].load({"OrderId": "v1-01", "State": "invoiced", "Origin": origin})
    assert data["Origin"] == expected


@pytest.mark.parametrize(
    ("origin", "errors"),
    [
        ("mystore", ["Not a valid object."]),
        ({"Account": "x" * 65}, {"Account": ["Longer than maximum length 64."]}),
        (
            {"Account": ["mystore"], "Key": "k\x01k"},
            {"Account": ["Not a valid string."], "Key": ["Control characters (CR, LF, ...) are not allowed."]},
        ),
    ],
)
def test_origin_errors_keep_the_nested_shape(origin, errors):
    with pytest.raises(ValidationError) as exc:
        SCHEMA_FOR_KIND["order"].load({"OrderId": "v1-01", "State": "invoiced", "Origin": origin})
    assert exc.value.messages == {"Origin": errors}


# ------------------------------------------------------------------ Master Data triggers: kept, normalised
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
master_data_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "{!firstName}",
            "null",
            "true",
            "FALSE",
            "2026-11-27",
            "2026-11-27 12:00:00.1234567",
            "2026-11-27T12:00:00Z",
            "59.699999999999996",
            "1.234,56",
            "59,70",
            "+55 (11) 99999-0000",
            "11 9999-0000 ramal 2",
            "add?sku=1&qty=1&seller=1",
        ]
    ),
)
master_data_values = st.one_of(
    master_data_scalars,
    st.lists(master_data_scalars, max_size=3),
    st.dictionaries(st.text(max_size=5), master_data_scalars, max_size=3),
)


@st.composite
def messy_triggers(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A CL trigger body with a valid e-mail (and cart) and anything at all in its optional fields."""
    kind = draw(st.sampled_from(["cart", "customer"]))
    body = cart_trigger() if kind == "cart" else customer_trigger()
    optional = [name for name, field in schema_for(kind).fields.items() if not field.required]
    for name in draw(st.lists(st.sampled_from(optional), unique=True)):
        body[name] = draw(master_data_values)
    return kind, body


@settings(max_examples=500, deadline=None)
@given(messy_triggers())
def test_a_trigger_with_email_and_cart_is_always_kept_with_normalised_values(trigger):
    kind, body = trigger
    schema = schema_for(kind, "America/Sao_Paulo")
    data, dropped = schema.load_hook(body)  # never Refused: e-mail and cart are intact
    assert data["email"] == body["email"] and set(dropped).isdisjoint(data)
    assert set(data) | set(dropped) <= set(schema.fields)
    if kind == "cart":
        assert data["rclastcart"] == body["rclastcart"]  # already in the relative form
    for name, value in data.items():
        field = schema.fields[name]
        if isinstance(field, DecimalAmount):
            assert re.fullmatch(r"\d+\.\d\d", value)
        elif isinstance(field, MasterDataDate):
            assert datetime.fromisoformat(value).utcoffset() is not None
        elif isinstance(field, Phone):
            assert re.fullmatch(r"\+?[0-9]{3,20}", value)
        elif isinstance(field, LooseBoolean):
            assert value is True or value is False
        else:
            assert isinstance(value, str) and value == value.strip() and value


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2 * 10**10))
def test_amounts_in_every_written_form_are_the_same_cents(cents):
    expected = Decimal(cents) / 100
    units, rest = divmod(cents, 100)
    en_us = f"{units:,}.{rest:02d}"
    forms = [
        cents / 100,
        f"{units}.{rest:02d}",
        f"{units},{rest:02d}",
        en_us,
        en_us.replace(",", "_").replace(".", ",").replace("_", "."),  # pt-BR: 1.234,56
        f"R$ {en_us.replace(',', '_').replace('.', ',').replace('_', '.')}",
        (cents * 3 / 3) / 100,
    ]
    if cents <= 10**8 * 100:
        for form in forms:
            assert parse_amount(form) == expected, form
    else:
        for form in forms:
            with pytest.raises(ValidationError):
                parse_amount(form)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_float_artifacts_round_to_the_intended_cents(a, b):
    total = a / 100 + b / 100  # what a JavaScript writer adds up: 59.699999999999996 and the like
    assert parse_amount(total) == Decimal(a + b) / 100


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 12, 31)),
    st.sampled_from(["UTC", "America/Sao_Paulo", "America/Bogota", "Europe/Lisbon", "Asia/Kolkata"]),
)
def test_dates_in_every_written_form_are_the_same_instant(naive, zone_name):
    zone = ZoneInfo(zone_name)
    field = schema_for("cart", zone_name).fields["createdIn"]
    local = naive.replace(tzinfo=zone)
    seven = naive.strftime("%Y-%m-%dT%H:%M:%S") + f".{naive.microsecond:06d}7"
    for written in (naive.isoformat(), naive.isoformat(sep=" "), seven, seven.replace("T", " ")):
        kept = datetime.fromisoformat(field.deserialize(written))
        assert kept == local and kept.utcoffset() == local.utcoffset(), written
    aware = naive.replace(tzinfo=UTC)
    for written in (
        aware.isoformat(),
        aware.isoformat().replace("+00:00", "Z"),
        seven + "Z",
        aware.astimezone(SAO_PAULO).isoformat(),
    ):
        assert datetime.fromisoformat(field.deserialize(written)) == aware, written  # an offset wins over the zone
    assert field.deserialize(naive.date().isoformat()) == datetime.combine(naive.date(), time(), zone).isoformat()


@settings(max_examples=300, deadline=None)
@given(
    st.text("0123456789", min_size=3, max_size=20),
    st.booleans(),
    st.lists(st.tuples(st.integers(0, 20), st.sampled_from([" ", ".", "-", "(", ")", "  ", "\u00a0"])), max_size=6),
)
def test_phones_with_any_separators_are_their_digits(digits, plus, separators):
    written = list(digits)
    for position, separator in separators:
        written.insert(min(position, len(written)), separator)
    text = ("+" if plus else "") + "".join(written)
    assert Phone().deserialize(text) == ("+" if plus else "") + digits
    with pytest.raises(ValidationError):
        Phone().deserialize(text + " ramal 12")
