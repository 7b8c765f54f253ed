"""Every error answer, for the JSON API and for the pages, in one place.

The API answers {"error": {"code", "message", "fields"}} with the right status; a page answers a
friendly page in the reader's language. Whatever goes wrong, the transaction is rolled back
first, and nothing anyone sends produces a bare error page: an unexpected exception is logged
with its traceback and answered as "something went wrong; nothing was saved".
"""
from __future__ import annotations

from flask import Flask, current_app, jsonify, redirect, render_template, request
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from models import db
from views.limits import retry_after
from workflows.errors import AlreadyRegistered, WorkflowError
from workflows.words import sentence

API_PREFIX = "/api/"


def is_api() -> bool:
    return request.path.startswith(API_PREFIX)


def api_error(status: int, code: str, message: str, fields: dict | None = None, **more):
    return jsonify({"error": {"code": code, "message": message, "fields": fields or {},
                              **more}}), status


def _page(message: str, status: int, **context):
    return render_template("error.html", message=message, **context), status


def _page_message(status: int) -> str:
    return {
        400: _("This request could not be read; nothing was saved."),
        403: _("You may not open this page."),
        404: _("Page not found."),
        405: _("This page cannot be opened that way."),
        413: _("What was sent is too large: at most %(size)d MB at once. Go back and send "
               "fewer or smaller files.",
               size=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)),
    }.get(status, _("This request could not be handled; nothing was saved."))


def workflow_error(exc: WorkflowError):
    """A refusal that no page handled itself (pages show theirs next to the fields)."""
    db.session.rollback()
    if is_api():
        more = {"ticket_id": exc.ticket_id} if isinstance(exc, AlreadyRegistered) else {}
        with force_locale("en"):  # the API speaks English, whatever the browser prefers
            return api_error(exc.status, exc.code, exc.message, exc.fields, **more)
    return _page(sentence(exc.message), exc.status)


def _page_above(path: str) -> str:
    """The nearest page above a form's address that opens with a GET: /tickets/7/fire/cancel →
    /tickets/7, /cover/leave/3/approve → /cover/leave; at worst the home page."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    while "/" in path.rstrip("/"):
        path = path.rstrip("/").rsplit("/", 1)[0] or "/"
        try:
            adapter.match(path, method="GET")
        except RequestRedirect:  # /duty → /duty/: a page all the same
            return path
        except (NotFound, MethodNotAllowed):
            continue
        return path
    return "/"


def http_error(exc: HTTPException):
    db.session.rollback()
    status = exc.code or 500
    if status == 405 and request.method in ("GET", "HEAD") and not is_api():
        # A form's address opened or reloaded after the form was sent back (its page was made
        # at the address it was sent to): the page it belongs to, not a refusal.
        return redirect(_page_above(request.path), 303)
    if is_api():
        code = (exc.name or "error").lower().replace(" ", "_")
        return api_error(status, code, exc.description or exc.name)
    return _page(_page_message(status), status)


def form_expired(exc: CSRFError):
    """A page form sent without a valid session (logged out in another tab, cookies gone):
    nothing is saved, and what was typed is shown so it can be copied into a new form."""
    db.session.rollback()
    if is_api():
        return api_error(400, "csrf", "a browser session must send the X-CSRFToken header: "
                                      + exc.description)
    typed = [value for name, value in request.form.items(multi=True)
             if name != "csrf_token" and value.strip()]
    return _page(_("This form has expired (you logged out, or your session ended); nothing was "
                   "saved. Log in again and send it once more."), 400, typed=typed)


def _wait(minutes: int) -> str:
    return ngettext("Too many tries. Try again in %(num)d minute.",
                    "Too many tries. Try again in %(num)d minutes.", minutes)


def too_many(exc: RateLimitExceeded):
    """Too many tries: 429 with Retry-After, in JSON or on the page that was tried."""
    db.session.rollback()
    seconds = retry_after()
    minutes = max(1, -(-seconds // 60))
    if is_api():
        with force_locale("en"):
            response, status = api_error(429, "too_many_requests",
                                         f"too many tries; try again in {seconds} seconds")
    elif request.endpoint == "auth.login":
        from views.auth import LoginForm

        form = LoginForm()
        form.password.errors = [_wait(minutes)]
        response, status = render_template("login.html", form=form), 429
    elif request.endpoint == "activation.activate":
        from views.admin_forms import activation_form

        form = activation_form()  # what was typed stays
        form.invitation_code.errors = [_wait(minutes)]
        response, status = render_template("activate.html", form=form), 429
    else:
        response, status = _page(_wait(minutes), 429)
    response = current_app.make_response((response, status))
    response.headers["Retry-After"] = str(seconds)
    return response


def unexpected(exc: Exception):
    if isinstance(exc, HTTPException):  # e.g. one raised inside another error handler
        return http_error(exc)
    db.session.rollback()
    current_app.logger.exception("unexpected error on %s %s", request.method, request.path)
    if is_api():
        return api_error(500, "internal", "something went wrong; nothing was saved")
    return _page(_("Something went wrong; nothing was saved."), 500)


def init_app(app: Flask) -> None:
    app.register_error_handler(WorkflowError, workflow_error)
    app.register_error_handler(CSRFError, form_expired)
    app.register_error_handler(RateLimitExceeded, too_many)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)
