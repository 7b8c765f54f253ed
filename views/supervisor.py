"""The supervisor's desk: what is overdue now and what is at risk across all areas, with the
butler answerable for each; this month's scores; and each kind's workflow drawn from the rules."""
from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import PasswordField, SelectField, URLField
from wtforms.fields import SelectChoice

from models import NoticeStatus
from views import extension_forms
from views.forms import Form, show_refusal
from views.roles import role_required
from views.security import CSP_DIAGRAMS
from workflows import (
    access,
    areas,
    assessment,
    clock,
    cover,
    diagrams,
    duty,
    estates,
    extensions,
    overrides,
    queries,
)
from workflows.errors import NotFound, WorkflowError
from workflows.fields import record_id
from workflows.rules import current as current_rules
from workflows.words import span

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")


@bp.get("/overdue")
@role_required("supervisor", "admin")
def overdue():
    """Every deadline past due whose step is still not done, with the butler answerable; then
    what is at risk: due within the next 30 minutes, and within 4 hours."""
    now = clock.now()
    month = assessment.current_month()
    theirs = access.estate_ids(current_user)
    # The admin reads each butler's company line; a supervisor the cards of their estates.
    cards = (assessment.scorecards(month)[0] if theirs is None else
             [card for estate_id in theirs
              for card in assessment.scorecards(month, estate_id=estate_id)[0]])
    return render_template(
        "supervisor/overdue.html", server_now=now,
        deadlines=queries.overdue_deadlines(now, current_user),
        soon=queries.deadlines_due(now, timedelta(0), queries.NEEDS_NOW, current_user),
        later=queries.deadlines_due(now, queries.NEEDS_NOW, queries.AT_RISK, current_user),
        needs_now=queries.NEEDS_NOW, at_risk=queries.AT_RISK,
        month=month, cards=cards, by_estate=theirs is not None and len(theirs) > 1)


def _waiting_page(failed=None, status: int = 200):
    return render_template("supervisor/waiting.html", lines=assessment.undecided(current_user),
                           leaves=cover.to_decide(current_user),
                           tickets=queries.waiting_for_supervisor(current_rules(), current_user),
                           handovers=duty.waiting_for_signature(current_user,
                                                                clock.now()),
                           sign_within=span(current_rules().handover_sign_within),
                           **extension_forms.for_waiting(current_user, failed)), status


@bp.get("/waiting")
@role_required("supervisor", "admin")
def waiting():
    """What waits for a supervisor's decision: lines appealed or held for review in any month,
    leave to approve, requests for more time on a deadline, tickets escalated to the supervisor,
    and shift hand-overs the one taking over has not signed in time."""
    return _waiting_page()


@bp.post("/extensions/<int:extension_id>/<decision>")
@role_required("supervisor", "admin")
def decide_extension(extension_id: int, decision: str):
    """Approve (with an optional note) or refuse (with a reason) a request for more time; a
    refusal of the decision shows the page again with what was typed."""
    if decision not in DECISIONS:
        abort(404)
    make_form, decide, said, done = DECISIONS[decision]
    form = make_form(extension_id)
    if not form.validate():
        return _waiting_page((extension_id, decision, form), 422)
    try:
        decide(current_user, extension_id, form.data[said])
    except WorkflowError as exc:
        if isinstance(exc, NotFound):
            abort(404)
        show_refusal(form, exc)
        return _waiting_page((extension_id, decision, form), exc.status)
    flash(str(done), "success")
    return redirect(url_for(".waiting", _anchor="more-time"))


# Each decision: its form, the workflow's function, the input it takes, what the page says.
DECISIONS = {
    "approve": (extension_forms.approve_form, extensions.approve, "note",
                _l("More time given: the step is due at the new time.")),
    "refuse": (extension_forms.refuse_form, extensions.refuse, "reason",
               _l("Request refused: the deadline stays as it was.")),
}


