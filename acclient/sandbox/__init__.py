"""A local ActiveCampaign for tests, benchmarks and the local run (``acsync sandbox ac``)."""

from acclient.sandbox.app import create_app
from acclient.sandbox.faults import DEFAULT_TOKEN, Faults, SandboxConfig
from acclient.sandbox.server import BackgroundServer

__all__ = ["DEFAULT_TOKEN", "BackgroundServer", "Faults", "SandboxConfig", "create_app"]
