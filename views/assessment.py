"""The monthly assessment (考核) pages: the month, a butler's card, findings, spot-checks, exports.

Everything is decided in workflows.assessment; these views parse the forms, call it and render.
A refusal with field messages (InvalidData) shows the page again with the message next to the
field and what was typed; any other refusal is flashed and the page reloaded.
"""
from __future__ import annotations

import re
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import BooleanField, DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import Optional

from models import Deduction, Role, SpotCheckItem, SpotCheckResult, User, db
from views import exports, label, uploads
from views.forms import LOCAL_FORMAT, Form, as_utc
from views.messages import both, chinese, field_message, say
from views.roles import role_required
from workflows import assessment, queries
from workflows.engine import current_rules
from workflows.errors import N_, InvalidData, NotFound, WorkflowError
from workflows.fields import record_id

bp = Blueprint("assessment", __name__, url_prefix="/assessment")


def row_or_404(model, row_id: int):
    """The row with this id, or 404 (also for an id too large for the database to hold)."""
    row = db.session.get(model, row_id) if record_id(row_id) is not None else None
    if row is None:
        abort(404)
    return row

SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)
_MONTH = re.compile(r"\d{4}-\d{2}", re.ASCII)
RESULT_LABELS = {
    SpotCheckResult.SATISFIED: ("满意", "satisfied"),
    SpotCheckResult.UNSATISFIED: ("不满意", "unsatisfied"),
    SpotCheckResult.UNREACHABLE: ("联系不上", "unreachable"),
}


# -- forms --------------------------------------------------------------------------------------

class ReasonForm(Form):
    """Close, reopen, appeal, waive, uphold: the workflow says whether a reason is required."""

    reason = TextAreaField(_l("Reason"))


class FindingForm(Form):
    butler_id = SelectField(_l("Butler"), validate_choice=False)
    code = SelectField(_l("Finding"), validate_choice=False)
    note = TextAreaField(_l("What was found (evidence)"))
    ticket_id = StringField(_l("Ticket number (optional)"), validators=[Optional()],
                            render_kw={"inputmode": "numeric"})
    occurred_at = DateTimeLocalField(_l("When it happened (property time; empty: now)"),
                                     format=LOCAL_FORMAT, validators=[Optional()])
    photo = FileField(_l("Photo or PDF (optional, at most 10 MB)"),
                      render_kw={"accept": "image/jpeg,image/png,image/webp,application/pdf"})


class SpotCheckForm(Form):
    result = SelectField(_l("Follow-up result"), validate_choice=False)
    note = TextAreaField(_l("Note"))
    make_finding = BooleanField(_l("Record a finding against the butler (unsatisfied only)"))


def _spot_check_form(item_id: int, **kwargs) -> SpotCheckForm:
    form = SpotCheckForm(prefix=f"item_{item_id}", **kwargs)
    form.result.choices = [SelectChoice("", "—")] + [
        SelectChoice(value, both(zh, en)) for value, (zh, en) in RESULT_LABELS.items()]
    return form


def _field_errors(form: Form, exc: InvalidData, aliases: dict[str, str] | None = None):
    """Put the workflow's field messages next to the form's fields; the rest is flashed."""
    for name, message in exc.fields.items():
        field = getattr(form, (aliases or {}).get(name, name), None)
        if field is not None and name != "csrf_token":
            field.errors = [*field.errors, say(message)]
        else:
            flash(field_message(name, message), "error")


# -- months -------------------------------------------------------------------------------------

class _BadMonth(Exception):
    pass


def _month() -> str:
    """?month=YYYY-MM, the current month when not given."""
    value = request.args.get("month") or assessment.current_month()
    try:
        if not _MONTH.fullmatch(value):
            raise InvalidData("bad month", {"month": "must be a month like 2026-11"})
        return assessment.parse_month(value)
    except InvalidData:
        raise _BadMonth(value) from None


@bp.errorhandler(_BadMonth)
def _bad_month(exc):
    if request.method != "GET" or request.endpoint == "assessment.export":
        return render_template("error.html", message=_("%(month)s is not a month like 2026-11.",
                                                       month=exc.args[0])), 400
    flash(_("%(month)s is not a month like 2026-11; here is the current month.",
            month=exc.args[0]), "error")
    args = {k: v for k, v in request.args.items() if k != "month"}
    return redirect(url_for(request.endpoint, **(request.view_args or {}), **args))


