"""The dead-letter queue: list with filters, an entry's page, replay and purge behind a confirmation."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from acsync_core.events import KINDS
from console import dlqview
from console.context import ConsoleContext, console_context
from console.dlqview import DLQQuery, FilterError
from console.views.auth import client_address, operator_required

bp = Blueprint("dlq", __name__)

ENTRY_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
ACTIONS = ("replay", "purge")
AUDITED_IDS = 1000  # the ids a bulk action records in its audit entry (the count is always there)


def _query(args: Mapping[str, str]) -> DLQQuery:
    try:
        return DLQQuery.from_args(args)
    except FilterError as exc:
        abort(400, description=str(exc))


def _entry_or_404(ctx: ConsoleContext, entry_id: str) -> dict[str, Any]:
    if not ENTRY_ID_RE.match(entry_id):
        abort(404)
    entry = ctx.dlq.get(entry_id)
    if entry is None:
        abort(404)
    return entry


@bp.route("/dlq")
def index() -> str:
    ctx = console_context()
    try:
        query = DLQQuery.from_args(request.args)
        error = None
    except FilterError as exc:
        query, error = DLQQuery(), str(exc)
    found = dlqview.listing(ctx.dlq, query)
    rows = [
        {**e, "error": ctx.masker.text(e.get("error", "")), "reason": ctx.masker.text(e["reason"])}
        for e in found.entries
    ]
    stores = sorted(set(ctx.settings.stores) | set(found.stores))
    return render_template(
        "dlq_list.html", query=query, rows=rows, listing=found, error=error, kinds=KINDS, stores=stores
    )


def replays_with_users(replays: list[dict[str, Any]], actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entry's replay history, each with who did it when the console did (the audit entry follows the
    replay within the request); a replay from ``acsync dlq replay`` has no audit entry."""
    audited = sorted((a for a in actions if a.get("action") == "replay"), key=lambda a: a["at"])
    out = []
    for replay in replays:
        by = next((a["user"] for a in audited if 0 <= a["at"] - replay["at"] < 60), None)
        out.append({**replay, "by": by})
    return out


def render_entry(ctx: ConsoleContext, entry: dict[str, Any], *, reveal: bool = False) -> str:
    event = ctx.masker.value(entry["event"], reveal=reveal)
    attempts = [{**a, "error": ctx.masker.text(str(a.get("error", "")), reveal=reveal)} for a in entry["attempts"]]
    actions = ctx.audit.for_entry(entry["entry_id"])
    return render_template(
        "dlq_entry.html",
        entry=entry,
        reveal=reveal,
        event_json=json.dumps(event, indent=2, ensure_ascii=False),
        reason=ctx.masker.text(entry["reason"], reveal=reveal),
        error=ctx.masker.text(entry["error"], reveal=reveal),
        attempts=attempts,
        replays=replays_with_users(entry.get("replays", []), actions),
        actions=ctx.masker.value(actions),
    )


@bp.route("/dlq/entry/<entry_id>")
def entry(entry_id: str) -> str:
    ctx = console_context()
    return render_entry(ctx, _entry_or_404(ctx, entry_id))


@bp.route("/dlq/entry/<entry_id>/reveal", methods=["POST"])
@operator_required
def reveal(entry_id: str) -> str:
    ctx = console_context()
    found = _entry_or_404(ctx, entry_id)
    ctx.audit.record(current_user.name, "reveal", entry_id=entry_id, ip=client_address(), store=found["store"])
    return render_entry(ctx, found, reveal=True)


@bp.route("/dlq/confirm")
@operator_required
def confirm() -> str:
    """What an action would touch, and the button that does it (the count is what the button acts on)."""
    ctx = console_context()
    action = request.args.get("action")
    if action not in ACTIONS:
        abort(400, description="action: replay or purge")
    entry_id = request.args.get("entry_id")
    if entry_id:
        one = _entry_or_404(ctx, entry_id)
        matching = [one] if one["status"] == "dead" else []
        query = None
    else:
        query = _query({**request.args.to_dict(), "as_of": repr(time.time())})
        matching = dlqview.find(ctx.dlq, query)
    sample = [{**e, "reason": ctx.masker.text(e["reason"])} for e in matching[:10]]
    return render_template(
        "dlq_confirm.html", action=action, entry_id=entry_id, query=query, count=len(matching), sample=sample
    )


def _targets(ctx: ConsoleContext) -> tuple[list[str], dict[str, Any]]:
    """The entry ids a confirmed action acts on, and how the audit log names them."""
    entry_id = request.form.get("entry_id")
    if entry_id:
        _entry_or_404(ctx, entry_id)
        return [entry_id], {"entry_id": entry_id}
    query = _query(request.form)
    if query.as_of is None:
        abort(400, description="a bulk action needs its confirmation (as_of)")
    return [e["entry_id"] for e in dlqview.find(ctx.dlq, query)], {"filter": query.describe()}


def _back(entry_id: str | None) -> Response:
    if entry_id:
        return redirect(url_for("dlq.entry", entry_id=entry_id))
    # url_for's own keywords (_external: bool, ...) make mypy refuse **dict[str, str]; no filter starts with "_"
    filters: dict[str, Any] = DLQQuery.from_args(request.form).args(with_as_of=False)
    return redirect(url_for("dlq.index", **filters))


@bp.route("/dlq/replay", methods=["POST"])
@operator_required
def replay() -> Response:
    ctx = console_context()
    ids, target = _targets(ctx)
    result = dlqview.replay(ctx.dlq, ctx.publisher, ids, by=f"console:{current_user.name}")
    ctx.audit.record(
        current_user.name,
        "replay",
        count=len(result.replayed),
        ip=client_address(),
        entries=result.replayed[:AUDITED_IDS],
        missing=len(result.missing) or None,
        failed=len(result.failed) or None,
        error=result.error or None,
        **target,
    )
    message = f"Replayed {len(result.replayed)} " + ("entry" if len(result.replayed) == 1 else "entries")
    if result.missing:
        message += f"; {len(result.missing)} were no longer dead"
    if result.failed:
        flash(
            f"{message}. Redis failed ({result.error}): {len(result.failed)} entries were not replayed and stay "
            "dead and listed; try again.",
            "error",
        )
    else:
        flash(message + ".", "ok")
    return _back(request.form.get("entry_id"))


@bp.route("/dlq/purge", methods=["POST"])
@operator_required
def purge() -> Response:
    ctx = console_context()
    ids, target = _targets(ctx)
    purged = dlqview.purge(ctx.redis, ids)
    ctx.audit.record(
        current_user.name, "purge", count=len(purged), ip=client_address(), entries=purged[:AUDITED_IDS], **target
    )
    flash(f"Purged {len(purged)} " + ("entry" if len(purged) == 1 else "entries") + ".", "ok")
    entry_id = request.form.get("entry_id")
    return redirect(url_for("dlq.index")) if entry_id else _back(None)
