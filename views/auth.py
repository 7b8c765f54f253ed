"""Logging in and out of the pages, the language switch, and one's own account: the password
and the logins in use (page sessions and API tokens), each of which can be ended."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from wtforms import (
    EmailField,
    PasswordField,
    SelectMultipleField,
    StringField,
    TelField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired
from wtforms.widgets import CheckboxInput, ListWidget

from models import CredentialKind, Role
from views.forms import Form, show_refusal
from views.limits import failed, limit_logins, password_limit
from workflows import accounts
from workflows.errors import NotFound, WorkflowError
from workflows.words import clock_time

bp = Blueprint("auth", __name__)

# Where the page login's secret is kept in the signed session cookie.
SESSION_SECRET = "login"


class LoginForm(Form):
    username = StringField(_l("Username"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


class PasswordForm(Form):
    current_password = PasswordField(_l("Current password"),
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password (at least 8 characters)"),
                                 render_kw={"autocomplete": "new-password"})
    new_password_again = PasswordField(_l("New password again"),
                                       render_kw={"autocomplete": "new-password"})


def _kinds_field(text) -> SelectMultipleField:
    return SelectMultipleField(text, choices=[
        SelectChoice("new", _l("New requests")), SelectChoice("step", _l("Steps on my tickets")),
        SelectChoice("warning", _l("Warnings before a deadline")),
        SelectChoice("missed", _l("Missed deadlines")),
        SelectChoice("leave", _l("Leave and cover"))],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(), validate_choice=False)


class NoticeSettingsForm(Form):
    email = EmailField(_l("Email address (optional)"), render_kw={"autocomplete": "email"})
    phone = TelField(_l("Mobile phone (optional)"), render_kw={"autocomplete": "tel"})
    email_for = _kinds_field(_l("Email me"))
    sms_for = _kinds_field(_l("Text me (SMS)"))
    quiet_from = StringField(_l("Quiet from"), render_kw={"type": "time"})
    quiet_until = StringField(_l("Quiet until"), render_kw={"type": "time"})

    def narrowed_to(self, user) -> NoticeSettingsForm:
        """A resident hears only of the steps on their own requests: the other choices go."""
        if user.role == Role.RESIDENT:
            for kinds in (self.email_for, self.sms_for):
                kinds.choices = [SelectChoice("step", _l("Steps on my requests"))]
        return self


LANGUAGES = ("zh_CN", "en")
LANGUAGE_COOKIE = "lang"


def local_target(target: str) -> str:
    """`target` when it is a path on this site, else the home page (no open redirects).

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so
    "/\\t/evil.example" would lead away: any control character or backslash is refused outright.
    """
    parts = urlsplit(target)
    if (target.startswith("/") and not target.startswith("//") and target.isprintable()
            and "\\" not in target and not parts.scheme and not parts.netloc):
        return target
    return url_for("home")


def _page_to_open(target: str) -> str:
    """`target`, or the nearest page above it when it cannot be opened (a form's POST address,
    shown after a refusal: /tickets/27/fire/cancel goes back to /tickets/27)."""
    adapter = current_app.url_map.bind("")
    path, _, query = target.partition("?")
    while path:
        try:
            adapter.match(path, method="GET")
        except RequestRedirect as moved:  # /assessment is at /assessment/
            return urlsplit(moved.new_url).path
        except HTTPException:
            path = path.rstrip("/").rpartition("/")[0]
            query = ""
        else:
            return f"{path}?{query}" if query else path
    return url_for("home")


@bp.post("/language")
def language():
    """The language switch: remember the choice in a cookie for a year (and, for a person
    logged in, on their account), then go back."""
    response = redirect(_page_to_open(local_target(request.form.get("next", ""))))
    choice = request.form.get("lang", "")
    if choice in LANGUAGES:
        if current_user.is_authenticated:
            accounts.set_language(current_user, choice)  # notices are written in it
        response.set_cookie(LANGUAGE_COOKIE, choice, max_age=365 * 24 * 3600, samesite="Lax",
                            httponly=True, secure=request.is_secure)
    return response


@bp.route("/login", methods=["GET", "POST"])
@limit_logins
def login():
    """The login form."""
    form = LoginForm()
    if request.method == "GET":  # just activated: the username they were told
        form.username.data = request.args.get("username", "")[:64]
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data.strip(), form.password.data)
        if user is not None:
            secret, _credential = accounts.sign_in(user, CredentialKind.BROWSER)
            session.clear()  # nothing of the session before the login carries over
            session[SESSION_SECRET] = secret
            login_user(user)
            return redirect(local_target(request.args.get("next", "")))
        failed()
        form.password.errors.append(_("Wrong username or password."))
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """End this login for real: the session's secret stops working, wherever a copy of it is."""
    accounts.sign_out(session.get(SESSION_SECRET))
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def _account_page(form: PasswordForm | None = None, status: int = 200,
                  settings: NoticeSettingsForm | None = None):
    g.page_url = url_for("auth.account")
    current = g.get("credential")
    settings = settings or NoticeSettingsForm(
        formdata=None, prefix="notices", email=current_user.email, phone=current_user.phone,
        email_for=current_user.email_for, sms_for=current_user.sms_for,
        quiet_from=clock_time(current_user.quiet_from) or "",
        quiet_until=clock_time(current_user.quiet_until) or "")
    return render_template("account.html", form=form or PasswordForm(formdata=None),
                           settings=settings.narrowed_to(current_user),
                           logins=accounts.live(current_user),
                           current_id=current.id if current else None), status


