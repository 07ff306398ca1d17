"""The overview: per store and per ActiveCampaign account, the last hour minute by minute."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from console.context import console_context
from console.figures import gather

bp = Blueprint("overview", __name__)


@bp.route("/")
def index() -> str:
    ctx = console_context()
    refresh = request.args.get("refresh", type=int)
    if refresh is not None:
        refresh = min(300, max(5, refresh))
    overview = gather(ctx.settings, ctx.redis)
    for store in overview.stores:  # the check's messages quote URLs VTEX holds: shown through the masker
        store.hook = ctx.masker.value(store.hook)
    return render_template("overview.html", o=overview, refresh=refresh)
