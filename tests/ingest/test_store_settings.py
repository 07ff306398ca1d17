"""The per-store settings ingest and the pipeline read: ``timezone`` and ``marketplace_orders``."""

from __future__ import annotations

from pathlib import Path

import pytest

from acsync_core.settings import ConfigError, load_stores, parse_stores, render_stores_toml
from tests.factories import store_table

ROOT = Path(__file__).resolve().parents[2]


def store(**overrides):
    return parse_stores({"stores": {"mystore": store_table("mystore", **overrides)}}, {})["mystore"]


def test_defaults_are_utc_and_skipping_marketplace_orders():
    config = store()
    assert config.timezone == "UTC" and config.marketplace_orders == "skip"


@pytest.mark.parametrize(
    "name", ["America/Sao_Paulo", "America/Argentina/Buenos_Aires", "Europe/Lisbon", "UTC", "Etc/GMT+3"]
)
def test_iana_time_zones_are_taken(name):
    assert store(timezone=name).timezone == name


@pytest.mark.parametrize(
    "name",
    ["Brasilia", "GMT-3", "-03:00", "utc", "", "America/Sao Paulo", "../../etc/passwd", "/usr/share/zoneinfo/UTC", 3],
)
def test_anything_else_stops_start_up_naming_the_store_and_key(name):
    with pytest.raises(ConfigError) as caught:
        store(timezone=name)
    assert str(caught.value).startswith("stores.mystore.timezone: ")


@pytest.mark.parametrize("value", ["skip", "sync"])
def test_marketplace_orders_is_skip_or_sync(value):
    assert store(marketplace_orders=value).marketplace_orders == value


@pytest.mark.parametrize("value", ["yes", "SKIP", "", True])
def test_any_other_marketplace_orders_value_stops_start_up(value):
    with pytest.raises(ConfigError) as caught:
        store(marketplace_orders=value)
    assert str(caught.value).startswith("stores.mystore.marketplace_orders: ")


def test_the_settings_survive_a_stores_file(tmp_path):
    path = tmp_path / "stores.toml"
    path.write_text(
        render_stores_toml({"mystore": store_table("mystore", timezone="America/Bogota", marketplace_orders="sync")})
    )
    loaded = load_stores(path, {})["mystore"]
    assert (loaded.timezone, loaded.marketplace_orders) == ("America/Bogota", "sync")


def test_the_example_stores_file_sets_and_explains_both():
    text = (ROOT / "stores.example.toml").read_text()
    env = {"MYSTORE_HOOK_SECRET": "s" * 24, "MYSTORE_AC_TOKEN": "t", "MYSTORE_VTEX_KEY": "k", "MYSTORE_VTEX_TOKEN": "v"}
    loaded = load_stores(ROOT / "stores.example.toml", env)["mystore"]
    assert loaded.timezone == "America/Sao_Paulo" and loaded.marketplace_orders == "skip"
    assert '# marketplace_orders = "skip"' in text
    for words in ("Fulfillment", "affiliateId", "marketplaceOrderId", "rclastsessiondate"):
        assert words in text, words
