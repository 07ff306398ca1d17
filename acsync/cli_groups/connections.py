"""``acsync connections``: ActiveCampaign Deep Data connections."""

from __future__ import annotations

from typing import Any

import click

from acclient import ACError, ActiveCampaign, DuplicateError
from acsync.cli_groups.common import ac_client, emit, fail, get_store, settings, store_option
from acsync_core.settings import StoreConfig


def create_connection(
    ac: ActiveCampaign, store: StoreConfig, *, name: str | None = None, logo_url: str | None = None
) -> dict[str, Any] | None:
    """Create the store's Deep Data connection; None when ActiveCampaign says it exists. Raises ACError."""
    try:
        return ac.connections.create(
            service="vtex",
            externalid=store.name,
            name=name or store.name,
            logo_url=logo_url or f"{store.store_url}/logo.png",
            link_url=store.store_url,
        )
    except DuplicateError:
        return None


def find_connection(ac: ActiveCampaign, store: StoreConfig) -> dict[str, Any] | None:
    """The store's existing Deep Data connection, if ActiveCampaign lists it."""
    return ac.connections.find(service="vtex", externalid=store.name)


@click.group()
def connections() -> None:
    """ActiveCampaign Deep Data connections (the one-time "Creating Connection ID" step)."""


@connections.command("create")
@store_option
@click.option("--name", help="Shown in ActiveCampaign (default: the store name).")
@click.option("--logo-url", help="Default: <store_url>/logo.png")
@click.option("--json", "as_json", is_flag=True)
def connections_create(store_name: str, name: str | None, logo_url: str | None, as_json: bool) -> None:
    """Create the connection for a store and print its id (put it in connection_id)."""
    config = settings()
    store = get_store(config, store_name)
    ac = ac_client(store, config)
    try:
        connection = create_connection(ac, store, name=name, logo_url=logo_url)
    except ACError as exc:
        fail(f"ActiveCampaign refused: {exc}")
    created = connection is not None
    if connection is None:
        connection = find_connection(ac, store)
    if connection is None:
        fail("ActiveCampaign reports a duplicate connection but it cannot be found")
    verb = "created" if created else "already exists"
    emit(
        {"id": connection["id"], "created": created, "connection": connection},
        as_json,
        f"connection {verb}: id {connection['id']}\nset [stores.{store.name}.activecampaign] "
        f"connection_id = {connection['id']}",
    )


@connections.command("list")
@store_option
@click.option("--json", "as_json", is_flag=True)
def connections_list(store_name: str, as_json: bool) -> None:
    """List the connections of the store's ActiveCampaign account."""
    config = settings()
    store = get_store(config, store_name)
    try:
        rows = list(ac_client(store, config).connections.iterate())
    except ACError as exc:
        fail(f"ActiveCampaign refused: {exc}")
    lines = [f"{c['id']:>5}  {c['service']:<12} {c['externalid']:<24} {c['name']}" for c in rows]
    emit(rows, as_json, "\n".join(["   id  service      externalid               name", *lines]))