def _shift(month: str, delta: int) -> str | None:
    year, mon = (int(part) for part in month.split("-"))
    index = year * 12 + mon - 1 + delta
    shifted = f"{index // 12:04d}-{index % 12 + 1:02d}"
    try:
        return assessment.parse_month(shifted)
    except InvalidData:
        return None


def _when(iso: str | None) -> datetime | None:
    """A line's stored ISO time as a datetime (for the localtime filter)."""
    return datetime.fromisoformat(iso) if iso else None


def _is_supervisor() -> bool:
    return current_user.role in SUPERVISORS


def _may_see_card(butler_id: int | None) -> bool:
    return _is_supervisor() or (current_user.role == Role.BUTLER and current_user.id == butler_id)


# -- charts (inline SVG, drawn here) -----------------------------------------------------------

CHART_WIDTH, LABEL_WIDTH, VALUE_WIDTH, ROW, BAR, TOP = 640, 160, 150, 30, 20, 26


def _short(text: str, room: int = 18) -> str:
    """Cut a label to about `room` columns (a Chinese character takes two)."""
    used, out = 0, ""
    for ch in text:
        used += 2 if ord(ch) > 0x2E80 else 1
        if used > room:
            return out + "…"
        out += ch
    return out


def _bar_chart(key: str, title: str, desc: str, rows: list[dict], low: float, high: float,
               ticks: list[tuple[float, str]]) -> dict:
    """Horizontal bars, one row each: {label, value, text, css}; the scale runs low..high."""
    plot = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    span = (high - low) or 1

    def x(value: float) -> float:
        return round(LABEL_WIDTH + (value - low) / span * plot, 1)

    zero = x(0)
    bars = []
    for index, row in enumerate(rows):
        y = TOP + index * ROW
        end = x(row["value"])
        bars.append({**row, "label": _short(row["label"]), "full_label": row["label"],
                     "x": min(zero, end), "width": max(abs(end - zero), 1), "y": y,
                     "height": BAR, "text_y": y + BAR - 4, "value_x": max(zero, end) + 6})
    height = TOP + max(len(rows), 1) * ROW + 8
    return {"id": f"chart-{key}", "title": title, "desc": desc, "width": CHART_WIDTH,
            "height": height, "bars": bars, "zero": zero, "label_x": LABEL_WIDTH - 8,
            "ticks": [{"x": x(value), "text": text} for value, text in ticks],
            "plot_top": TOP - 4, "plot_bottom": height - 8}


def _grade_css(grade: dict) -> str:
    grades = current_rules().assessment.grades
    index = next((i for i, g in enumerate(grades) if g.label.get("en") == grade.get("en")),
                 len(grades) - 1)
    return f"grade-{index}"


def _score_chart(cards: list[dict], month: str) -> dict:
    rules = current_rules().assessment
    scores = [c["score"] for c in cards]
    low, high = min([0, *scores]), max([rules.full_score, *scores])
    ticks = [(0, "0")] + [(g.minimum, str(g.minimum)) for g in rules.grades
                          if g.minimum is not None and low <= g.minimum <= high]
    if all(value != rules.full_score for value, _text in ticks):
        ticks.append((rules.full_score, str(rules.full_score)))
    rows = [{"label": c["butler"]["name"], "value": c["score"], "css": _grade_css(c["grade"]),
             "text": f"{c['score']} {both(c['grade']['zh'], c['grade']['en'])}"} for c in cards]
    desc = _("; ").join(_("%(name)s: %(score)d (%(grade)s)", name=c["butler"]["name"],
                          score=c["score"], grade=label(c["grade"])) for c in cards)
    return _bar_chart("scores", _("Scores per butler, %(month)s", month=month),
                      desc or _("No butlers."), rows, low, high, ticks)


def _article_chart(cards: list[dict], month: str) -> dict:
    """Points lost per article of the standard, counted lines only (waived ones do not count)."""
    points: dict[int, int] = {}
    counts: dict[int, int] = {}
    for card in cards:
        for line in card["lines"]:
            if line["status"] != "waived" and line["points"] < 0:
                points[line["article"]] = points.get(line["article"], 0) - line["points"]
                counts[line["article"]] = counts.get(line["article"], 0) + 1
    articles = sorted(points)
    high = max(points.values(), default=0) or 1
    rows = [{"label": f"第{a}条" if chinese() else f"第{a}条 art. {a}", "value": points[a],
             "css": "deduction",
             "text": _("-%(points)d (%(count)d×)", points=points[a], count=counts[a])}
            for a in articles]
    desc = _("; ").join(_("art. %(article)d: -%(points)d (%(count)d)", article=a,
                          points=points[a], count=counts[a]) for a in articles)
    return _bar_chart("articles", _("Points deducted by article, %(month)s", month=month),
                      desc or _("No deductions."), rows, 0, high, [(0, "0"), (high, str(high))])


