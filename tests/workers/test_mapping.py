"""Mapping rules for real VTEX orders, on plain dictionaries (fast: no sandbox, no Redis)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from acsync_core.errors import PermanentEventError
from tests.factories import make_settings, store_table
from workers.mapping import (
    ac_line_items,
    ac_order_input,
    is_marketplace_order,
    leaf_category,
    money,
    split_line,
    unmask_soft_alias,
    vtex_line_total,
    vtex_order_total,
)
from workers.vtex.sandbox import make_order

STORE = make_settings("redis://unused", mystore=store_table("mystore")).stores["mystore"]


def item(**fields):
    base = {
        "id": "170",
        "productId": "p17",
        "name": "Banda elástica",
        "quantity": 1,
        "price": 1990,
        "sellingPrice": 1990,
        "refId": "BND-1",
        "detailUrl": "/banda/p",
        "imageUrl": None,
    }
    return {**base, **fields}


def test_the_category_is_the_leaf_vtex_lists_most_specific_first():
    categories = [{"id": 170, "name": "Bandas"}, {"id": 27, "name": "Accesorios"}, {"id": 6, "name": "Deporte"}]
    assert leaf_category(item(additionalInfo={"categoriesIds": "/6/27/170/", "categories": categories})) == "Bandas"
    assert leaf_category(item(additionalInfo={"categoriesIds": "/6/27/170/"})) is None  # old orders: ids only
    assert leaf_category(item()) is None


def test_a_null_selling_price_falls_back_to_the_price_and_a_gift_costs_nothing():
    assert vtex_line_total(item(sellingPrice=None, price=2500, quantity=2)) == 5000
    assert vtex_line_total(item(sellingPrice=0, price=900)) == 0
    with pytest.raises(PermanentEventError):
        vtex_line_total(item(sellingPrice=None, price=None))


@pytest.mark.parametrize(
    ("total", "quantity", "parts"),
    [
        (1000, 3, [(2, 333), (1, 334)]),  # 10.00 for 3: two at 3.33 and one at 3.34
        (999, 3, [(3, 333)]),
        (1, 2, [(1, 0), (1, 1)]),
        (0, 4, [(4, 0)]),
        (7, 1, [(1, 7)]),
    ],
)
def test_a_line_that_does_not_divide_evenly_is_split_so_totals_add_up_exactly(total, quantity, parts):
    assert split_line(total, quantity) == parts
    assert sum(units * price for units, price in parts) == total
    assert sum(units for units, _ in parts) == quantity


def test_price_definition_line_totals_win_and_the_lines_add_up_to_the_items_total():
    uneven = item(
        quantity=3, sellingPrice=333, priceDefinition={"total": 1000, "sellingPrices": [{"value": 333, "quantity": 3}]}
    )
    lines = ac_line_items({"items": [uneven, item(id="31")]}, STORE)
    assert [(li["storeLineItemId"], li["quantity"], li["priceAmount"]) for li in lines] == [
        ("170-0", 2, Decimal("3.33")),
        ("170-0-1", 1, Decimal("3.34")),
        ("31-1", 1, Decimal("19.90")),
    ]
    assert sum(li["priceAmount"] * li["quantity"] for li in lines) == Decimal("29.90")
    assert {li["productStorePrimaryId"] for li in lines[:2]} == {"170"}  # the SKU id, as carts use


def test_the_total_is_value_else_the_sum_of_totals_never_a_silent_zero():
    assert vtex_order_total({"value": 12345}) == 12345
    totals = [
        {"id": "Items", "value": 10000},
        {"id": "Discounts", "value": -500},
        {"id": "Shipping", "value": 990},
        {"id": "Tax", "value": 0},
    ]
    assert vtex_order_total({"totals": totals}) == 10490
    with pytest.raises(PermanentEventError) as caught:
        vtex_order_total({"items": []})
    assert caught.value.reason == "bad_order_data"


def test_money_is_exact_and_amounts_ac_cannot_store_get_a_clear_reason():
    assert money(1999, field="value") == Decimal("19.99")
    assert money(2_147_483_647, field="value") == Decimal("21474836.47")
    with pytest.raises(PermanentEventError) as caught:
        money(2_147_483_648, field="value")
    assert caught.value.reason == "amount_not_storable" and "value" in str(caught.value)
    # CLP shows no decimals; VTEX still sends hundredths: a fraction of a peso is rounded half-even
    assert money(1_990_050, field="value", decimals=0) == Decimal("19900")
    assert money(1_990_150, field="value", decimals=0) == Decimal("19902")


def test_order_number_currency_and_decimals_come_from_the_order():
    order = make_order("1633800577546-01", currency="COP")
    order["sequence"] = "502556"
    order["storePreferencesData"] = {"currencyCode": "CLP", "currencyFormatInfo": {"CurrencyDecimalDigits": 0}}
    order["value"] = 1_990_050
    fields = ac_order_input(order, STORE, historical=False)
    assert fields["orderNumber"] == "1633800577546-01"  # what the customer sees; sequence is internal
    assert fields["currency"] == "clp" and fields["finalAmount"] == Decimal("19900")


def test_marketplace_orders_are_recognised():
    assert is_marketplace_order({"origin": "Fulfillment"})
    assert is_marketplace_order({"origin": "Marketplace", "affiliateId": "BWW"})
    assert is_marketplace_order({"marketplaceOrderId": "264809574701"})
    assert not is_marketplace_order({"origin": "Marketplace", "affiliateId": "", "marketplaceOrderId": ""})


@pytest.mark.parametrize(
    ("alias", "real"),
    [
        ("tobias@hotmail.com-1b.ct.vtex.com.br", "tobias@hotmail.com"),
        ("Ana.Silva@Example.com.br-207700027841b.ct.vtex.com.br", "Ana.Silva@Example.com.br"),
        ("ff2e6348a53a4d449af92be2a1011328@ct.vtex.com.br", None),  # hard alias: Master Data or the conversation
        ("ana@example.com", None),
        ("x-1b.ct.vtex.com.br", None),
        ("", None),
    ],
)
def test_soft_aliases_carry_the_real_address(alias, real):
    assert unmask_soft_alias(alias) == real
