"""``create_app``: one ``VTEXSandbox`` (records, configuration, faults) and the blueprints over it."""

from __future__ import annotations

from flask import Flask

from acclient.sandbox.faults import FaultInjector
from workers.vtex.sandbox.catalog import create_catalog_blueprint
from workers.vtex.sandbox.checkout import create_checkout_blueprint
from workers.vtex.sandbox.control import create_control_blueprint
from workers.vtex.sandbox.hooks import create_hooks_blueprint
from workers.vtex.sandbox.masterdata import create_masterdata_blueprint
from workers.vtex.sandbox.oms import create_oms_blueprint
from workers.vtex.sandbox.pipeline import create_pipeline_blueprint
from workers.vtex.sandbox.state import VTEXSandbox, VTEXSandboxConfig, VTEXState


def create_app(config: VTEXSandboxConfig | None = None) -> Flask:
    config = config or VTEXSandboxConfig()
    app = Flask("workers.vtex.sandbox")
    state = VTEXState()
    sandbox = VTEXSandbox(state=state, config=config, faults=FaultInjector(config.faults, seed=config.seed))
    app.extensions["vtex_sandbox"] = {"state": state, "config": config}
    app.register_blueprint(create_pipeline_blueprint(sandbox))
    app.register_blueprint(create_oms_blueprint(sandbox))
    app.register_blueprint(create_masterdata_blueprint(sandbox))
    app.register_blueprint(create_catalog_blueprint(sandbox))
    app.register_blueprint(create_checkout_blueprint(sandbox))
    app.register_blueprint(create_hooks_blueprint(sandbox))
    app.register_blueprint(create_control_blueprint(sandbox))
    return app