# -- the month ----------------------------------------------------------------------------------

def _month_page(month: str, close_form: ReasonForm | None = None,
                reopen_form: ReasonForm | None = None, status: int = 200):
    cards, closed = assessment.scorecards(month)
    latest = assessment.closing(month)
    late = [{**line, "recorded": _when(line["recorded_at"])}
            for line in assessment.entries_after_closing(month, closed)] if closed else []
    drawn = assessment.spot_check(month)
    spot = None
    if drawn is not None:
        spot = {"done": sum(1 for i in drawn.items if i.result), "total": len(drawn.items)}
    for card in cards:
        card["css"] = _grade_css(card["grade"])
    close_form = close_form or ReasonForm(prefix="close", formdata=None)
    close_form.reason.label.text = _("Reason (optional)")
    reopen_form = reopen_form or ReasonForm(prefix="reopen", formdata=None)
    reopen_form.reason.label.text = _("Why reopen it (required)")
    pending = assessment.pending(month) if not closed else {}
    return render_template(
        "assessment/month.html", month=month, cards=cards, closed=closed, latest=latest,
        pending=pending, pending_count=sum(len(items) for items in pending.values()),
        late=late, spot=spot, over=month < assessment.current_month(),
        previous=_shift(month, -1), following=_shift(month, 1),
        charts=[_score_chart(cards, month), _article_chart(cards, month)],
        full_score=current_rules().assessment.full_score,
        close_form=close_form, reopen_form=reopen_form), status


@bp.get("/")
@role_required(*SUPERVISORS)
def month():
    """Every butler's score and grade for the month, the charts, closing and reopening."""
    return _month_page(_month())


def _change_month(action, prefix: str, done: str):
    """Close or reopen the month with the reason typed; on a mistake show it next to the field."""
    month = _month()
    form = ReasonForm(prefix=prefix)
    if not form.validate():
        return _month_page(month, **{f"{prefix}_form": form}, status=422)
    try:
        action(current_user, month, form.reason.data or "")
    except InvalidData as exc:
        _field_errors(form, exc)
        return _month_page(month, **{f"{prefix}_form": form}, status=422)
    except WorkflowError as exc:
        flash(say(exc.message), "error")
    else:
        flash(done % {"month": month}, "success")
    return redirect(url_for(".month", month=month))


@bp.post("/close")
@role_required(*SUPERVISORS)
def close():
    """Close the month: its scorecards freeze."""
    return _change_month(assessment.close_month, "close",
                         _l("The assessment of %(month)s is closed; its scorecards are frozen."))


@bp.post("/reopen")
@role_required(*SUPERVISORS)
def reopen():
    """Reopen a closed month, with a reason."""
    return _change_month(assessment.reopen_month, "reopen",
                         _l("The assessment of %(month)s is open again."))


@bp.get("/export.<any(xlsx, csv):fmt>")
@role_required(*SUPERVISORS)
def export(fmt: str):
    """The month as a spreadsheet (summary and every line) or the summary as CSV."""
    month = _month()
    cards, _closed = assessment.scorecards(month)
    return exports.download(month, cards, fmt)


# -- a butler's card ----------------------------------------------------------------------------

def _card_page(butler_id: int, month: str, failed: tuple[str, int, ReasonForm] | None = None,
               status: int = 200):
    butler = row_or_404(User, butler_id)
    if butler.role != Role.BUTLER:
        abort(404)
    cards, closed = assessment.scorecards(month, butler_id)
    card = cards[0] if cards else None
    supervisor = _is_supervisor()
    own = current_user.id == butler_id
    lines = []
    for line in card["lines"] if card else []:
        forms = {}
        if not closed:
            if own and line["status"] == "counted" and line["points"] < 0:
                forms["appeal"] = ReasonForm(prefix=f"appeal_{line['id']}", formdata=None)
            if supervisor and line["status"] in ("counted", "appealed", "held"):
                forms["waive"] = ReasonForm(prefix=f"waive_{line['id']}", formdata=None)
                if line["points"] < 0:
                    forms["uphold"] = ReasonForm(prefix=f"uphold_{line['id']}", formdata=None)
        if failed and failed[1] == line["id"]:
            forms[failed[0]] = failed[2]
        lines.append({**line, "forms": forms, "missed": _when(line["missed_at"]),
                      "recorded": _when(line["recorded_at"]),
                      "appealed": _when(line["appeal"]["at"]) if line.get("appeal") else None,
                      "reviewed": _when(line["review"]["at"]) if line.get("review") else None})
    if card:
        card["css"] = _grade_css(card["grade"])
    return render_template(
        "assessment/card.html", butler=butler, month=month, card=card, lines=lines,
        closed=closed, supervisor=supervisor, own=own,
        previous=_shift(month, -1), following=_shift(month, 1),
        full_score=current_rules().assessment.full_score), status


