"""Schema details that the hook tests do not reach: Text's short path, blanks, the Origin field."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, missing, validate

from ingest.schemas import SAFE_ID, SCHEMA_FOR_KIND, Email, Text

FIELDS = [Text(), Text(max_length=8), Text(required=True), Email(), Email(required=True),
          Text(validate=validate.Regexp(SAFE_ID, error="Not a valid VTEX order id."))]
SAMPLES = [" ", "", "{!firstName}", "  {!x}  ", "{not a placeholder", "ana", " ana ", "a" * 9, "a\nb", "a\x00",
           "ana@example.com", " ana@example.com ", "ana@", "v1-01", "v1 01", 12, 1.5, True, None, ["a"], {"a": 1}]


def generic_path(field: Text, value: Any) -> Any:
    """Field.deserialize's own steps (skipping Text's short path), as marshmallow would run them."""
    return super(Text, field).deserialize(value)


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


def test_blank_optional_values_are_left_out_and_blank_required_ones_are_missing():
    data = SCHEMA_FOR_KIND["cart"].load({"email": "a@b.co", "rclastcart": "add?sku=1", "firstName": "{!firstName}",
                                         "rclastcartvalue": " ", "createdIn": ""})
    assert data == {"email": "a@b.co", "rclastcart": "add?sku=1"}
    with pytest.raises(ValidationError) as exc:
        SCHEMA_FOR_KIND["cart"].load({"email": "{!email}", "rclastcart": ""})
    assert exc.value.messages == {"email": ["Missing data for required field."],
                                  "rclastcart": ["Missing data for required field."]}
    assert Text().deserialize("") is missing


@pytest.mark.parametrize(("origin", "expected"), [
    ({"Account": "mystore", "Key": "vtexappkey-x", "Other": 1}, {"Account": "mystore", "Key": "vtexappkey-x"}),
    ({"Account": " ", "Key": "{!Key}"}, {}),
    ({}, {}),
])
def test_origin_keeps_account_and_key(origin, expected):
    data = SCHEMA_FOR_KIND["order"].load({"OrderId": "v1-01", "State": "invoiced", "Origin": origin})
    assert data["Origin"] == expected


@pytest.mark.parametrize(("origin", "errors"), [
    ("mystore", ["Not a valid object."]),
    ({"Account": "x" * 65}, {"Account": ["Longer than maximum length 64."]}),
    ({"Account": None, "Key": "k\x01k"}, {"Account": ["Field may not be null."],
                                      "Key": ["Control characters (CR, LF, ...) are not allowed."]}),
])
def test_origin_errors_keep_the_nested_shape(origin, errors):
    with pytest.raises(ValidationError) as exc:
        SCHEMA_FOR_KIND["order"].load({"OrderId": "v1-01", "State": "invoiced", "Origin": origin})
    assert exc.value.messages == {"Origin": errors}
