"""`make run`'s one-shot mode, from the installed package: its report matches ActiveCampaign's state."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


def test_acsync_run_once_reports_what_reached_activecampaign(redis_url, tmp_path: Path):
    # the console script installed beside this interpreter (make test does not activate the venv)
    acsync = shutil.which("acsync", path=str(Path(sys.executable).parent))
    assert acsync, "the acsync console script is installed with the package"
    env = {**os.environ, "REDIS_URL": redis_url, "ACSYNC_LOG_LEVEL": "WARNING"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    done = subprocess.run(
        [acsync, "run", "--once", "--json", "--workdir", str(tmp_path / "work")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    state = json.loads(Path(report["activecampaign_state_file"]).read_text())["accounts"]["sandbox"]
    orders = state["ecomOrders"]  # the v3 DeepData copies
    cofe = {o["storeOrderId"]: o for o in state["cofe_orders"]}  # what AC's Ecommerce GraphQL API holds

    assert report["hooks"] == {"accepted": 10, "duplicates": 4, "rejected": 1}
    assert report["activecampaign"] == {
        "contacts": len(state["contacts"]),
        "ecom_customers": len(state["ecomCustomers"]),
        "orders": sum(1 for o in cofe.values() if o["normalizedStatus"] != "CANCELLED"),
        "canceled_orders": sum(1 for o in cofe.values() if o["normalizedStatus"] == "CANCELLED"),
        "recovered_carts": sum(1 for o in orders if o["state"] == "3"),
        "abandoned_carts": sum(1 for o in orders if o["state"] == "2"),
        "list_memberships": len(state["contactLists"]),
    }
    # the scenario's expected effect: Ana (2 orders), Dora (masked e-mail resolved), Eva (recovered cart);
    # Bruno's order was created then marked CANCELLED when canceled; Carla's unpaid order was ignored
    assert sorted(o["externalid"][-6:] for o in orders) == ["001-01", "002-01", "003-01", "004-01", "006-01"]
    assert {k[-6:]: o["normalizedStatus"] for k, o in cofe.items()} == {
        "001-01": "COMPLETED",
        "002-01": "COMPLETED",
        "003-01": "CANCELLED",
        "004-01": "COMPLETED",
        "006-01": "COMPLETED",
    }
    assert report["activecampaign"]["recovered_carts"] == 1 and report["activecampaign"]["orders"] == 4
    assert not any("ct.vtex.com.br" in c["email"] for c in state["contacts"])
    assert len({o["externalid"] for o in orders}) == len(orders)  # nothing duplicated
    assert report["outcomes"]["order_canceled"] == 1 and report["outcomes"]["ignored_state"] == 1
    assert report["dead_letters"] == 0 and report["ac_429s"] == 0
    assert report["ac_calls"] > 0
