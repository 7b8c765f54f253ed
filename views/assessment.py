"""The monthly assessment (考核) pages: an estate's month, a butler's card, findings, spot-checks,
exports, and the company's roll-up for the admin.

Pages of a month take ?estate=ID, one of the supervisor's estates (the admin's: any; another's
is not found); without it, the first of theirs. A card takes ?estate= among the estates the
butler has a card in.

Everything is decided in workflows.assessment; these views parse the forms, call it and render.
A refusal naming fields shows the page again with each message next to its field and what was
typed; any other refusal is a message at the top of the page it leads back to (forms.show_refusal).
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from models import Deduction, Role, SpotCheckItem, User, db
from views import charts, exports, uploads
from views.assessment_forms import ReasonForm, finding_form, spot_check_form
from views.forms import as_utc, show_refusal
from views.roles import role_required
from workflows import assessment
from workflows.access import may_see_card
from workflows.errors import InvalidData, NotFound, WorkflowError
from workflows.fields import record_id
from workflows.rules import current as current_rules
from workflows.words import sentence

bp = Blueprint("assessment", __name__, url_prefix="/assessment")
SUPERVISORS = assessment.SUPERVISORS


def row_or_404(model, row_id: int):
    """The row with this id, or 404 (also for an id too large for the database to hold)."""
    row = db.session.get(model, row_id) if record_id(row_id) is not None else None
    if row is None:
        abort(404)
    return row


def _month() -> str:
    """?month=YYYY-MM, the current month when not given (a bad one: see `_bad_month`)."""
    return assessment.parse_month(request.args.get("month") or assessment.current_month())


def _estate():
    """(?estate=ID, one of the user's estates, or their first; all of them); 404 for another's,
    403 for a supervisor given none yet."""
    theirs = assessment.estates_of(current_user)
    wanted = request.args.get("estate")
    if not wanted:
        if not theirs:
            abort(403, _("You supervise no estate yet; the company's admin gives supervisors "
                         "their estates."))
        return theirs[0], theirs
    found = next((e for e in theirs if str(e.id) == wanted), None)
    if found is None:
        abort(404)
    return found, theirs


@bp.errorhandler(InvalidData)
def _bad_month(exc: InvalidData):
    """A month that is not one (the only refusal these views leave to the blueprint)."""
    typed = request.args.get("month", "")
    if request.method != "GET" or request.endpoint in (
            "assessment.export", "assessment.export_lines", "assessment.export_company",
            "assessment.export_company_lines"):
        return render_template("error.html", message=_("%(month)s is not a month like 2026-11.",
                                                       month=typed)), 400
    flash(_("%(month)s is not a month like 2026-11; here is the current month.", month=typed),
          "error")
    args = {k: v for k, v in request.args.items() if k != "month"}
    return redirect(url_for(request.endpoint, **(request.view_args or {}), **args))


def _when(iso: str | None) -> datetime | None:
    """A line's stored ISO time as a datetime (for the localtime filter)."""
    return datetime.fromisoformat(iso) if iso else None


def _months_around(month: str) -> dict:
    return {"previous": assessment.shift_month(month, -1),
            "following": assessment.shift_month(month, 1)}


# -- the month ----------------------------------------------------------------------------------

def _month_page(month: str, close_form: ReasonForm | None = None,
                reopen_form: ReasonForm | None = None, status: int = 200):
    estate, estates = _estate()
    g.page_url = url_for(".month", month=month, estate=estate.id)
    cards, closed = assessment.scorecards(month, estate_id=estate.id)
    late = [{**line, "recorded": _when(line["recorded_at"])}
            for line in assessment.entries_after_closing(month, closed)] if closed else []
    drawn = assessment.spot_check(month, estate.id)
    spot = None
    if drawn is not None:
        spot = {"done": sum(1 for i in drawn.items if i.result), "total": len(drawn.items)}
    for card in cards:
        card["css"] = charts.grade_css(card["grade"])
    close_form = close_form or ReasonForm(prefix="close", formdata=None)
    close_form.reason.label.text = _("Reason (optional)")
    reopen_form = reopen_form or ReasonForm(prefix="reopen", formdata=None)
    reopen_form.reason.label.text = _("Why reopen it (required)")
    pending = assessment.pending(month, estate.id) if not closed else {}
    return render_template(
        "assessment/month.html", month=month, cards=cards, closed=closed, estate=estate,
        estates=estates, latest=assessment.closing(month, estate.id), pending=pending,
        pending_count=sum(len(items) for items in pending.values()),
        late=late, spot=spot, over=month < assessment.current_month(),
        charts=[charts.scores(cards, month), charts.articles(cards, month)],
        full_score=current_rules().assessment.full_score,
        close_form=close_form, reopen_form=reopen_form, **_months_around(month)), status


@bp.get("/")
@role_required(*SUPERVISORS)
def month():
    """Every butler's score and grade in the estate's month, the charts, closing and
    reopening."""
    return _month_page(_month())


def _change_month(action, prefix: str, done: str):
    """Close or reopen the month with the reason typed; on a mistake show it next to the field."""
    month = _month()
    estate, _estates = _estate()
    form = ReasonForm(prefix=prefix)
    if not form.validate():
        return _month_page(month, **{f"{prefix}_form": form}, status=422)
    try:
        action(current_user, month, form.reason.data or "", estate.id)
    except WorkflowError as exc:
        show_refusal(form, exc)
        if exc.fields:
            return _month_page(month, **{f"{prefix}_form": form}, status=exc.status)
    else:
        flash(done % {"month": month}, "success")
    return redirect(url_for(".month", month=month, estate=estate.id))


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
    """The estate's month as a spreadsheet (summary and every line) or as CSV (the summary)."""
    month = _month()
    estate, _estates = _estate()
    cards, _closed = assessment.scorecards(month, estate_id=estate.id)
    return exports.download(month, cards, fmt, estate.name)


@bp.get("/lines.csv")
@role_required(*SUPERVISORS)
def export_lines():
    """Every line of the estate's month as CSV."""
    return export("lines-csv")


# -- the company ----------------------------------------------------------------------------------

@bp.get("/company")
@role_required(Role.ADMIN)
def company():
    """Every butler's score and grade across the estates, and each estate's average."""
    month = _month()
    g.page_url = url_for(".company", month=month)
    rolled = assessment.company_of(current_user, month)
    for line in rolled["butlers"]:
        line["css"] = charts.grade_css(line["grade"])
    return render_template("assessment/company.html", month=month, rolled=rolled,
                           full_score=current_rules().assessment.full_score,
                           **_months_around(month))


@bp.get("/company.<any(xlsx, csv):fmt>")
@role_required(Role.ADMIN)
def export_company(fmt: str):
    """The company's roll-up as a spreadsheet (summary and every line) or CSV (the summary)."""
    return exports.download_company(assessment.company_of(current_user, _month()), fmt)


@bp.get("/company-lines.csv")
@role_required(Role.ADMIN)
def export_company_lines():
    """Every line of every estate's month as CSV."""
    return export_company("lines-csv")


# -- a butler's card ----------------------------------------------------------------------------

def _card_page(butler_id: int, month: str, failed: tuple[str, int, ReasonForm] | None = None,
               status: int = 200, estate_id: int | None = None):
    butler = row_or_404(User, butler_id)
    if butler.role != Role.BUTLER:
        abort(404)
    estates = assessment.card_estates(current_user, butler_id, month)
    wanted = estate_id or request.args.get("estate")
    estate = next((e for e in estates if str(e.id) == str(wanted)), None) if wanted else \
        (estates[0] if estates else None)
    if wanted and estate is None:
        abort(404)
    g.page_url = url_for(".card", butler_id=butler_id, month=month,
                         estate=estate.id if estate else None)
    cards, closed = assessment.scorecards(month, butler_id, estate.id) if estate else ([], None)
    card = cards[0] if cards else None
    company = None
    if len(estates) > 1:
        company = assessment.company_line(month, card["butler"], [
            assessment.scorecards(month, butler_id, e.id)[0][0] for e in estates])
    month_closed = closed is not None
    lines = []
    for line in card["lines"] if card else []:
        forms = {action: ReasonForm(prefix=f"{action}_{line['id']}", formdata=None)
                 for action in assessment.actions(current_user, line, month_closed)}
        if failed and failed[1] == line["id"]:
            forms[failed[0]] = failed[2]
        lines.append({**line, "forms": forms, "missed": _when(line["missed_at"]),
                      "recorded": _when(line["recorded_at"]),
                      "appealed": _when(line["appeal"]["at"]) if line.get("appeal") else None,
                      "reviewed": _when(line["review"]["at"]) if line.get("review") else None})
    if card:
        card["css"] = charts.grade_css(card["grade"])
    return render_template(
        "assessment/card.html", butler=butler, month=month, card=card, lines=lines,
        closed=closed, estate=estate, estates=estates, company=company,
        supervisor=current_user.role in SUPERVISORS,
        own=current_user.id == butler_id, full_score=current_rules().assessment.full_score,
        **_months_around(month)), status


@bp.get("/me")
@login_required
def me():
    """A butler's own scorecard; a supervisor lands on the month."""
    args = {"month": request.args["month"]} if request.args.get("month") else {}
    if current_user.role == Role.BUTLER:
        return redirect(url_for(".card", butler_id=current_user.id, **args))
    if current_user.role in SUPERVISORS:
        return redirect(url_for(".month", **args))
    abort(403)


@bp.get("/butlers/<int:butler_id>")
@login_required
def card(butler_id: int):
    """Every line of a butler's month with its status; appeal (the butler) or review forms."""
    if not may_see_card(current_user, butler_id):
        abort(403)
    return _card_page(butler_id, _month())


ACTIONS = {"appeal": assessment.appeal, "waive": assessment.waive, "uphold": assessment.uphold}
DONE = {"appeal": _l("Appeal sent."), "waive": _l("Line waived; the score no longer counts it."),
        "uphold": _l("Line upheld: it counts.")}
CHARGED = _l("Line charged: it counts.")  # a held line upheld


@bp.post("/lines/<int:line_id>/<any(appeal, waive, uphold):action>")
@login_required
def review_line(line_id: int, action: str):
    """Appeal (the butler charged), waive or uphold (a supervisor) one line, with a reason."""
    entry = row_or_404(Deduction, line_id)
    butler_id, month, held = entry.butler_id, assessment.month_of(entry.missed_at), entry.held
    estate_id = assessment.estate_of(entry)
    if not may_see_card(current_user, butler_id):
        abort(403)  # whoever may not see the card may not act on its lines
    if current_user.role in SUPERVISORS and not assessment.in_reach(current_user, estate_id):
        abort(404)
    form = ReasonForm(prefix=f"{action}_{line_id}")
    if not form.validate():
        return _card_page(butler_id, month, failed=(action, line_id, form), status=422,
                          estate_id=estate_id)
    try:
        ACTIONS[action](current_user, line_id, form.reason.data or "")
    except NotFound:
        abort(404)
    except WorkflowError as exc:
        show_refusal(form, exc)
        if exc.fields:
            db.session.expire_all()
            return _card_page(butler_id, month, failed=(action, line_id, form), status=exc.status,
                              estate_id=estate_id)
    else:
        flash(str(CHARGED if held and action == "uphold" else DONE[action]), "success")
    return redirect(url_for(".card", butler_id=butler_id, month=month, estate=estate_id,
                            _anchor=f"line-{line_id}"))


# -- findings -----------------------------------------------------------------------------------

@bp.route("/findings/new", methods=["GET", "POST"])
@role_required(*SUPERVISORS)
def new_finding():
    """Record what the system cannot see (no patrol, an enquiry not answered, ...) or a bonus."""
    if request.method == "GET":
        form = finding_form(formdata=None, butler_id=request.args.get("butler_id", ""),
                            code=request.args.get("code", ""),
                            ticket_id=request.args.get("ticket_id", ""),
                            estate_id=request.args.get("estate", ""))
        return render_template("assessment/finding.html", form=form)
    form = finding_form()
    valid = form.validate()
    photo = form.photo.data
    checked = None
    if uploads.given(photo):
        try:
            checked = uploads.read(photo)
        except uploads.UploadRefused as exc:
            form.photo.errors = [*form.photo.errors, str(exc)]
            valid = False
    status = 422
    if valid:
        evidence = uploads.store_bytes(*checked) if checked else None
        try:
            entry = assessment.record_finding(
                current_user, form.butler_id.data, form.code.data, form.note.data,
                ticket_id=form.ticket_id.data or None,
                occurred_at=as_utc(form.occurred_at.data), evidence=evidence,
                estate_id=form.estate_id.data or None if "estate_id" in form else None)
        except WorkflowError as exc:
            uploads.discard_name(evidence)
            show_refusal(form, exc)
            status = exc.status
        else:
            flash(_("Finding recorded: %(points)+d, art. %(article)d.", points=entry.points,
                    article=entry.article), "success")
            return redirect(url_for(".card", butler_id=entry.butler_id,
                                    month=assessment.month_of(entry.missed_at),
                                    estate=entry.estate_id, _anchor=f"line-{entry.id}"))
    return render_template("assessment/finding.html", form=form,
                           photo_again=uploads.given(photo)), status


@bp.get("/evidence/<name>")
@login_required
def evidence(name: str):
    """A finding's photo or PDF: for supervisors and the butler the line is about."""
    if not uploads.valid_name(name):
        abort(404)
    entry = db.session.scalar(select(Deduction).where(Deduction.evidence == name))
    if entry is None or (current_user.role in SUPERVISORS
                         and not assessment.in_reach(current_user, entry.estate_id)):
        abort(404)
    if not may_see_card(current_user, entry.butler_id):
        abort(403)
    return uploads.send(name)


# -- spot-checks --------------------------------------------------------------------------------

def _spot_page(month: str, estate, failed: tuple[int, object] | None = None,
               status: int = 200):
    g.page_url = url_for(".spot_checks", month=month, estate=estate.id)
    rules = current_rules().assessment
    drawn = assessment.spot_check(month, estate.id)
    closed = assessment.is_closed(month, estate.id)
    context = {"month": month, "drawn": drawn, "closed": closed, "estate": estate,
               "estates": assessment.estates_of(current_user),
               "over": month < assessment.current_month(), **_months_around(month)}
    if drawn is None:
        population = len(assessment.spot_check_population(month, estate.id))
        context.update(population=population, share=rules.spot_check_share,
                       size=assessment.sample_size(population, rules.spot_check_share))
    else:
        items = []
        for item in drawn.items:
            form = None
            if item.result is None and not closed:
                form = (failed[1] if failed and failed[0] == item.id
                        else spot_check_form(item.id, formdata=None))
            finding_url = None
            if item.finding is not None and item.finding.butler_id is not None:
                finding_url = url_for(".card", butler_id=item.finding.butler_id,
                                      month=assessment.month_of(item.finding.missed_at),
                                      estate=estate.id,
                                      _anchor=f"line-{item.finding_id}")
            items.append({"item": item, "form": form, "finding_url": finding_url})
        context.update(items=items, done=sum(1 for i in drawn.items if i.result),
                       total=len(drawn.items))
    return render_template("assessment/spot_checks.html", **context), status


@bp.get("/spot-checks")
@role_required(*SUPERVISORS)
def spot_checks():
    """The estate's sample of the month's finished complaints and repairs, and the follow-up
    calls."""
    return _spot_page(_month(), _estate()[0])


@bp.post("/spot-checks/draw")
@role_required(*SUPERVISORS)
def draw():
    month = _month()
    estate, _estates = _estate()
    try:
        drawn = assessment.draw_spot_check(current_user, month, estate.id)
    except WorkflowError as exc:
        flash(sentence(exc.message), "error")
    else:
        flash(_("Drew %(size)d of %(population)d tickets (seed %(seed)d).", size=drawn.sample_size,
                population=drawn.population_size, seed=drawn.seed), "success")
    return redirect(url_for(".spot_checks", month=month, estate=estate.id))


@bp.post("/spot-checks/items/<int:item_id>")
@role_required(*SUPERVISORS)
def record_result(item_id: int):
    """Record one follow-up call; an unsatisfied one may become a finding at once."""
    item = row_or_404(SpotCheckItem, item_id)
    month, estate = item.spot_check.month, item.spot_check.estate
    if not assessment.in_reach(current_user, estate.id):
        abort(404)
    form = spot_check_form(item_id)
    if not form.validate():
        return _spot_page(month, estate, failed=(item_id, form), status=422)
    try:
        assessment.record_spot_check_result(current_user, item_id, form.result.data or None,
                                            form.note.data or "", bool(form.make_finding.data))
    except NotFound:
        abort(404)
    except WorkflowError as exc:
        show_refusal(form, exc)
        if exc.fields:
            db.session.expire_all()
            return _spot_page(month, estate, failed=(item_id, form), status=exc.status)
    else:
        flash(_("Follow-up of ticket #%(ticket)d recorded.", ticket=item.ticket_id), "success")
    return redirect(url_for(".spot_checks", month=month, estate=estate.id,
                            _anchor=f"item-{item_id}"))
