"""What the VTEX sandbox serves and tests seed: realistic OMS orders (``make_order``) and default SKUs and prices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any


def sku_price(sku_id: str) -> int:
    """Deterministic price in cents for an unseeded SKU."""
    digits = int("".join(ch for ch in sku_id if ch.isdigit()) or "0")
    return 1000 + (digits * 137) % 9000


def default_sku(sku_id: str) -> dict[str, Any]:
    return {
        "Id": int(sku_id) if sku_id.isdigit() else sku_id,
        "ProductId": f"p{sku_id}",
        "NameComplete": f"Product {sku_id}",
        "ProductName": f"Product {sku_id}",
        "SkuName": "Default",
        "DetailUrl": f"/product-{sku_id}/p",
        "ImageUrl": f"https://mystore.vteximg.com.br/arquivos/ids/{sku_id}00-55-55/product-{sku_id}.jpg",
        "Images": [
            {
                "ImageUrl": f"https://mystore.vteximg.com.br/arquivos/ids/{sku_id}00/product-{sku_id}.jpg",
                "FileId": int(sku_id) * 100 if sku_id.isdigit() else 1,
            }
        ],
        "ProductCategories": {"9": "Clothing", "21": "Shirts"},
        "IsActive": True,
        "BrandName": "Brand",
    }


# A product's category path, department first (as ``categoriesIds`` spells it: "/9/21/").
DEFAULT_CATEGORY_PATH: tuple[tuple[int, str], ...] = ((9, "Clothing"), (21, "Shirts"))
DEFAULT_IMAGE_URL = "https://{account}.vteximg.com.br/arquivos/ids/{sku}00-55-55/product-{sku}.jpg"
MARKETPLACE_NAME = "Loja_Exemplo"


def price_definition(total: int, quantity: int) -> dict[str, Any]:
    """VTEX's ``priceDefinition`` of a line: the exact ``total`` and the unit prices that make it up.

    A total that does not divide evenly by the quantity is listed as VTEX does, as groups of units at
    whole-cent prices (3 units for 1000: 2 at 333 and 1 at 334); ``calculatedSellingPrice`` is the
    rounded-down unit price, which times the quantity misses the total.
    """
    quantity = max(1, quantity)
    unit, rest = divmod(total, quantity)
    selling = [{"value": unit, "quantity": quantity - rest}] + ([{"value": unit + 1, "quantity": rest}] if rest else [])
    return {
        "sellingPrices": [s for s in selling if s["quantity"]],
        "calculatedSellingPrice": unit,
        "total": total,
        "reason": None,
    }


def marketplace_order_id(order_id: str, affiliate_id: str, marketplace_name: str = MARKETPLACE_NAME) -> str:
    """The id VTEX gives an order fulfilled for a marketplace (``BWW-Lojas_Americanas-264809574701``).

    An id already in that form is kept; otherwise its digits become the marketplace's order number.
    """
    if order_id.startswith(f"{affiliate_id}-") and order_id.count("-") >= 2:
        return order_id
    digits = "".join(ch for ch in order_id if ch.isdigit()) or "0"
    return f"{affiliate_id}-{marketplace_name}-{digits}"


def vtex_time(moment: datetime, fraction: str = "0000000") -> str:
    """A UTC ``moment`` as VTEX writes it, with seven digits of fractional seconds
    (``2026-11-27T13:00:00.0000000+00:00``); ``make_order`` gives ``lastChange`` the fraction ``1234567``."""
    return moment.isoformat().replace("+00:00", f".{fraction}+00:00")


def make_order(
    order_id: str,
    *,
    email: str = "ana@example.com",
    status: str = "payment-approved",
    items: list[tuple[str, int, int]] | None = None,
    shipping: int = 1000,
    discount: int = 0,
    tax: int = 0,
    last_change: datetime | None = None,
    created: datetime | None = None,
    currency: str = "BRL",
    first_name: str = "Ana",
    last_name: str = "Silva",
    user_profile_id: str = "u-ana",
    account: str = "mystore",
    category_path: Sequence[tuple[int, str]] = DEFAULT_CATEGORY_PATH,
    with_categories: bool = True,
    ref_id: str | None = "REF-{sku}",
    image_url: str | None = DEFAULT_IMAGE_URL,
    line_totals: Mapping[str, int] | None = None,
    item_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    marketplace: bool = False,
    affiliate_id: str = "BWW",
    legacy: bool = False,
    decimal_digits: int = 2,
    opt_in: bool | None = None,
) -> dict[str, Any]:
    """A realistic OMS order (Get order), shaped like real VTEX orders. ``items`` are (sku_id, quantity,
    unit price in cents); amounts are integer hundredths of the currency unit for every currency.

    * ``additionalInfo.categories`` lists ``category_path`` from the most specific category to the
      department, as VTEX does; ``categoriesIds`` spells it department first (``"/9/21/"``).
      ``with_categories=False`` leaves ``categories`` out (older orders carry only ``categoriesIds``).
    * ``ref_id`` / ``image_url`` are templates (``{sku}``, ``{account}``); ``None`` makes the field null.
    * Every item has a ``priceDefinition`` whose ``total`` is the unit price x quantity, unless
      ``line_totals`` gives a SKU's exact line total (e.g. 1000 for 3 units of 400): its ``sellingPrice``
      is then the rounded-down unit price, ``priceDefinition`` lists the unit groups and what the total
      takes off price x quantity is a promotion (a price tag, and in the Discounts total).
    * ``item_overrides`` (per SKU id) is merged into the item last, verbatim: ``{"sellingPrice": None}``,
      ``{"isGift": True}``, ``{"priceDefinition": None}``...
    * ``marketplace=True``: an order the store fulfils for a marketplace: ``origin`` "Fulfillment",
      ``affiliateId``, ``marketplaceOrderId`` and an order id such as ``BWW-Loja_Exemplo-70001``
      (``marketplace_order_id``; read it from the result).
    * ``legacy=True``: an old-style order (2017): no ``storePreferencesData``, no ``priceDefinition``, no
      ``clientPreferencesData`` and no ``categories`` key.
    * ``opt_in`` sets ``clientPreferencesData.optinNewsLetter`` (left out when None).
    """
    items = items or [("20", 1, 4990)]
    line_totals = line_totals or {}
    item_overrides = item_overrides or {}
    created = created or datetime(2026, 11, 27, 13, 0, tzinfo=UTC)
    last_change = last_change or created + timedelta(minutes=5)
    order_id, sequence = _order_id_and_sequence(order_id, marketplace=marketplace, affiliate_id=affiliate_id)
    style = _line_style(
        account=account,
        ref_id=ref_id,
        image_url=image_url,
        category_path=category_path,
        with_categories=with_categories,
        legacy=legacy,
    )
    lines = [(sku, qty, price, line_totals.get(sku, qty * price)) for sku, qty, price in items]
    order_items = [
        {**_order_item(sku, qty, price, total, style), **item_overrides.get(sku, {})}
        for sku, qty, price, total in lines
    ]
    items_total = sum(qty * price for _sku, qty, price, _total in lines)
    promotions = sum(qty * price - total for _sku, qty, price, total in lines)
    order: dict[str, Any] = {
        "orderId": order_id,
        "sequence": sequence,
        "status": status,
        **_sales_channel_fields(order_id, marketplace=marketplace, affiliate_id=affiliate_id),
        "hostname": account,
        "value": items_total - promotions + shipping + tax - discount,
        "creationDate": vtex_time(created),
        "lastChange": vtex_time(last_change, fraction="1234567"),
        "totals": _totals(
            items_total=items_total, discount=discount, promotions=promotions, shipping=shipping, tax=tax
        ),
        "items": order_items,
        "clientProfileData": _client_profile(
            email=email, first_name=first_name, last_name=last_name, user_profile_id=user_profile_id
        ),
        "storePreferencesData": _store_preferences(currency=currency, decimal_digits=decimal_digits),
        "shippingData": _shipping_data(len(order_items)),
        "marketingData": None,
    }
    if marketplace:
        order["marketplace"] = _marketplace_data(affiliate_id)
    if opt_in is not None and not legacy:
        order["clientPreferencesData"] = {"locale": "pt-BR", "optinNewsLetter": opt_in}
    if legacy:
        del order["storePreferencesData"]
    return order


def _order_id_and_sequence(order_id: str, *, marketplace: bool, affiliate_id: str) -> tuple[str, str]:
    """The order's id and ``sequence``; a marketplace order's id is ``marketplace_order_id``'s, its sequence the
    digits of ``order_id``."""
    if marketplace:
        digits = "".join(ch for ch in order_id if ch.isdigit()) or "0"
        return marketplace_order_id(order_id, affiliate_id), digits
    return order_id, order_id.split("-")[0].lstrip("v")


@dataclass(frozen=True)
class _LineStyle:
    """What every line of one order shares: the store account, the refId and imageUrl templates, categories."""

    account: str
    ref_id: str | None
    image_url: str | None
    categories_ids: str
    categories: tuple[tuple[int, str], ...] | None  # most specific first; None leaves the key out
    legacy: bool

    def fill(self, template: str | None, sku: str) -> str | None:
        return template.format(sku=sku, account=self.account) if template is not None else None

    def additional_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"brandName": "Brand", "brandId": "2000001", "categoriesIds": self.categories_ids}
        if self.categories is not None:
            info["categories"] = [{"id": cid, "name": name} for cid, name in self.categories]
        return info


def _line_style(
    *,
    account: str,
    ref_id: str | None,
    image_url: str | None,
    category_path: Sequence[tuple[int, str]],
    with_categories: bool,
    legacy: bool,
) -> _LineStyle:
    path = tuple(category_path)
    return _LineStyle(
        account=account,
        ref_id=ref_id,
        image_url=image_url,
        categories_ids="/" + "".join(f"{cid}/" for cid, _name in path) if path else "/",
        categories=tuple(reversed(path)) if with_categories and not legacy else None,
        legacy=legacy,
    )


def _order_item(sku: str, quantity: int, price: int, total: int, style: _LineStyle) -> dict[str, Any]:
    """One line of ``items``; what ``total`` takes off price x quantity shows as a price tag, as VTEX does."""
    promotion = quantity * price - total
    line: dict[str, Any] = {
        "id": sku,
        "productId": f"p{sku}",
        "name": f"Product {sku}",
        "quantity": quantity,
        "seller": "1",
        "refId": style.fill(style.ref_id, sku),
        "price": price,
        "listPrice": price,
        "sellingPrice": total // max(1, quantity),
        "priceTags": [{"name": "DISCOUNT@MARKETPLACE", "value": -promotion, "isPercentual": False}]
        if promotion
        else [],
        "imageUrl": style.fill(style.image_url, sku),
        "detailUrl": f"/product-{sku}/p",
        "additionalInfo": style.additional_info(),
        "measurementUnit": "un",
        "unitMultiplier": 1,
        "isGift": False,
    }
    if not style.legacy:
        line["priceDefinition"] = price_definition(total, quantity)
    return line


def _totals(*, items_total: int, discount: int, promotions: int, shipping: int, tax: int) -> list[dict[str, Any]]:
    return [
        {"id": "Items", "name": "Items", "value": items_total},
        {"id": "Discounts", "name": "Discounts", "value": -(discount + promotions)},
        {"id": "Shipping", "name": "Shipping", "value": shipping},
        {"id": "Tax", "name": "Tax", "value": tax},
    ]


def _sales_channel_fields(order_id: str, *, marketplace: bool, affiliate_id: str) -> dict[str, Any]:
    """``marketplaceOrderId``, ``origin``, ``affiliateId`` and ``salesChannel``: the store's own or a marketplace's."""
    if not marketplace:
        return {"marketplaceOrderId": "", "origin": "Marketplace", "affiliateId": "", "salesChannel": "1"}
    return {
        "marketplaceOrderId": order_id.split("-", 1)[1],
        "origin": "Fulfillment",
        "affiliateId": affiliate_id,
        "salesChannel": "8",
    }


def _marketplace_data(affiliate_id: str) -> dict[str, Any]:
    return {
        "baseURL": f"http://oms.vtexinternal.com.br/api/oms?an={affiliate_id.lower()}",
        "isCertified": None,
        "name": MARKETPLACE_NAME,
    }


def _client_profile(*, email: str, first_name: str, last_name: str, user_profile_id: str) -> dict[str, Any]:
    return {
        "email": email,
        "firstName": first_name,
        "lastName": last_name,
        "phone": "+5511999990000",
        "userProfileId": user_profile_id,
        "document": "1",
    }


def _store_preferences(*, currency: str, decimal_digits: int) -> dict[str, Any]:
    return {
        "currencyCode": currency,
        "countryCode": "BRA",
        "currencyFormatInfo": {"CurrencyDecimalDigits": decimal_digits},
    }


def _shipping_data(item_count: int) -> dict[str, Any]:
    return {"logisticsInfo": [{"itemIndex": i, "selectedSla": "Normal", "price": 0} for i in range(item_count)]}