@bp.get("/account")
@login_required
def account():
    """My account: where my notices go, change my password; the logins in use (this one, other
    devices, API tokens), each of which I can end."""
    return _account_page()


@bp.post("/account/notices")
@login_required
def notice_settings():
    """Where my notices go besides the bell: my email address and phone, which kinds are
    emailed, and my quiet hours."""
    settings = NoticeSettingsForm(prefix="notices")
    if not settings.validate():
        return _account_page(status=422, settings=settings)
    try:
        accounts.set_notice_settings(current_user, settings.email.data, settings.phone.data,
                                     settings.email_for.data, settings.sms_for.data,
                                     settings.quiet_from.data, settings.quiet_until.data)
    except WorkflowError as exc:
        show_refusal(settings, exc)
        return _account_page(status=exc.status, settings=settings)
    flash(_("Your notice settings are saved."), "success")
    return redirect(url_for(".account"))


@bp.post("/account/password")
@login_required
@password_limit
def change_password():
    """Change my password; every other login of mine ends with it."""
    form = PasswordForm()
    if not form.validate():
        return _account_page(form, 422)
    current = g.get("credential")
    try:
        accounts.change_password(current_user, form.current_password.data,
                                 form.new_password.data, form.new_password_again.data,
                                 keep=current.id if current else None)
    except WorkflowError as exc:
        if "current_password" in exc.fields:
            failed()
        show_refusal(form, exc)
        return _account_page(form, exc.status)
    flash(_("Your password is changed. Every other login of yours has ended."), "success")
    return redirect(url_for(".account"))


@bp.post("/account/logins/<int:credential_id>/end")
@login_required
def end_login(credential_id: int):
    """End one of my logins: a session on another device, or an API token."""
    try:
        accounts.revoke(current_user, credential_id)
    except NotFound:
        abort(404)  # not one of mine, or ended already
    flash(_("That login has ended."), "success")
    return redirect(url_for(".account"))


@bp.post("/account/logins/end-others")
@login_required
def end_other_logins():
    """End every login of mine but this one."""
    current = g.get("credential")
    accounts.sign_out_elsewhere(current_user, current.id if current else None)
    flash(_("Every other login of yours has ended."), "success")
    return redirect(url_for(".account"))
