"""Who is told what: notices made as rows, in the transaction of their cause.

The rules say who hears of what (workflows/rules.toml: `notify` on a trigger, `[notices]` and a
deadline's `warn_before`, `escalate` and `remind_every`). This module turns a cause into rows of
`notices`, one per cause, level, person and channel, each under a unique key, inserted with ON
CONFLICT DO NOTHING: an engine's step and any number of sweepers make each notice once.

- A step or a new ticket: `for_step`, `for_new`, called by the engine inside its transaction.
- What time causes: `make_due`, called by the sweeper. A deadline's `notice_at` is when it next
  has something to tell (its first warning when armed; its due time once missed), read through
  an index, so the pass costs what is due, never a scan of the tickets. The misses a sweep
  records are told at once, in the transaction that records them (`tell`, called by
  workflows.deadlines.record_misses), without being read again.

Delivery is not here: workflows.delivery sends the pending rows and may fail and retry without
touching the cause.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from models import (
    Area,
    Building,
    Channel,
    Deadline,
    DeadlineStatus,
    Deduction,
    Event,
    Leave,
    Notice,
    NoticeStatus,
    Ticket,
    Unit,
    User,
    db,
)
from workflows import access
from workflows.rules import DeadlineRule, Rules, TriggerRule
from workflows.words import briefly, label, span

NEW, STEP, WARNING, ESCALATION, REMINDER = "new", "step", "warning", "escalation", "reminder"
LEAVE = "leave"  # a leave asked for, approved (its substitute named) or withdrawn
EXTENSION = "extension"  # more time asked for a deadline (延期), and the supervisor's decision
MISSED = "missed"  # what a person chooses for escalations and reminders alike
# An email about a clock that runs out within this is sent at once, even in quiet hours.
URGENT = timedelta(hours=1)
# A sweep makes at most this many deadlines' notices per transaction.
BATCH = 500


# -- who -------------------------------------------------------------------------------------------

class Recipients:
    """Who the audiences of the rules are, for one ticket or a sweep's batch of them, and what
    their areas' groups and clocks are: loaded once for all the tickets it has seen, so a
    catch-up of thousands makes a few queries, not thousands."""

    def __init__(self, now: datetime):
        self.now = now
        self._supervisors: dict[bool, dict[int, list[int]]] = {False: {}, True: {}}
        self._people: dict[int, User | None] = {}
        self._tickets: dict[int, Ticket] = {}
        self._area_hooks: dict[int, int | None] = {}  # by unit: its area, if it has a robot
        self._pressing: dict[int, bool] = {}
        self._away: dict[int, int] | None = None

    def _holder(self, butler_id: int | None) -> int | None:
        """Who hears what the ticket's butler would: their substitute while they are on leave
        now (one query for the whole batch)."""
        if self._away is None:
            self._away = access.substitutes(self.now)
        return self._away.get(butler_id, butler_id)

    def prepare(self, tickets: Iterable[Ticket]) -> None:
        """Find the supervisors of all these tickets' units at once."""
        self._tickets.update((t.id, t) for t in tickets)
        units = {t.unit_id for t in self._tickets.values()}
        for managers in (False, True):
            self._supervisors[managers].update(access.supervisors_of(units, managers))

    def ids(self, ticket: Ticket, audiences: Iterable[str]) -> list[int]:
        self._tickets.setdefault(ticket.id, ticket)
        found: list[int | None] = []
        for audience in audiences:
            if audience == "assignee":
                found.append(self._holder(ticket.assignee_id))
            elif audience == "technician":
                found.append(ticket.technician_id)
            elif audience == "resident":
                found.append(ticket.resident_id)
            elif audience == "area":
                found.append(access.covering_butler_id(ticket.unit_id, ticket.updated_at))
            elif audience in ("supervisor", "manager"):
                known = self._supervisors[audience == "manager"]
                if ticket.unit_id not in known:
                    known.update(access.supervisors_of([ticket.unit_id], audience == "manager"))
                found.extend(known[ticket.unit_id])
        return list(dict.fromkeys(i for i in found if i is not None))

    def load(self, ids: Iterable[int]) -> None:
        missing = set(ids) - self._people.keys()
        if missing:
            loaded = {u.id: u for u in db.session.scalars(
                select(User).where(User.id.in_(missing), User.active))}
            self._people.update({i: loaded.get(i) for i in missing})

    def people(self, ids: list[int]) -> list[User]:
        """The active ones of these people, in this order."""
        self.load(ids)
        return [self._people[i] for i in ids if self._people[i] is not None]

    def area_hook(self, ticket: Ticket) -> int | None:
        """The ticket's area, when the area has its own group robot."""
        if ticket.unit_id not in self._area_hooks:
            units = {t.unit_id for t in self._tickets.values()} | {ticket.unit_id}
            units -= self._area_hooks.keys()
            self._area_hooks.update(dict.fromkeys(units))
            self._area_hooks.update(db.session.execute(
                select(Unit.id, Area.id).join(Unit.building).join(Building.area)
                .where(Unit.id.in_(units), Area.webhook_url.is_not(None))).tuples().all())
        return self._area_hooks[ticket.unit_id]

    def pressing(self, ticket: Ticket) -> bool:
        """Whether a clock of the ticket runs out within URGENT: what is said of it then is
        never held for anyone's quiet hours."""
        if ticket.id not in self._pressing:
            ids = (self._tickets.keys() | {ticket.id}) - self._pressing.keys()
            self._pressing.update(dict.fromkeys(ids, False))
            self._pressing.update(dict.fromkeys(db.session.scalars(
                select(Deadline.ticket_id).where(
                    Deadline.ticket_id.in_(ids), Deadline.status == DeadlineStatus.RUNNING,
                    Deadline.due_at <= self.now + URGENT)), True))
        return self._pressing[ticket.id]


