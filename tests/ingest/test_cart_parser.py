"""acsync_core.cart: rclastcart as stores write it, read and written back in one form.

The forms come from VTEX's abandoned-cart guide (``add?sku=..&qty=..&seller=..&sc=..``), VTEX's cart
URL rule (``/checkout/cart/add?sku=..&qty=..&seller=..&sc=..``, ``sc`` once, the rest per item) and a
production connector (woowup/vtex-woowup-connector) that also takes the whole ``https://`` URL.
Ingest normalises with this parser (tests/ingest/test_triggers.py); the worker parses the result.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acsync_core.cart import (
    CartItem,
    CartParseError,
    EmptyCartError,
    format_cart,
    normalize_rclastcart,
    parse_rclastcart,
)
from acsync_core.errors import PermanentEventError

TWO_ITEMS = "add?sku=20&qty=1&seller=1&sku=4&qty=2&seller=1&sc=1"


@pytest.mark.parametrize(
    "value",
    [
        TWO_ITEMS,
        TWO_ITEMS + "&",  # a trailing &
        "/checkout/cart/" + TWO_ITEMS,
        "checkout/cart/" + TWO_ITEMS,
        "https://www.mystore.com/checkout/cart/" + TWO_ITEMS,
        "http://mystore.vtexcommercestable.com.br/checkout/cart/" + TWO_ITEMS + "&",
        "HTTPS://www.mystore.com/Checkout/Cart/" + TWO_ITEMS,
        "  https://www.mystore.com/checkout/cart/" + TWO_ITEMS + "#recover  ",
        "add?sku=20&qty=1&seller=1&sc=1&sku=4&qty=2&seller=1&sc=1",  # sc per item
        "add?sc=1&sku=20&qty=1&seller=1&sku=4&qty=2&seller=1",  # sc first, as VTEX's cart URL rule writes it
        "add?sku=20&qty=1&seller=1&sku=4&qty=1&seller=1&sku=4&qty=1&seller=1&sc=1",  # one sku twice: merged
        "add?SKU=20&QTY=1&Seller=1&sku=4&qty=2&seller=1&utm_source=mail&sc=1",
    ],
)
def test_every_form_of_the_same_cart_parses_and_normalizes_alike(value):
    parsed = parse_rclastcart(value)
    assert parsed.items == (CartItem("20", 1, "1"), CartItem("4", 2, "1")) and parsed.sales_channel == "1"
    assert normalize_rclastcart(value) == TWO_ITEMS


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        ("add?sku=880010&qty=1&seller=1&sc=1", "add?sku=880010&qty=1&seller=1&sc=1"),  # VTEX's guide example
        ("add?sku=7", "add?sku=7&qty=1&seller=1"),  # quantity and seller default to 1
        ("add?sku=7&qty=&seller=", "add?sku=7&qty=1&seller=1"),
        ("add?sku=7&qty=3&seller=seller%20two&sc=2", "add?sku=7&qty=3&seller=seller%20two&sc=2"),
        ("add?sku=7&sc=1&sku=8&sc=3", "add?sku=7&qty=1&seller=1&sku=8&qty=1&seller=1&sc=3"),  # the last sc counts
        ("add?sku=7&sc=", "add?sku=7&qty=1&seller=1"),
    ],
)
def test_normalized_form(value, normalized):
    assert normalize_rclastcart(value) == normalized
    assert parse_rclastcart(normalized) == parse_rclastcart(value)


@pytest.mark.parametrize(
    "junk",
    [
        "remove?sku=1",
        "add?qty=1",
        "add?sku=1&qty=abc",
        "add?sku=../../x",
        "add?sku=1&qty=0",
        "add?qty=2&sku=1",
        "https://www.mystore.com/cart/add?sku=1",
        "https://www.mystore.com/",
        "https://www.mystore.com/checkout/add?sku=1",
        "?sku=1&qty=1&seller=1",
        "checkout/cartadd?sku=1",
        "add?sku=1&qty=10001",
        "hello",
        "add?sku=1&qty=9999&sku=1&qty=2",  # merged, over the bound: written back it would not parse
        "add?" + "&".join(f"sku={n}" for n in range(101)),
    ],
)
def test_junk_stays_a_permanent_error(junk):
    with pytest.raises(CartParseError) as caught:
        parse_rclastcart(junk)
    assert isinstance(caught.value, PermanentEventError) and caught.value.reason == "unparsable_cart"
    assert not isinstance(caught.value, EmptyCartError)
    with pytest.raises(CartParseError):
        normalize_rclastcart(junk)


@pytest.mark.parametrize(
    "empty",
    [
        "",
        "add?",
        "add",
        "add?sc=1",
        "add?sc=1&",
        "/checkout/cart/",
        "https://www.mystore.com/checkout/cart/",
        "https://www.mystore.com/checkout/cart",
        "/checkout/cart/add?utm_source=mail",
    ],
)
def test_a_cart_without_any_item_is_empty(empty):
    with pytest.raises(EmptyCartError) as caught:
        parse_rclastcart(empty)
    assert caught.value.reason == "unparsable_cart"  # still a permanent error for the worker


sku_ids = st.text("0123456789abcXYZ_-", min_size=1, max_size=12)
items = st.lists(
    st.tuples(sku_ids, st.integers(1, 1_250), st.sampled_from(["1", "2", "sellerb"])), min_size=1, max_size=8
)  # 8 x 1,250: a repeated sku stays within the 10,000 bound


@st.composite
def written_carts(draw: st.DrawFn) -> tuple[str, list[tuple[str, int, str]], str | None]:
    """A cart as some store's trigger writes it: any prefix, sc anywhere or per item, decorations."""
    chosen = draw(items)
    sales_channel = draw(st.none() | st.sampled_from(["1", "2", "10"]))
    per_item = draw(st.booleans())
    pairs = []
    for sku, qty, seller in chosen:
        pairs += [f"sku={sku}", f"qty={qty}", f"seller={seller}"]
        if sales_channel and per_item:
            pairs.append(f"sc={sales_channel}")
    if sales_channel and not per_item:
        pairs.insert(draw(st.integers(0, len(pairs))), f"sc={sales_channel}")
    if draw(st.booleans()):
        pairs.insert(draw(st.integers(0, len(pairs))), "utm_campaign=cart")
    prefix = draw(
        st.sampled_from(
            [
                "",
                "/checkout/cart/",
                "https://www.mystore.com/checkout/cart/",
                "http://mystore.vtexcommercestable.com.br/checkout/cart/",
            ]
        )
    )
    trailing = draw(st.sampled_from(["", "&", "&&"]))
    return prefix + "add?" + "&".join(pairs) + trailing, chosen, sales_channel


