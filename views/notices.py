"""The bell and the notices page: what one has been told in the app, newest first, each leading
to its ticket; and the small JSON answer static/js/live.js polls to keep the bell (and the
butler's queue) up to date without a reload.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from workflows import inbox
from workflows.errors import NotFound
from workflows.fields import record_id
from workflows.notices import words
from workflows.rules import current as current_rules

bp = Blueprint("notices", __name__, url_prefix="/notices")

PAGE_SIZE = 50


@bp.get("/")
@login_required
def index():
    """My notices, newest first, the unread ones marked; ?unread=1 shows only those."""
    unread_only = request.args.get("unread") == "1"
    page = record_id(request.args.get("page")) or 1
    found, total = inbox.notices(current_user, unread_only=unread_only, page=page,
                                 per_page=PAGE_SIZE)
    rules, language = current_rules(), str(get_locale())
    return render_template("notices.html", notices=[(n, words(n, rules, language)) for n in found],
                           total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
                           unread_only=unread_only)


@bp.post("/<int:notice_id>/read")
@login_required
def read(notice_id: int):
    """Open a notice: it is marked read, and its ticket's page opens."""
    try:
        notice = inbox.mark_read(current_user, notice_id)
    except NotFound:
        abort(404)  # not one of mine
    return redirect(words(notice, current_rules(), str(get_locale())).path)


@bp.post("/read")
@login_required
def read_all():
    """Mark every notice of mine read."""
    inbox.mark_all_read(current_user)
    flash(_("Every notice is marked as read."), "success")
    return redirect(url_for(".index"))


@bp.get("/unread")
def unread():
    """{"unread": n, "latest": the newest unread notice's id, or null}, for the page's script.
    Its ETag is the answer itself, so a poll that finds nothing new is a 304 with no body. A
    login that has ended is a 401, so the page can say it no longer updates."""
    if not current_user.is_authenticated:
        return jsonify({"error": "logged out"}), 401
    count, latest = inbox.unread(current_user)
    response = jsonify({"unread": count, "latest": latest})
    response.set_etag(f"{count}-{latest}")
    response.headers["Cache-Control"] = "private, no-cache"
    return response.make_conditional(request)
