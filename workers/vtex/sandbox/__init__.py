"""A local VTEX serving the endpoints the pipeline reads, from seeded data (``acsync sandbox vtex``).

Seed it with ``POST /__sandbox/orders`` (a full OMS order, see ``make_order``; ``/__sandbox/orders/bulk``
takes a list of them), ``/__sandbox/customers`` and ``/__sandbox/conversations``. SKUs and simulation
prices exist for any numeric SKU id (deterministic), unless seeded. Private endpoints require the app
key and token. Faults as in the ActiveCampaign sandbox (``POST /__sandbox/faults``). List orders keeps
VTEX's cap of 30 pages per query (``LIST_ORDERS_MAX_PAGES``).

Modules: ``state`` (``VTEXSandboxConfig``, the records in ``VTEXState``, and ``VTEXSandbox``, what the
blueprints share), ``records`` (``make_order``, default SKUs and prices, ``vtex_time``), ``app``
(``create_app``), and one blueprint each: ``pipeline`` (request counts, auth, faults), ``oms`` (orders),
``masterdata`` (CL), ``catalog`` (SKUs), ``checkout`` (simulation), ``hooks`` (hook configuration),
``control`` (``/__sandbox/*``).
"""

from workers.vtex.sandbox.app import create_app
from workers.vtex.sandbox.oms import LIST_ORDERS_MAX_PAGES, LIST_ORDERS_MAX_PER_PAGE, parse_time
from workers.vtex.sandbox.records import (
    DEFAULT_CATEGORY_PATH,
    DEFAULT_IMAGE_URL,
    MARKETPLACE_NAME,
    default_sku,
    make_order,
    marketplace_order_id,
    price_definition,
    sku_price,
    vtex_time,
)
from workers.vtex.sandbox.state import (
    DEFAULT_APP_KEY,
    DEFAULT_APP_TOKEN,
    VTEXSandbox,
    VTEXSandboxConfig,
    VTEXState,
)

__all__ = [
    "DEFAULT_APP_KEY",
    "DEFAULT_APP_TOKEN",
    "DEFAULT_CATEGORY_PATH",
    "DEFAULT_IMAGE_URL",
    "LIST_ORDERS_MAX_PAGES",
    "LIST_ORDERS_MAX_PER_PAGE",
    "MARKETPLACE_NAME",
    "VTEXSandbox",
    "VTEXSandboxConfig",
    "VTEXState",
    "create_app",
    "default_sku",
    "make_order",
    "marketplace_order_id",
    "parse_time",
    "price_definition",
    "sku_price",
    "vtex_time",
]
