"""Logging in and out of the pages."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from models import User, db

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


LANGUAGES = ("zh_CN", "en")
LANGUAGE_COOKIE = "lang"


def local_target(target: str) -> str:
    """`target` when it is a path on this site, else the home page (no open redirects)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("home")


@bp.post("/language")
def language():
    """The language switch: remember the choice in a cookie for a year, then go back."""
    response = redirect(local_target(request.form.get("next", "")))
    choice = request.form.get("lang", "")
    if choice in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, choice, max_age=365 * 24 * 3600, samesite="Lax",
                            httponly=True)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form."""
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data.strip(), form.password.data)
        if user is not None:
            login_user(user)
            return redirect(local_target(request.args.get("next", "")))
        form.password.errors.append(_("Wrong username or password."))
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("auth.login"))