def recipients(ticket: Ticket, audiences: Iterable[str], told: Recipients) -> list[User]:
    """The active people an audience of the rules means for this ticket, each once."""
    return told.people(told.ids(ticket, audiences))


def notice_kind(cause: str) -> str:
    """Which of the kinds a person chooses from (models.people.NOTICE_KINDS) a cause is."""
    return MISSED if cause in (ESCALATION, REMINDER) else STEP if cause == EXTENSION else cause


def quiet_until(person: User, now: datetime) -> datetime | None:
    """When the person's quiet hours around `now` end, or None when it is not quiet for them."""
    start, end = person.quiet_from, person.quiet_until
    if start is None or end is None or start == end:
        return None
    zone = current_app.config["TZ"]
    local = now.astimezone(zone)
    at = local.time()
    if not (start <= at < end if start < end else at >= start or at < end):
        return None
    ends = datetime.combine(local.date(), end, tzinfo=zone)
    if ends <= local:
        ends += timedelta(days=1)
    return ends.astimezone(UTC)


# -- making them -----------------------------------------------------------------------------------

def _insert(rows: list[dict]) -> None:
    """Insert notices; one whose key exists (made by another sweeper) is left as it is.

    One statement run for all the rows (executemany), through Core: a sweep's catch-up makes
    tens of thousands, and compiling a multi-row VALUES or the ORM's bulk path per row cost
    ten times what the database spends writing them."""
    if not rows:
        return
    dialect = {"postgresql": postgresql, "sqlite": sqlite}[db.engine.dialect.name]
    db.session.connection().execute(
        dialect.insert(Notice.__table__).on_conflict_do_nothing(index_elements=["key"]), rows)


