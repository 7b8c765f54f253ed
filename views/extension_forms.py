"""The forms of more time for a deadline (延期): asking, on the staff ticket page beside each
running deadline; approving and refusing, on the supervisor's "Waiting for you". They take the
inputs apart; the checks are workflows.extensions', shown next to the inputs they name."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateTimeLocalField, TextAreaField
from wtforms.validators import Optional

from models import Ticket
from views.forms import LOCAL_FORMAT, Form
from workflows import extensions
from workflows.rules import current as current_rules
from workflows.words import duration


class AskForm(Form):
    due_at = DateTimeLocalField(_l("New due time (property time)"), format=LOCAL_FORMAT,
                                validators=[Optional()])
    reason = TextAreaField(_l("Why more time is needed"),
                           description=_l("The supervisor reads it; the resident does not."))


class ApproveForm(Form):
    note = TextAreaField(_l("Note (optional)"))


class RefuseForm(Form):
    reason = TextAreaField(_l("Why not"))


def ask_form(deadline_name: str, **kwargs) -> AskForm:
    return AskForm(prefix=f"ask-{deadline_name}", **kwargs)


def approve_form(extension_id: int, **kwargs) -> ApproveForm:
    return ApproveForm(prefix=f"approve-{extension_id}", **kwargs)


def refuse_form(extension_id: int, **kwargs) -> RefuseForm:
    return RefuseForm(prefix=f"refuse-{extension_id}", **kwargs)


def for_ticket(ticket: Ticket, asking: tuple[str, AskForm] | None = None) -> dict:
    """What the staff ticket page shows of extensions: a form for each running deadline the
    viewer may ask more time for (`asking`: the one sent back with its errors), and the
    ticket's requests."""
    kind = current_rules().kind(ticket.kind)
    asks = []
    for deadline in extensions.extendable(ticket, current_user):
        form = asking[1] if asking and asking[0] == deadline.name \
            else ask_form(deadline.name, formdata=None)
        rule = kind.deadlines[deadline.name]
        asks.append({"deadline": deadline, "rule": rule, "form": form,
                     "limit": duration(rule.extend_up_to),
                     "latest": extensions.latest_due(rule, deadline)})
    asked = extensions.of_ticket(ticket.id)
    # A request refused for a deadline no longer open to one (met, or asked for meanwhile) has
    # no form to go back to: its reason is kept on the page.
    sent_back = asking is not None and asking[1] in [ask["form"] for ask in asks]
    return {"asks": asks, "asked": asked, "asking_forms": [ask["form"] for ask in asks],
            "asking_unsent": {"reason": asking[1].reason.data}
            if asking and not sent_back and asking[1].reason.data else {},
            "waiting_for": {x.deadline_id: x for x in asked if x.status == "pending"}}


def for_waiting(actor, failed: tuple[int, str, Form] | None = None) -> dict:
    """What "Waiting for you" shows of extensions: each request waiting, oldest first, with its
    approve and refuse forms (`failed`: (request, "approve" or "refuse", the form sent back))."""
    rows = []
    for made in extensions.pending(actor):
        forms = {"approve": approve_form(made.id, formdata=None),
                 "refuse": refuse_form(made.id, formdata=None)}
        if failed and failed[0] == made.id:
            forms[failed[1]] = failed[2]
        rows.append({"extension": made, "forms": forms})
    return {"extensions": rows, "failed": [failed[2]] if failed else []}