@bp.get("/me")
@login_required
def me():
    """A butler's own scorecard; a supervisor lands on the month."""
    args = {"month": request.args["month"]} if request.args.get("month") else {}
    if current_user.role == Role.BUTLER:
        return redirect(url_for(".card", butler_id=current_user.id, **args))
    if _is_supervisor():
        return redirect(url_for(".month", **args))
    abort(403)


@bp.get("/butlers/<int:butler_id>")
@login_required
def card(butler_id: int):
    """Every line of a butler's month with its status; appeal (the butler) or review forms."""
    if not _may_see_card(butler_id):
        abort(403)
    return _card_page(butler_id, _month())


ACTIONS = {"appeal": assessment.appeal, "waive": assessment.waive, "uphold": assessment.uphold}
DONE = {"appeal": _l("Appeal sent."), "waive": _l("Line waived; the score no longer counts it."),
        "uphold": _l("Line upheld.")}


@bp.post("/lines/<int:line_id>/<any(appeal, waive, uphold):action>")
@login_required
def review_line(line_id: int, action: str):
    """Appeal (the butler charged), waive or uphold (a supervisor) one line, with a reason."""
    entry = row_or_404(Deduction, line_id)
    butler_id, month = entry.butler_id, assessment.month_of(entry.missed_at)
    if butler_id is None or not _may_see_card(butler_id):
        abort(403)  # whoever may not see the card may not act on its lines
    back = url_for(".card", butler_id=butler_id, month=month, _anchor=f"line-{line_id}")
    form = ReasonForm(prefix=f"{action}_{line_id}")
    try:
        if not form.validate():
            raise InvalidData(N_("the form cannot be sent as typed"), {})
        ACTIONS[action](current_user, line_id, form.reason.data or "")
    except InvalidData as exc:
        _field_errors(form, exc)
        db.session.expire_all()
        return _card_page(butler_id, month, failed=(action, line_id, form), status=422)
    except NotFound:
        abort(404)
    except WorkflowError as exc:
        flash(say(exc.message), "error")
    else:
        flash(str(DONE[action]), "success")
    return redirect(back)


# -- findings -----------------------------------------------------------------------------------

def _finding_choices(form: FindingForm) -> None:
    form.butler_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(b.id), b.name) for b in queries.staff(Role.BUTLER)]
    findings = sorted(current_rules().assessment.findings.values(),
                      key=lambda f: (f.points > 0, f.article, f.code))
    form.code.choices = [SelectChoice("", "—")] + [
        SelectChoice(f.code, f"第{f.article}条 · {f.points:+d} · {f.label['zh']}" if chinese() else
                     f"第{f.article}条 art. {f.article} · {f.points:+d} · "
                     f"{f.label['zh']} / {f.label['en']}",
                     optgroup=str(_("Bonuses 加分") if f.points > 0 else _("Deductions 扣分")))
        for f in findings]


@bp.route("/findings/new", methods=["GET", "POST"])
@role_required(*SUPERVISORS)
def new_finding():
    """Record what the system cannot see (no patrol, an enquiry not answered, ...) or a bonus."""
    if request.method == "GET":
        form = FindingForm(formdata=None, butler_id=request.args.get("butler_id", ""),
                           code=request.args.get("code", ""),
                           ticket_id=request.args.get("ticket_id", ""))
    else:
        form = FindingForm()
    _finding_choices(form)
    if request.method == "GET":
        return render_template("assessment/finding.html", form=form)

    valid = form.validate()
    if not (form.note.data or "").strip():
        form.note.errors = [*form.note.errors, _("is required")]
        valid = False
    photo = form.photo.data
    checked = None
    if uploads.given(photo):
        try:
            checked = uploads.check(photo)
        except uploads.UploadRefused as exc:
            form.photo.errors = [*form.photo.errors, str(exc)]
            valid = False
    if valid:
        evidence = uploads.store(*checked) if checked else None
        try:
            entry = assessment.record_finding(
                current_user, form.butler_id.data, form.code.data, form.note.data,
                ticket_id=form.ticket_id.data or None,
                occurred_at=as_utc(form.occurred_at.data), evidence=evidence)
        except InvalidData as exc:
            uploads.discard(evidence)
            _field_errors(form, exc)
        except WorkflowError as exc:
            uploads.discard(evidence)
            flash(say(exc.message), "error")
        else:
            flash(_("Finding recorded: %(points)+d, art. %(article)d.", points=entry.points,
                    article=entry.article), "success")
            return redirect(url_for(".card", butler_id=entry.butler_id,
                                    month=assessment.month_of(entry.missed_at),
                                    _anchor=f"line-{entry.id}"))
    return render_template("assessment/finding.html", form=form,
                           photo_again=uploads.given(photo)), 422


