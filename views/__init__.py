"""Blueprints, extensions and the bits every page shares."""
from __future__ import annotations

from datetime import datetime

from flask import (
    Flask,
    g,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import Babel, get_locale, lazy_gettext
from flask_babel import gettext as _
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from models import CredentialKind, User, db
from workflows import access, accounts, clock, delivery, inbox, words
from workflows.words import label, span

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def _person_name(user_id) -> str:
    """The name of the person an event's data names (the technician dispatched)."""
    person = db.session.get(User, user_id) if isinstance(user_id, int) else None
    return person.name if person else "—"


def bearer_token(req) -> str | None:
    scheme, _, token = req.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _holder(secret: str | None, kind: str) -> User | None:
    """The person whose live login this secret is; the login is kept in `g.credential`."""
    found = accounts.holder(secret, kind)
    if found is None:
        return None
    g.credential = found[1]
    return found[0]


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """A page login: the session cookie carries the login's secret (views.auth), which must
    still be live: logging out, a password change or deactivation ends it everywhere."""
    if bearer_token(request):
        return None  # a request that carries a token speaks for the token's user only
    from views.auth import SESSION_SECRET

    user = _holder(session.get(SESSION_SECRET), CredentialKind.BROWSER)
    return user if user is not None and str(user.id) == user_id else None


@login_manager.request_loader
def load_user_from_token(req) -> User | None:
    """API clients send `Authorization: Bearer <token>` (from POST /api/v1/tokens)."""
    token = bearer_token(req)
    return _holder(token, CredentialKind.API) if token else None


def select_locale() -> str:
    """The language chosen with the switch (a cookie), else the browser's; Chinese by default.

    Babel reads "zh_CN" as zh_Hans_CN; the catalog lives in translations/zh/, which gettext finds
    for zh_CN and zh_Hans_CN alike.
    """
    from views.auth import LANGUAGE_COOKIE, LANGUAGES

    if not has_request_context():
        return "en"  # the CLI and the logs
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen not in LANGUAGES:
        # The browser's most preferred language that we speak ("en-GB" counts as English).
        spoken = (tag.replace("_", "-").split("-")[0].lower()
                  for tag, _q in request.accept_languages)
        preferred = next((tag for tag in spoken if tag in ("zh", "en")), "zh")
        chosen = "en" if preferred == "en" else "zh_CN"
    return chosen


local_time = words.local  # a stored UTC time as the property's wall-clock time


def time_left(due: datetime | None) -> str:
    """'in 1 h 05 min' / '12 min overdue' (「1 小时 05 分钟后」/「已超时 12 分钟」), for a
    deadline."""
    if due is None:
        return ""
    left = due - clock.now()
    if abs(left.total_seconds()) < 60:
        return _("in under a minute") if left.total_seconds() >= 0 else _("just overdue")
    text = span(left, days=True)
    return _("in %(time)s", time=text) if left.total_seconds() >= 0 else _("%(time)s overdue",
                                                                              time=text)


def page_url() -> str:
    """The address of the page shown: the one its view names (a page shown again after a form
    was refused stands at the form's POST address), else the request's."""
    return g.get("page_url") or (request.full_path if request.query_string else request.path)


def bell() -> tuple[int, int | None]:
    """The bell: how many notices the logged-in person has not read, and the newest of them
    (one indexed query a page)."""
    if "bell" not in g:
        g.bell = inbox.unread(current_user)
    return g.bell


def home():
    """Send each person to the page where their work is."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    target = {"resident": "resident.tickets", "butler": "butler.queue",
              "technician": "butler.queue", "supervisor": "supervisor.overdue",
              "admin": "supervisor.overdue"}[current_user.role]
    return redirect(url_for(target))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please log in to open this page.")
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.json.ensure_ascii = False

    from views import (
        activation,
        admin,
        api,
        api_assessment,  # noqa: F401  (adds the assessment routes to api.bp)
        api_calendars,  # noqa: F401  (adds the estates' calendar routes to api.bp)
        api_cover,  # noqa: F401  (adds the areas' and leave routes to api.bp)
        api_duty,  # noqa: F401  (adds the rota and hand-over routes to api.bp)
        api_estate_rules,  # noqa: F401  (adds the estates' own deadline values to api.bp)
        api_estates,  # noqa: F401  (adds the estates' import and export to api.bp)
        api_extensions,  # noqa: F401  (adds the routes of more time for a deadline to api.bp)
        api_notices,  # noqa: F401  (adds the notifications routes to api.bp)
        api_people,  # noqa: F401  (adds the accounts' and the audit log's routes to api.bp)
        api_places,  # noqa: F401  (adds the estates', areas', buildings' and units' routes)
        api_search,  # noqa: F401  (adds search and the units to api.bp)
        assessment,
        auth,
        butler,
        calendars,
        cover,
        duty,
        errors,
        estate_rules,
        estates,
        extensions,
        health,
        notices,
        resident,
        search,
        security,
        supervisor,
        tickets,
    )
    from views.limits import limiter

    limiter.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    for module in (auth, api, resident, butler, supervisor, tickets, assessment, notices,
                   cover, extensions, search, calendars, duty, estates, estate_rules, health,
                   admin, activation):
        app.register_blueprint(module.bp)
    app.add_url_rule("/", "home", home)

    app.jinja_env.filters["localtime"] = local_time
    app.jinja_env.filters["timeleft"] = time_left
    app.jinja_env.globals["now"] = clock.now
    app.jinja_env.globals["page_url"] = page_url
    app.jinja_env.globals["bell"] = bell
    app.jinja_env.globals["without_estate"] = lambda: access.without_estate(current_user)
    app.jinja_env.globals["rules"] = lambda: app.extensions["butlerdesk.rules"]
    app.jinja_env.globals["label"] = app.jinja_env.filters["label"] = label
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["chinese"] = words.chinese
    app.jinja_env.globals["name"] = words.name
    app.jinja_env.globals["briefly"] = words.briefly
    app.jinja_env.globals["person_name"] = _person_name
    app.jinja_env.globals["rules_word"] = words.rules_word
    app.jinja_env.globals["span"] = words.span
    app.jinja_env.globals["delivery_failure"] = delivery.failure
    app.jinja_env.filters["colon"] = words.colon
    app.jinja_env.globals["countdown_text"] = words.countdown
    app.jinja_env.globals["countdown_formats"] = words.countdown_formats
