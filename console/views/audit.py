"""The audit log: who replayed, purged or revealed what, and when."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from console.audit import ACTIONS
from console.context import console_context

bp = Blueprint("audit", __name__)


@bp.route("/audit")
def index() -> str:
    ctx = console_context()
    action = request.args.get("action") or None
    rows = ctx.audit.recent(500, actions=(action,) if action in ACTIONS else None)
    return render_template("audit.html", rows=ctx.masker.value(rows), action=action, actions=ACTIONS)