@settings(max_examples=300, deadline=None)
@given(written_carts())
def test_any_written_cart_normalizes_to_one_form_that_parses_the_same(written):
    value, chosen, sales_channel = written
    normalized = normalize_rclastcart(value)
    assert normalized == format_cart(parse_rclastcart(value))  # the regex short path changes nothing
    assert normalized.startswith("add?sku=") and not normalized.endswith("&")
    assert normalize_rclastcart(normalized) == normalized  # idempotent
    parsed = parse_rclastcart(value)
    assert parse_rclastcart(normalized) == parsed
    assert parsed.sales_channel == sales_channel and normalized.count("sc=") == (1 if sales_channel else 0)
    totals: dict[tuple[str, str], int] = {}
    for sku, qty, seller in chosen:
        totals[(sku, seller)] = totals.get((sku, seller), 0) + qty
    assert {(i.sku, i.seller): i.quantity for i in parsed.items} == totals


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_anything_else_parses_or_raises_cart_parse_error(value):
    try:
        normalized = normalize_rclastcart(value)
    except CartParseError:
        with pytest.raises(CartParseError):
            parse_rclastcart(value)
        return
    assert normalized == format_cart(parse_rclastcart(value))
    assert normalize_rclastcart(normalized) == normalized


@pytest.mark.parametrize(
    "value",
    [
        "add?sku=1&qty=1&seller=1",
        "add?sku=1&qty=1&seller=1&sku=2&qty=3&seller=2&sc=1",
        "add?sku=1&qty=1&seller=1&sku=1&qty=2&seller=1",  # a repeated sku: the short path must not take it
        "add?sku=1&qty=1&seller=1&sku=1&qty=2&seller=2",  # the same sku from two sellers: two items
        "add?" + "&".join(f"sku={n}&qty=1&seller=1" for n in range(100)),
        "add?sku=1&qty=9999&seller=1",
        "add?sku=1&qty=0100&seller=1",
    ],
)
def test_the_short_path_gives_what_parsing_gives(value):
    assert normalize_rclastcart(value) == format_cart(parse_rclastcart(value))
