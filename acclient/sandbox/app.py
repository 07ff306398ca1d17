"""A faithful local ActiveCampaign v3 (the endpoints acclient uses), as a Flask application.

It enforces what the real API enforces: the ``Api-Token`` header (403), required fields and types
(422 with AC's ``errors[]`` shape), duplicates (422 ``code: duplicate``), 5 requests per second per
account (429 + ``Retry-After``), pagination with ``limit``/``offset``, ``filters[..]`` and
``orders[..]``. Ids come back as strings, as AC sends them.

``create_app`` builds one ``SandboxState`` (``runtime``) and registers blueprints over it:

- ``v3_pipeline``: auth, rate limit, injected faults and the request log of ``/api/3/*``, and the JSON error
  answers (``v3_common`` holds the error shapes and helpers the v3 blueprints share);
- ``v3_contacts``: contacts and list memberships; ``v3_ecommerce``: connections, customers, orders and carts;
- ``graphql_api``: the Ecommerce GraphQL API; ``bulk_import_api``: the bulk contact import;
- ``runtime``: applies delayed work and serves ``/__sandbox/config``; ``inspection_api``: the other
  ``/__sandbox/*`` routes (not part of the API) to inspect state and the request log, reset, and change faults.
"""

from __future__ import annotations

from flask import Flask

from acclient.sandbox.bulk_import_api import create_bulk_import_blueprint
from acclient.sandbox.faults import FaultInjector, SandboxConfig, SlidingWindowLimiter
from acclient.sandbox.graphql_api import create_graphql_blueprint
from acclient.sandbox.inspection_api import create_inspection_blueprint
from acclient.sandbox.runtime import SandboxState, create_control_blueprint
from acclient.sandbox.store import SandboxStore
from acclient.sandbox.v3_contacts import create_contacts_blueprint
from acclient.sandbox.v3_ecommerce import create_ecommerce_blueprint
from acclient.sandbox.v3_pipeline import create_v3_pipeline_blueprint


def create_app(config: SandboxConfig | None = None) -> Flask:
    config = config or SandboxConfig()
    app = Flask("acclient.sandbox")
    store = SandboxStore()
    limiter = SlidingWindowLimiter(config.requests_per_second)
    faults = FaultInjector(config.faults, seed=config.seed)
    state = SandboxState(store=store, config=config, faults=faults)
    app.extensions["ac_sandbox"] = {
        "store": store,
        "config": config,
        "limiter": limiter,
        "faults": faults,
        "state": state,
    }
    # The pipeline first: its guard (auth, rate limit, faults) runs before the control blueprint's delayed work.
    app.register_blueprint(create_v3_pipeline_blueprint(state, limiter))
    app.register_blueprint(create_contacts_blueprint(state))
    app.register_blueprint(create_ecommerce_blueprint(state))
    app.register_blueprint(create_control_blueprint(state))
    app.register_blueprint(create_graphql_blueprint(state))
    app.register_blueprint(create_bulk_import_blueprint(state))
    app.register_blueprint(create_inspection_blueprint(state))
    return app