def _rows(cause_key: str, cause: str, ticket: Ticket | None, people: list[User], data: dict,
          told: Recipients, skip: int | None = None) -> list[dict]:
    """The rows telling `people` (but not `skip`, who caused it) of one cause: in the app, and
    by email and text for those who chose this kind of notice there (held through their quiet
    hours unless a clock of the ticket is pressing); and, when staff are told, one row for each
    group robot: the installation's and the ticket's area's."""
    now, rows = told.now, []

    def row(key: str, user_id: int | None, channel: str, extra: dict | None = None,
            at: datetime = now) -> dict:
        delivered = channel == Channel.IN_APP  # the row is the delivery
        return dict(key=key, user_id=user_id, channel=channel, cause=cause,
                    ticket_id=ticket.id if ticket else None,
                    data={**data, **(extra or {})}, created_at=now, attempts=0,
                    status=NoticeStatus.SENT if delivered else NoticeStatus.PENDING,
                    sent_at=now if delivered else None, next_try_at=None if delivered else at)

    config = current_app.config
    kind = notice_kind(cause)
    told_people = [p for p in people if p.id != skip]
    for person in told_people:
        rows.append(row(f"{cause_key}:{person.id}:{Channel.IN_APP}", person.id, Channel.IN_APP))
        chosen = [channel for channel, wanted in (
            (Channel.EMAIL, config.get("MAIL_SERVER") and person.email
             and kind in (person.email_for or ())),
            (Channel.SMS, config.get("SMS_WEBHOOK_URL") and person.phone
             and kind in (person.sms_for or ()))) if wanted]
        if chosen:
            held = quiet_until(person, now)
            at = held if held and not (ticket and told.pressing(ticket)) else now
            rows.extend(row(f"{cause_key}:{person.id}:{channel}", person.id, channel, at=at)
                        for channel in chosen)
    if any(p.is_staff for p in told_people):
        if current_app.config.get("WEBHOOK_URL"):
            rows.append(row(f"{cause_key}:group:{Channel.WEBHOOK}", None, Channel.WEBHOOK))
        area = told.area_hook(ticket) if ticket else None
        if area is not None:
            rows.append(row(f"{cause_key}:area:{Channel.WEBHOOK}", None, Channel.WEBHOOK,
                            {"area_id": area}))
    return rows


def for_new(ticket: Ticket, rules: Rules, actor: User, now: datetime) -> None:
    """Tell whom the rules name that a ticket came in."""
    told = Recipients(now)
    _insert(_rows(f"new:{ticket.id}", NEW, ticket, recipients(ticket, rules.notices.new, told),
                  {"kind": ticket.kind}, told, skip=actor.id))


def for_step(ticket: Ticket, rule: TriggerRule, event: Event, actor: User, now: datetime) -> None:
    """Tell whom the trigger's `notify` names that it was fired (never the one who fired it)."""
    if not rule.notify:
        return
    told = Recipients(now)
    _insert(_rows(f"step:{event.id}", STEP, ticket, recipients(ticket, rule.notify, told),
                  {"kind": ticket.kind, "trigger": rule.name, "event_id": event.id,
                   "actor_id": actor.id}, told, skip=actor.id))


def for_leave(leave: Leave, what: str, actor: User, now: datetime) -> None:
    """Tell of a leave: a request (the supervisors, and the butler when asked for them), its
    approval (the butler and whoever asked; the substitute that they now cover), its withdrawal
    (the butler, the substitute, and the supervisors when the butler withdrew it)."""
    supervisors = access.supervisors_of_butler(leave.butler_id)
    audiences = {
        "requested": [(what, supervisors + [leave.butler_id])],
        "approved": [(what, [leave.butler_id, leave.requested_by_id]),
                     ("named", [leave.substitute_id])],
        "cancelled": [(what, [leave.butler_id, leave.substitute_id]
                       + (supervisors if actor.id == leave.butler_id else []))],
    }[what]
    told, rows = Recipients(now), []
    for said, ids in audiences:
        people = told.people(list(dict.fromkeys(i for i in ids if i is not None)))
        rows += _rows(f"leave:{leave.id}:{said}", LEAVE, None, people,
                      {"leave_id": leave.id, "what": said, "actor_id": actor.id,
                       "starts_at": leave.starts_at.isoformat(),
                       "ends_at": leave.ends_at.isoformat()}, told, skip=actor.id)
    _insert(rows)
def for_extension(ticket: Ticket, event: Event, audiences: Iterable[str], also: Iterable[int],
                  actor: User, now: datetime) -> None:
    """Tell of a request for more time (the supervisors) or of its decision (whoever asked, and
    the ticket's butler): `audiences` as in the rules, `also` people by id; never the actor."""
    told = Recipients(now)
    ids = list(dict.fromkeys([*told.ids(ticket, audiences), *also]))
    _insert(_rows(f"extension:{event.id}", EXTENSION, ticket, told.people(ids),
                  {"kind": ticket.kind, "event_id": event.id, "actor_id": actor.id,
                   **{k: event.data.get(k) for k in ("extension_id", "deadline", "due_before",
                                                       "due_at")},
                   "decision": event.trigger}, told, skip=actor.id))


# -- what time causes ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Due:
    key: str
    cause: str
    audiences: tuple[str, ...]
    data: dict


