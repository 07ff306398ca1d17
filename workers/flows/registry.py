"""Which flow handles an event of each kind: the registry ``workers.tasks`` runs events through.

Importing it loads every flow; ``workers.flows`` itself and ``workers.flows.context`` load none.
"""

from __future__ import annotations

from collections.abc import Callable

from acsync_core.events import Event
from workers.flows.carts import process_cart
from workers.flows.context import StoreContext
from workers.flows.customers import process_customer
from workers.flows.orders import process_order

Handler = Callable[[Event, StoreContext], str]
"""A flow: takes an event and its store's context (``StoreContext.for_event``), returns the outcome name."""

HANDLERS: dict[str, Handler] = {
    "order": process_order,
    "cart": process_cart,
    "customer": process_customer,
}
