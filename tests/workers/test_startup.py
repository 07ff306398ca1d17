"""A worker's start-up: its worker_init handler loads the settings once, and every runtime of the worker is
built from that one object (workers.runtime's contract); without worker_init the runtime loads them itself."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from celery.signals import worker_init

from acsync_core import settings as settings_module
from acsync_core.settings import Settings, render_stores_toml
from tests.factories import store_table
from workers import runtime as runtime_module
from workers import tasks


class FakeSweeper:
    """Stands in for the pending ledger's sweeper thread: records what it was given."""

    made: list[FakeSweeper] = []

    def __init__(self, client: Any, *, node: str = "", interval: float | None = None, grace: float | None = None):
        self.client, self.node, self.interval, self.grace = client, node, interval, grace
        self.started = False
        FakeSweeper.made.append(self)

    def start(self) -> None:
        self.started = True


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch, redis_url: str, tmp_path: Path) -> Iterator[list[Settings]]:
    """A worker's environment and stores file; every load of the settings, wherever it happens, is listed."""
    stores = tmp_path / "stores.toml"
    stores.write_text(render_stores_toml({"mystore": store_table("mystore")}))
    monkeypatch.setenv("ACSYNC_STORES", str(stores))
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("ACSYNC_SWEEP_INTERVAL_SECONDS", "7")
    monkeypatch.delenv("ACSYNC_WORKER_METRICS_PORT", raising=False)
    made: list[Settings] = []
    real = settings_module.load_settings

    def counted(env: Mapping[str, str] | None = None) -> Settings:
        made.append(real(env))
        return made[-1]

    monkeypatch.setattr(tasks, "load_settings", counted)
    monkeypatch.setattr(runtime_module, "load_settings", counted)
    monkeypatch.setattr(tasks.pending, "Sweeper", FakeSweeper)
    monkeypatch.setattr(tasks, "_node", "")
    monkeypatch.setattr(runtime_module, "_settings", None)  # a fresh process: nothing installed, no runtime
    monkeypatch.setattr(runtime_module, "_runtime", None)
    FakeSweeper.made = []
    yield made
    built = runtime_module._runtime
    if built is not None:
        built.redis.close()


def test_worker_init_loads_the_settings_once_and_the_runtime_is_built_from_that_object(loads):
    worker_init.send(sender=None)  # what `celery worker` sends in its main process before the pool forks
    assert len(loads) == 1
    (sweeper,) = FakeSweeper.made
    assert sweeper.started and sweeper.interval == 7.0 and sweeper.node == tasks._node != ""
    # a prefork child (or the main process itself with the solo pool): its first runtime, then the same one
    built = runtime_module.get_runtime()
    assert built.settings is loads[0] and set(built.settings.stores) == {"mystore"}
    assert runtime_module.get_runtime() is built
    assert len(loads) == 1  # neither the runtime nor a second call read the environment or the stores file again


def test_a_bad_configuration_stops_the_worker_before_anything_is_installed(loads, monkeypatch, tmp_path):
    monkeypatch.setenv("ACSYNC_STORES", str(tmp_path / "missing.toml"))
    with pytest.raises(SystemExit, match=r"acsync worker: bad configuration: .*missing\.toml: stores file not found"):
        worker_init.send(sender=None)
    assert runtime_module._settings is None and FakeSweeper.made == []


def test_without_worker_init_the_runtime_loads_the_settings_itself_once(loads):
    built = runtime_module.get_runtime()
    assert len(loads) == 1 and built.settings is loads[0]
    assert runtime_module.get_runtime() is built and len(loads) == 1