def _due_now(rule: DeadlineRule, deadline: Deadline, now: datetime) -> list[_Due]:
    """What a deadline has to tell at `now`: the latest warning passed while it runs (not the
    earlier ones a late sweep skipped), each escalation level reached and the latest reminder
    while it is missed and undone."""
    base = {"deadline": deadline.name, "deadline_id": deadline.id,
            "due_at": deadline.due_at.isoformat() if deadline.due_at else None}
    if deadline.status == DeadlineStatus.RUNNING and deadline.due_at > now:
        passed = [w for w in rule.warn_before if deadline.due_at - w <= now]
        if passed:
            point = passed[-1]
            left = min(point, deadline.due_at - now)  # a late sweep says what is really left
            return [_Due(f"warn:{deadline.id}:{int(point.total_seconds())}", WARNING, rule.warn,
                         {**base, "before": int(left.total_seconds())})]
        return []
    if not deadline.outstanding:
        return []
    late = now - deadline.due_at
    due = [_Due(f"escalate:{deadline.id}:{level}", ESCALATION, step.to, {**base, "level": level})
           for level, step in enumerate(rule.escalate) if step.after <= late]
    if rule.remind_every and late >= rule.remind_every:
        times = int(late / rule.remind_every)
        due.append(_Due(f"remind:{deadline.id}:{times}", REMINDER, rule.remind,
                        {**base, "times": times}))
    return due


def next_notice_at(rule: DeadlineRule, deadline: Deadline, now: datetime) -> datetime | None:
    """When the deadline next has something to tell after `now`, or None."""
    if deadline.status == DeadlineStatus.RUNNING and deadline.due_at > now:
        later = [deadline.due_at - w for w in rule.warn_before if deadline.due_at - w > now]
        return min(later) if later else None  # the miss itself sets the next time
    if not deadline.outstanding:
        return None
    times = [deadline.due_at + step.after for step in rule.escalate
             if deadline.due_at + step.after > now]
    if rule.remind_every:
        done = int((now - deadline.due_at) / rule.remind_every)
        times.append(deadline.due_at + rule.remind_every * (done + 1))
    return min(times) if times else None


# What the audiences of a ticket and its notices read: locked and read as plain rows, for a
# whole batch, by the sweeper's passes.
TICKET_COLUMNS = (Ticket.id, Ticket.kind, Ticket.unit_id, Ticket.assignee_id, Ticket.technician_id,
                  Ticket.resident_id, Ticket.updated_at)
DEADLINE_COLUMNS = (Deadline.id, Deadline.ticket_id, Deadline.name, Deadline.status,
                    Deadline.due_at, Deadline.notice_at)


def make_due(rules: Rules, now: datetime, batch_size: int = BATCH,
             wait: bool = False) -> tuple[int, bool]:
    """Make one batch of the notices time has caused by `now`; returns how many deadlines were
    passed and whether none is left for this caller.

    The tickets are locked first, by id, as the engine and the miss recorder lock them, so the
    three never deadlock; on PostgreSQL a sweeper skips tickets another writer holds (unless
    told to `wait`, as in workflows.deadlines.record_misses). Each deadline's `notice_at` moves
    on by a conditional update, and the notices' keys make each notice once."""
    candidates = db.session.execute(
        select(Deadline.id, Deadline.ticket_id).where(Deadline.notice_at <= now)
        .order_by(Deadline.notice_at).limit(batch_size)).all()
    if not candidates:
        return 0, True
    wanted = {c.ticket_id for c in candidates}
    tickets = {t.id: t for t in db.session.execute(
        select(*TICKET_COLUMNS).where(Ticket.id.in_(wanted)).order_by(Ticket.id)
        .with_for_update(skip_locked=not wait))}
    due = db.session.execute(  # read again under the locks: a step may have just moved them
        select(*DEADLINE_COLUMNS, Deadline.outstanding.label("outstanding"))
        .where(Deadline.id.in_([c.id for c in candidates if c.ticket_id in tickets]),
               Deadline.notice_at <= now)).all()
    tell(rules, due, tickets, now)
    return len(due), len(candidates) < batch_size and len(tickets) == len(wanted)