@bp.get("/evidence/<name>")
@login_required
def evidence(name: str):
    """A finding's photo or PDF: for supervisors and the butler the line is about."""
    if not uploads.valid_name(name):
        abort(404)
    entry = db.session.scalar(select(Deduction).where(Deduction.evidence == name))
    if entry is None:
        abort(404)
    if not (_is_supervisor() or current_user.id == entry.butler_id):
        abort(403)
    return uploads.send(name)


# -- spot-checks --------------------------------------------------------------------------------

def _spot_page(month: str, failed: tuple[int, SpotCheckForm] | None = None, status: int = 200):
    rules = current_rules().assessment
    drawn = assessment.spot_check(month)
    closed = assessment.is_closed(month)
    context = {"month": month, "drawn": drawn, "closed": closed,
               "over": month < assessment.current_month(), "results": RESULT_LABELS,
               "previous": _shift(month, -1), "following": _shift(month, 1)}
    if drawn is None:
        population = len(assessment.spot_check_population(month))
        context.update(population=population, share=rules.spot_check_share,
                       size=assessment.sample_size(population, rules.spot_check_share))
    else:
        items = []
        for item in drawn.items:
            form = None
            if item.result is None and not closed:
                form = (failed[1] if failed and failed[0] == item.id
                        else _spot_check_form(item.id, formdata=None))
            finding_url = None
            if item.finding is not None and item.finding.butler_id is not None:
                finding_url = url_for(".card", butler_id=item.finding.butler_id,
                                      month=assessment.month_of(item.finding.missed_at),
                                      _anchor=f"line-{item.finding_id}")
            items.append({"item": item, "form": form, "finding_url": finding_url})
        context.update(items=items, done=sum(1 for i in drawn.items if i.result),
                       total=len(drawn.items))
    return render_template("assessment/spot_checks.html", **context), status


@bp.get("/spot-checks")
@role_required(*SUPERVISORS)
def spot_checks():
    """The month's 5% sample of closed complaints and repairs, and the follow-up calls."""
    return _spot_page(_month())


@bp.post("/spot-checks/draw")
@role_required(*SUPERVISORS)
def draw():
    month = _month()
    try:
        drawn = assessment.draw_spot_check(current_user, month)
    except WorkflowError as exc:
        flash(say(exc.message), "error")
    else:
        flash(_("Drew %(size)d of %(population)d tickets (seed %(seed)d).", size=drawn.sample_size,
                population=drawn.population_size, seed=drawn.seed), "success")
    return redirect(url_for(".spot_checks", month=month))


@bp.post("/spot-checks/items/<int:item_id>")
@role_required(*SUPERVISORS)
def record_result(item_id: int):
    """Record one follow-up call; an unsatisfied one may become a finding at once."""
    item = row_or_404(SpotCheckItem, item_id)
    month = item.spot_check.month
    form = _spot_check_form(item_id)
    try:
        if not form.validate():
            raise InvalidData(N_("the form cannot be sent as typed"), {})
        assessment.record_spot_check_result(current_user, item_id, form.result.data or None,
                                            form.note.data or "", bool(form.make_finding.data))
    except InvalidData as exc:
        _field_errors(form, exc)
        db.session.expire_all()
        return _spot_page(month, failed=(item_id, form), status=422)
    except NotFound:
        abort(404)
    except WorkflowError as exc:
        flash(say(exc.message), "error")
    else:
        flash(_("Follow-up of ticket #%(ticket)d recorded.", ticket=item.ticket_id), "success")
    return redirect(url_for(".spot_checks", month=month, _anchor=f"item-{item_id}"))
