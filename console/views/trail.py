"""An event's trail: every step from the hook to ActiveCampaign's ids, for an event id or a VTEX order id."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from console.context import console_context
from console.masking import Masker
from workers.trail import Trail

bp = Blueprint("trail", __name__)

MAX_NEEDLE = 128
SHOWN_STEP_KEYS = ("at", "step")


def shown_trail(found: list[dict[str, Any]], masker: Masker) -> list[dict[str, Any]]:
    """Each event's steps oldest first, with the seconds since the first step and the details masked."""
    out = []
    for event in found:
        steps = sorted(event.get("steps", []), key=lambda s: float(s.get("at", 0)))
        start = float(steps[0]["at"]) if steps else 0.0
        out.append(
            {
                "event_id": event.get("event_id"),
                "store": event.get("store"),
                "steps": [
                    {
                        "at": float(s.get("at", 0)),
                        "since": float(s.get("at", 0)) - start,
                        "step": s.get("step"),
                        "detail": masker.value({k: v for k, v in s.items() if k not in SHOWN_STEP_KEYS}),
                    }
                    for s in steps
                ],
            }
        )
    return out


@bp.route("/trail")
def search() -> str:
    ctx = console_context()
    needle = (request.args.get("q") or "").strip()[:MAX_NEEDLE]
    results = shown_trail(Trail(ctx.redis).find(needle), ctx.masker) if needle else []
    return render_template("trail.html", needle=needle, results=results)