def tell(rules: Rules, due, tickets: dict, now: datetime) -> None:
    """Make what each of these deadlines (DEADLINE_COLUMNS rows and `outstanding`, their
    notice_at passed) has to tell at `now`, and move each one's notice_at on; `tickets`
    (TICKET_COLUMNS rows, by id) are theirs, locked."""
    told = Recipients(now)
    told.prepare(tickets.values())
    causes, moves = [], []
    for deadline in due:
        ticket = tickets[deadline.ticket_id]
        rule = rules.kind(ticket.kind).deadlines.get(deadline.name)
        for notice in _due_now(rule, deadline, now) if rule else ():
            causes.append((notice, ticket, told.ids(ticket, notice.audiences)))
        moves.append({"d_id": deadline.id, "was": deadline.notice_at,
                      "next": next_notice_at(rule, deadline, now) if rule else None})
    told.load(i for _notice, _ticket, ids in causes for i in ids)
    _insert([row for notice, ticket, ids in causes
             for row in _rows(notice.key, notice.cause, ticket, told.people(ids),
                              {"kind": ticket.kind, **notice.data}, told)])
    if moves:
        db.session.connection().execute(
            update(Deadline.__table__)
            .where(Deadline.id == bindparam("d_id"), Deadline.notice_at == bindparam("was"))
            .values(notice_at=bindparam("next")), moves)


# -- what they say ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Words:
    subject: str
    text: str
    path: str  # the page it is about, from the site's root