@bp.get("/for-residents")
@role_required("supervisor", "admin")
def for_residents():
    """Steps staff took for a resident, newest first, each with its reason, the clocks it
    stopped (and how close they were) and the resident's objection: a repair cancelled by its
    butler, a solution accepted for the resident. Nobody decides here; anyone may look."""
    steps = queries.steps_for_residents(current_rules(), current_user)
    return render_template("supervisor/for_residents.html", steps=steps,
                           answered=queries.answered(current_rules(), steps),
                           shown=queries.ON_BEHALF_SHOWN)


@bp.get("/deliveries")
@role_required("supervisor", "admin")
def deliveries():
    """The delivery log: notices sent by email or webhook, newest first; filter by what became
    of them (sent, waiting to be tried again, failed) and by person."""
    status = request.args.get("status") or None
    if status not in (None, *NoticeStatus):
        status = None
    person = record_id(request.args.get("person"))
    return render_template("supervisor/deliveries.html", status=status, person=person,
                           statuses=list(NoticeStatus), staff=queries.people_told(current_user),
                           notices=queries.deliveries(current_user, status, person),
                           areas={a.id: a.name for a in areas.robots(current_user)},
                           shown=queries.DELIVERY_LOG_SIZE)


class RobotForm(Form):
    webhook_url = URLField(_l("Webhook address"), render_kw={"placeholder": "https://"})
    webhook_format = SelectField(_l("Format"), choices=[
        SelectChoice("wecom", _l("WeCom group robot")),
        SelectChoice("dingtalk", _l("DingTalk robot")),
        SelectChoice("generic", _l("Signed JSON (a gateway)"))], validate_choice=False)
    webhook_secret = PasswordField(_l("Secret (optional)"),
                                   render_kw={"autocomplete": "off"})


def _robots_page(failed: int | None = None, form: RobotForm | None = None, status: int = 200):
    every = areas.robots(current_user)
    forms = {area.id: RobotForm(formdata=None, prefix=f"area{area.id}", obj=area)
             for area in every}
    if failed in forms:
        forms[failed] = form
    return render_template("supervisor/robots.html", areas=every, forms=forms,
                           failed=failed), status


@bp.get("/robots")
@role_required("supervisor", "admin")
def robots():
    """Each area's own group robot (its butlers' WeCom or DingTalk group), told besides the
    installation's of what the area's staff are told."""
    return _robots_page()


@bp.post("/robots/<int:area_id>")
@role_required("supervisor", "admin")
def set_robot(area_id: int):
    """Set, change or remove (a blank address) an area's robot."""
    form = RobotForm(prefix=f"area{area_id}")
    if not form.validate():
        return _robots_page(area_id, form, 422)
    try:
        area = areas.set_webhook(current_user, area_id, form.webhook_url.data,
                                 form.webhook_format.data, form.webhook_secret.data)
    except WorkflowError as exc:
        show_refusal(form, exc)
        return _robots_page(area_id, form, exc.status)
    flash(_("The group robot of %(area)s is saved.", area=area.name) if area.webhook_url
          else _("%(area)s has no group robot of its own now.", area=area.name), "success")
    return redirect(url_for(".robots"))


@bp.get("/workflows")
@role_required("supervisor", "admin")
def workflows():
    """Each kind's workflow as loaded from the rules in force: a state diagram (Mermaid source
    drawn in the page by the vendored script), the steps that keep the state, and the deadlines
    (with ?estate=ID as they are in that estate, its own values marked)."""
    estate, lines, ignored = None, {}, []
    if request.args.get("estate"):  # the deadlines as they are in this estate
        estate, found, ignored = overrides.of_estate(current_user, request.args["estate"])
        lines = {(line.kind.name, line.rule.name): line for line in found}
    kinds = [{"kind": kind, "source": diagrams.mermaid(kind),
              "in_place": diagrams.steps_in_place(kind)} for kind in current_rules().kinds.values()]
    response = make_response(render_template(
        "supervisor/workflows.html", kinds=kinds, duration=span, estate=estate, lines=lines,
        ignored=ignored, estates=estates.every(current_user)))
    response.headers["Content-Security-Policy"] = CSP_DIAGRAMS
    return response

