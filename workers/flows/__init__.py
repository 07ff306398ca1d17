"""The VTEX side of an event: one flow per kind, each fetching, resolving and mapping what it needs.

Each handler takes an event and a ``StoreContext`` (``workers.flows.context``) and returns an outcome
name. Handlers spend VTEX's budget only (the order, the customer behind a masked e-mail, SKUs, cart
prices); what ActiveCampaign must receive goes through ``ctx.handoff`` to the account's outbox.

* ``orders``: ``process_order`` (and ``resolve_email``, the buyer's real address);
* ``carts``: ``process_cart`` (and ``price_cart``; SKU details from ``workers.catalog``);
* ``customers``: ``process_customer``;
* ``registry``: ``HANDLERS``, kind -> handler.

Importing the package loads no flow; ``workers.flows.registry`` loads them all.
"""