def language_of(person: User | None) -> str:
    return (person.language if person and person.language
            else current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN"))


def words(notice: Notice, rules: Rules, language: str | None = None) -> Words:
    """What a notice says, in its reader's language (or `language`)."""
    with force_locale(language or language_of(notice.user)):
        data: dict[str, Any] = notice.data or {}
        if notice.cause == LEAVE:
            return _leave_words(data)
        ticket = notice.ticket
        kind = rules.kind(ticket.kind)
        about = _("%(kind)s #%(id)d %(title)s", kind=label(kind.label), id=ticket.id,
                  title=ticket.title)
        where = f"{ticket.unit.building.area.name} · {ticket.unit.label}"
        path = f"/tickets/{ticket.id}"
        deadline = kind.deadlines.get(data.get("deadline", ""))
        step = label(deadline.label) if deadline else data.get("deadline", "")
        due = _local(data.get("due_at"))
        if notice.cause == NEW:
            subject = _("New: %(about)s", about=about)
            text = _("%(about)s came in (%(where)s).", about=about, where=where)
        elif notice.cause == STEP:
            trigger = kind.triggers.get(data.get("trigger", ""))
            event = db.session.get(Event, data.get("event_id"))
            actor = db.session.get(User, data.get("actor_id"))
            done = briefly(trigger.done) if trigger else data.get("trigger", "")
            subject = _("%(about)s: %(step)s", about=about, step=done)
            text = _("%(name)s: %(step)s, %(about)s (%(where)s).",
                     name=actor.name if actor else "", step=done, about=about, where=where)
            technician = event and (event.data or {}).get("technician_id")
            if technician and (named := db.session.get(User, technician)):
                text += "\n" + _("Technician: %(name)s", name=named.name)
            reason = event and (event.data or {}).get("reason")
            if reason:
                text += "\n" + _("Reason: %(reason)s", reason=reason)
            shown = event and event.note and (not event.staff_only or
                                              (notice.user is None or notice.user.is_staff))
            if shown:
                text += "\n" + event.note
        elif notice.cause == WARNING:
            before = span(timedelta(seconds=data.get("before", 0)))
            subject = _("Due in %(span)s: %(step)s, %(about)s", span=before, step=step,
                        about=about)
            text = _("%(step)s of %(about)s (%(where)s) is due at %(due)s.", step=step,
                     about=about, where=where, due=due)
        elif notice.cause == ESCALATION and not data.get("level"):
            subject = _("Missed: %(step)s, %(about)s", step=step, about=about)
            text = _("%(step)s of %(about)s (%(where)s) was due at %(due)s and is not done. "
                     "Butler: %(butler)s.", step=step, about=about, where=where, due=due,
                     butler=_charged(data, ticket))
        elif notice.cause == EXTENSION:
            subject, text = _extension_words(data, about, where, step, due)
            if data.get("decision") == "extension_requested":
                path = "/supervisor/waiting"
        else:  # a higher level, or a reminder: still not done
            subject = _("Still not done: %(step)s, %(about)s", step=step, about=about)
            text = _("%(step)s of %(about)s (%(where)s) was due at %(due)s and is still not "
                     "done. Butler: %(butler)s.", step=step, about=about, where=where, due=due,
                     butler=_charged(data, ticket))
        return Words(subject=subject, text=text, path=path)


def _leave_words(data: dict) -> Words:
    leave = db.session.get(Leave, data["leave_id"])
    actor = db.session.get(User, data.get("actor_id"))
    names = dict(actor=actor.name if actor else "", butler=leave.butler.name,
                 substitute=leave.substitute.name if leave.substitute else "—",
                 when=f"{_local(data['starts_at'])} – {_local(data['ends_at'])}")
    subject, text = {
        "requested": (_("Leave asked for: %(butler)s, %(when)s", **names),
                      _("%(butler)s asks for leave, %(when)s. Reason: %(reason)s",
                        reason=leave.reason, **names)
                      if actor is None or actor.id == leave.butler_id else
                      _("%(actor)s asked for leave for %(butler)s, %(when)s. Reason: %(reason)s",
                        reason=leave.reason, **names)),
        "approved": (_("Leave approved: %(butler)s, %(when)s", **names),
                     _("%(actor)s approved the leave of %(butler)s, %(when)s. %(substitute)s "
                       "covers: new requests of the areas go to them.", **names)),
        "named": (_("You cover for %(butler)s, %(when)s", **names),
                  _("%(actor)s named you to cover for %(butler)s, %(when)s: new requests of "
                    "their areas come to you, and deadlines falling due then are yours.",
                    **names)),
        "cancelled": (_("Leave withdrawn: %(butler)s, %(when)s", **names),
                      _("%(actor)s withdrew the leave of %(butler)s, %(when)s (or ended it "
                        "early): from now on the butler answers for their areas again.",
                        **names)),
    }[data["what"]]
    return Words(subject=subject, text=text, path=f"/cover/leave#leave-{leave.id}")
def _extension_words(data: dict, about: str, where: str, step: str, due: str) -> tuple[str, str]:
    """What a notice of more time asked for (or of its decision) says: who, which step, from
    when to when, and the reason given (staff hear of these; the reason is for staff)."""
    event = db.session.get(Event, data.get("event_id"))
    actor = db.session.get(User, data.get("actor_id"))
    who, before = actor.name if actor else "", _local(data.get("due_before"))
    decision = data.get("decision")
    if decision == "extension_requested":
        subject = _("More time asked: %(step)s, %(about)s", step=step, about=about)
        text = _("%(name)s asks to move %(step)s of %(about)s (%(where)s) from %(old)s to "
                 "%(new)s.", name=who, step=step, about=about, where=where, old=before, new=due)
    elif decision == "extension_approved":
        subject = _("More time given: %(step)s, %(about)s", step=step, about=about)
        text = _("%(name)s moved %(step)s of %(about)s (%(where)s) from %(old)s to %(new)s.",
                 name=who, step=step, about=about, where=where, old=before, new=due)
    else:
        subject = _("More time refused: %(step)s, %(about)s", step=step, about=about)
        text = _("%(name)s did not move %(step)s of %(about)s (%(where)s) to %(new)s: it stays "
                 "due at %(old)s.", name=who, step=step, about=about, where=where, old=before,
                 new=due)
    if event is not None and event.note:
        # An approval's note says why it was given (同意), or nothing at all: it is no reason.
        text += "\n" + (_("Note: %(note)s", note=event.note)
                        if decision == "extension_approved"
                        else _("Reason: %(reason)s", reason=event.note))
    return subject, text


def _charged(data: dict, ticket: Ticket) -> str:
    """Who a miss is charged to (and whom they covered for): the line on the scorecard, not
    whoever holds the ticket by the time it is read."""
    line = db.session.scalar(select(Deduction).where(
        Deduction.deadline_id == data.get("deadline_id")))
    if line is None or line.butler is None:
        return ticket.assignee.name if ticket.assignee else "—"
    if line.covering_for is not None:
        return _("%(name)s, covering for %(away)s", name=line.butler.name,
                 away=line.covering_for.name)
    return line.butler.name


def _local(iso: str | None) -> str:
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).astimezone(current_app.config["TZ"]).strftime(
        "%Y-%m-%d %H:%M")
