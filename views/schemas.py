"""The JSON API v1's contract as marshmallow schemas: request bodies, query parameters, answers.

They describe, they do not check: the views build their answers as they always did and the
engine checks what is sent (its messages name the fields). views.openapi turns these classes
into the OpenAPI description, and tests/test_openapi.py holds the API to them, so a schema that
says less or more than a view answers fails there. Answers are exact: every key a view always
sends is required, every key it may send as null allows None, and no other key may appear.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from models import (
    CredentialKind,
    DeadlineStatus,
    ExtensionStatus,
    MonthAction,
    ReviewOutcome,
    Role,
    SpotCheckResult,
)
from models.people import NOTICE_KINDS
from views.uploads import FILE_TYPES
from workflows.accounts import MAX_PASSWORD, MIN_PASSWORD
from workflows.areas import FORMATS as ROBOT_FORMATS
from workflows.attachments import FILE_KINDS as ATTACHMENT_KINDS
from workflows.attachments import MAX_FILES
from workflows.calendars import MAX_CLOSED_DAYS, MAX_NOTE, WEEKDAYS
from workflows.fields import MAX_ID, MAX_TEXT, MAX_TITLE
from workflows.rules import CALENDARS
from workflows.sheets import COLUMNS as SHEET_COLUMNS
from workflows.sheets import LONGEST as SHEET_LONGEST
from workflows.sheets import REQUIRED as REQUIRED_COLUMNS

MONTH = r"^2[0-9]{3}-(0[1-9]|1[0-2])$"
PHONE = r"^\+?[0-9][0-9 -]{5,18}[0-9]$"
LINE_STATUSES = ("counted", "appealed", "held", "waived", "upheld")  # workflows.assessment.line
SOURCES = ("deadline", "finding")
NOTICE_CAUSES = ("new", "step", "warning", "escalation", "reminder",  # workflows.notices
                 "leave", "extension")


class RulesName(fields.String):
    """A name the workflow rules define (a kind, a state, a trigger, a finding's code): the
    OpenAPI description enumerates those of the rules in force (views.openapi)."""

    def __init__(self, vocabulary: str, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary = vocabulary


def text(description: str = "", **kwargs) -> fields.String:
    return fields.String(metadata={"description": description} if description else {}, **kwargs)


def record_id(description: str = "", **kwargs) -> fields.Integer:
    return fields.Integer(validate=validate.Range(1, MAX_ID),
                          metadata={"description": description} if description else {}, **kwargs)


def time(description: str = "", **kwargs) -> fields.DateTime:
    return fields.DateTime(metadata={"description": description} if description else {}, **kwargs)


def one_of(choices, description: str = "", **kwargs) -> fields.String:
    return fields.String(validate=validate.OneOf(list(choices)),
                         metadata={"description": description} if description else {}, **kwargs)


def month(description: str = "a local calendar month, YYYY-MM", **kwargs) -> fields.String:
    return fields.String(validate=validate.Regexp(MONTH), metadata={"description": description},
                         **kwargs)


def nested(schema) -> fields.Nested:
    return fields.Nested(schema, required=True)


def many(schema) -> fields.List:
    return fields.List(fields.Nested(schema), required=True)


def names() -> fields.List:
    return fields.List(fields.String(), required=True)


# -- shared pieces --------------------------------------------------------------------------------

class Label(Schema):
    """A name shown to people, in both languages."""

    en = fields.String(required=True)
    zh = fields.String(required=True)


class ApiErrorDetail(Schema):
    code = text("what went wrong, for programs: unauthorized, forbidden, not_found, conflict, "
                "stale_version, invalid, too_many_requests, ...", required=True)
    message = text("what went wrong, in English, for people", required=True)
    fields_ = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                          data_key="fields", metadata={
                              "description": "each field (or query parameter) at fault, and "
                                             "what is wrong with it"})
    ticket_id = record_id("already_registered: the ticket the same request made when it was "
                          "sent the first time")
    problems = fields.List(fields.Nested(lambda: ImportProblem()), metadata={
        "description": "an owner sheet refused: every problem, by row and column"})


class ApiError(Schema):
    """Every refusal; it changes nothing."""

    error = nested(ApiErrorDetail)


class Person(Schema):
    id = record_id(required=True)
    name = fields.String(required=True)
    username = fields.String(required=True)
    email = fields.String(allow_none=True, metadata={
        "description": "where notices are emailed (null: none); shown to the person themself "
                       "and to staff only"})
    phone = fields.String(allow_none=True, metadata={
        "description": "a mainland mobile number (null: none); shown to the person themself "
                       "and to staff only"})


HHMM = r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$"
QUIET_FROM = ("local time the quiet hours start, HH:MM (null: none); emails that can wait are "
              "held until they end, never one about a clock running out within an hour")
QUIET_UNTIL = "local time the quiet hours end, HH:MM (null: none)"


def chosen_kinds(how: str, **kwargs) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(NOTICE_KINDS)), metadata={
        "description": f"the kinds of notice also {how}: new requests, steps on one's tickets, "
                       "warnings before a deadline, missed deadlines"}, **kwargs)


def clock_time(description: str, **kwargs) -> fields.String:
    return fields.String(allow_none=True, validate=validate.Regexp(HHMM),
                         metadata={"description": description}, **kwargs)


class User(Person):
    role = one_of(Role, required=True)
    unit_id = record_id("the unit a resident lives in", required=True, allow_none=True)
    email_for = chosen_kinds("emailed", required=True)
    sms_for = chosen_kinds("texted to the phone (with the company's SMS gateway)", required=True)
    quiet_from = clock_time(QUIET_FROM, required=True)
    quiet_until = clock_time(QUIET_UNTIL, required=True)


class NoticeSettings(Schema):
    """A change to one's notice settings; what is left out stays as it is."""

    email = fields.String(allow_none=True, metadata={"description": "blank or null: none"})
    phone = fields.String(allow_none=True, metadata={
        "description": "a mainland mobile number, 11 digits (+86 allowed); blank or null: none"})
    email_for = chosen_kinds("emailed")
    sms_for = chosen_kinds("texted to the phone (with the company's SMS gateway); needs a phone")
    quiet_from = clock_time(QUIET_FROM)
    quiet_until = clock_time(QUIET_UNTIL)


# -- logins ---------------------------------------------------------------------------------------

class TokenRequest(Schema):
    username = text(required=True)
    password = text(required=True)


class Token(Schema):
    token = text("send it as 'Authorization: Bearer <token>'", required=True)
    expires_at = time(required=True)
    user = nested(User)


class Credential(Schema):
    id = record_id(required=True)
    kind = one_of(CredentialKind, "api: a bearer token; browser: a page session", required=True)
    created_at = time(required=True)
    expires_at = time(required=True)
    current = fields.Boolean(required=True,
                             metadata={"description": "the login this request came with"})


class Credentials(Schema):
    tokens = many(Credential)


class PasswordChange(Schema):
    current_password = text(required=True)
    new_password = text(required=True, validate=validate.Length(MIN_PASSWORD, MAX_PASSWORD))


# -- tickets --------------------------------------------------------------------------------------

def kind_details(required: bool = False, **kwargs) -> fields.Dict:
    """A kind's details: the names and types its rules declare ([kind.details] in
    workflows/rules.toml, also in GET /api/v1/workflows), e.g. a renovation's works_start."""
    return fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True),
                       required=required, metadata={"description": (
                           "the kind's details, by name, as its rules declare them (GET "
                           "/api/v1/workflows); none for a kind that asks for none")}, **kwargs)


class TicketRequest(Schema):
    kind = RulesName("kind", required=True)
    title = text(required=True, validate=validate.Length(1, MAX_TITLE))
    description = text(validate=validate.Length(max=MAX_TEXT), allow_none=True)
    unit_id = record_id("a resident's own unit by default; only staff may give another",
                        allow_none=True)
    reported_at = time("when the call came in, for a call registered afterwards; staff only, "
                       "at most 7 days back; "
                       "a time without an offset is the property's local time", allow_none=True)
    details = kind_details(allow_none=True)


class TicketQuery(Schema):
    kind = RulesName("kind")
    state = RulesName("state")
    assignee = text("'me', or the id of the butler holding the ticket",
                    validate=validate.Regexp(r"^(me|[0-9]+)$"))
    overdue = one_of(("true", "false"))
    page = record_id(load_default=1)
    per_page = record_id("the server's page size (API_PAGE_SIZE, 50) by default; at most 200 "
                         "are answered")


class Unit(Schema):
    id = record_id(required=True)
    label = text("building and number, as people say them", required=True)
    building = fields.String(required=True)
    area = fields.String(required=True)


class Deadline(Schema):
    name = fields.String(required=True)
    label = fields.Nested(Label, required=True, allow_none=True)
    seq = fields.Integer(required=True, metadata={"description": "1 for the first arming"})
    status = one_of(DeadlineStatus, required=True)
    armed_at = time(required=True)
    due_at = time("null while paused", required=True, allow_none=True)
    remaining_seconds = fields.Integer(required=True, allow_none=True, metadata={
        "description": "what was left on the clock; set only while paused"})
    closed_at = time(required=True, allow_none=True)
    points = fields.Integer(metadata={"description": "the deduction for a miss (not shown to "
                                                     "residents)"})
    article = fields.Integer(metadata={"description": "the article of the assessment standard "
                                                      "(not shown to residents)"})
    overdue = fields.Boolean(required=True)


class AllowedTrigger(Schema):
    name = fields.String(required=True)
    label = nested(Label)
    requires = names()
    accepts = names()


class Event(Schema):
    id = record_id(required=True)
    trigger = text("the trigger fired; also create, attach, and deadline_missed (recorded by "
                   "the system)", required=True)
    from_state = fields.String(required=True, allow_none=True)
    to_state = fields.String(required=True)
    actor = fields.Nested(Person, required=True, allow_none=True,
                          metadata={"description": "null: the system"})
    note = fields.String(required=True, metadata={
        "description": "empty for a resident when the note is for staff only"})
    staff_only = fields.Boolean(required=True, metadata={
        "description": "the note is for staff only (what to bring, whom to ask)"})
    data = fields.Dict(required=True, metadata={"description": "what the step carried; a "
                                                               "resubmission's details as "
                                                               "{name: {from, to}}"})
    at = time(required=True)


class Attachment(Schema):
    id = record_id(required=True)
    name = text("the file's name on the sender's device", required=True)
    content_type = one_of([mime for mime, _test in FILE_TYPES.values()], required=True)
    size = fields.Integer(required=True, metadata={"description": "bytes"})
    kind = one_of(ATTACHMENT_KINDS, "what the sender said it is", required=True, allow_none=True)
    step = text("the trigger it came with", required=True, allow_none=True)
    added_by = fields.Nested(Person, required=True, allow_none=True)
    added_at = time(required=True)
    url = text("where to download it", required=True)


class TicketSummary(Schema):
    """A ticket as listed: without its timeline and files."""

    id = record_id(required=True)
    kind = RulesName("kind", required=True)
    state = RulesName("state", required=True)
    state_label = nested(Label)
    version = fields.Integer(required=True, metadata={"description": "send it back to fire"})
    title = fields.String(required=True)
    description = fields.String(required=True)
    unit = nested(Unit)
    resident = fields.Nested(Person, required=True, allow_none=True)
    resident_phone = fields.String(required=True, allow_none=True, metadata={
        "description": "the resident's phone, for staff who call them; null for residents"})
    assignee = fields.Nested(Person, required=True, allow_none=True)
    technician = fields.Nested(Person, required=True, allow_none=True)
    rating = fields.Integer(required=True, allow_none=True)
    reported_at = time(required=True)
    created_at = time(required=True)
    updated_at = time(required=True)
    details = kind_details(required=True)
    overdue = fields.Boolean(required=True)
    deadlines = many(Deadline)
    allowed_triggers = many(AllowedTrigger)


class Ticket(TicketSummary):
    """A ticket with its timeline and files."""

    events = many(Event)
    attachments = many(Attachment)


class TicketList(Schema):
    tickets = many(TicketSummary)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class Fire(Schema):
    """The trigger, the version read, and the data the trigger requires or accepts
    (GET /api/v1/workflows); empty values count as not given."""

    trigger = RulesName("trigger", required=True)
    version = fields.Integer(required=True, metadata={
        "description": "the version you read (digits as text are taken too)"})
    note = text(validate=validate.Length(1, MAX_TEXT), allow_none=True)
    reason = text(validate=validate.Length(1, MAX_TEXT), allow_none=True)
    rating = fields.Integer(validate=validate.Range(1, 5), allow_none=True)
    promised_at = time("a complaint's promised time: in the future", allow_none=True)
    result = text("the value that chooses the next state, e.g. an inspection's ok or violation",
                  allow_none=True)
    technician_id = record_id(allow_none=True)
    assignee_id = record_id(allow_none=True)
    title = text("a resubmission's title, put right", validate=validate.Length(1, MAX_TITLE),
                 allow_none=True)
    description = text("a resubmission's description, put right",
                       validate=validate.Length(1, MAX_TEXT), allow_none=True)
    details = kind_details(allow_none=True)
    staff_only = fields.Boolean(allow_none=True, metadata={
        "description": "staff: the note is for staff only, never shown to the resident"})


class AttachmentUpload(Schema):
    file = fields.List(fields.Raw(metadata={"type": "string", "format": "binary"}),
                       required=True, validate=validate.Length(1, MAX_FILES), metadata={
                           "description": "JPEG, PNG, WebP or PDF by content, at most 10 MB each; "
                                          "send the part once per file"})
    kind = one_of(ATTACHMENT_KINDS)
    note = text("what the files show, for whoever reads the ticket", allow_none=True)


class Attachments(Schema):
    attachments = many(Attachment)


# -- deductions and the rules ---------------------------------------------------------------------

class DeductionQuery(Schema):
    butler_id = record_id()
    month = month()


class TicketRef(Schema):
    id = record_id(required=True)
    kind = RulesName("kind", required=True)
    title = fields.String(required=True)


class Deduction(Schema):
    id = record_id(required=True)
    butler = fields.Nested(Person, required=True, allow_none=True)
    ticket = fields.Nested(TicketRef, required=True, allow_none=True)
    source = one_of(SOURCES, required=True)
    deadline = text("the deadline missed", required=True, allow_none=True)
    finding_code = fields.String(required=True, allow_none=True)
    note = fields.String(required=True)
    points = fields.Integer(required=True, metadata={"description": "negative: a deduction; "
                                                                    "positive: a bonus"})
    article = fields.Integer(required=True)
    missed_at = time(required=True)
    recorded_at = time(required=True)
    waived = fields.Boolean(required=True)
    held = fields.Boolean(required=True)
    counts = fields.Boolean(required=True)
    review = one_of(ReviewOutcome, required=True, allow_none=True)
    appealed = fields.Boolean(required=True)


class Deductions(Schema):
    deductions = many(Deduction)
    total_points = fields.Integer(required=True)


class StateRule(Schema):
    name = fields.String(required=True)
    label = nested(Label)
    final = fields.Boolean(required=True)


class TriggerRule(Schema):
    name = fields.String(required=True)
    label = nested(Label)
    from_ = fields.List(fields.String(), required=True, data_key="from")
    to = fields.Raw(required=True, metadata={
        "description": "the next state; {by: field, value: state, ...} when a value chooses it; "
                       "null when the state stays",
        "oneOf": [{"type": "string"}, {"type": "null"},
                  {"type": "object", "required": ["by"],
                   "additionalProperties": {"type": "string"}}]})
    roles = names()
    requires = names()
    accepts = names()


class DeadlineRule(Schema):
    name = fields.String(required=True)
    label = nested(Label)
    starts_in = names()
    met_in = names()
    paused_in = names()
    cancelled_in = names()
    rearmed_by = names()
    repeats = fields.Boolean(required=True)
    within_seconds = fields.Integer(required=True)
    calendar = one_of(CALENDARS, "calendar: every second counts; office: only the office hours "
                      "of the estate's working days (GET /estates/{id}/calendar)", required=True)
    points = fields.Integer(required=True)
    article = fields.Integer(required=True)


class KindWorkflow(Schema):
    label = nested(Label)
    initial = fields.String(required=True)
    states = many(StateRule)
    triggers = many(TriggerRule)
    deadlines = many(DeadlineRule)


# GET /workflows answers each kind by its name: a field, as marshmallow has no schema whose keys
# are data.
WORKFLOWS = fields.Dict(keys=fields.String(), values=fields.Nested(KindWorkflow),
                        metadata={"description": "each kind of ticket by its name"})


# -- the assessment -------------------------------------------------------------------------------

class Grade(Schema):
    min = fields.Integer(required=True, allow_none=True,
                         metadata={"description": "null: every score below the grades above"})
    label = nested(Label)


class FindingRule(Schema):
    code = fields.String(required=True)
    article = fields.Integer(required=True)
    points = fields.Integer(required=True)
    label = nested(Label)


class SpotCheckRule(Schema):
    share = fields.Float(required=True)
    findings = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                           metadata={"description": "ticket kind: the finding an unsatisfied "
                                                    "follow-up becomes"})


class AssessmentRules(Schema):
    full_score = fields.Integer(required=True)
    grades = many(Grade)
    findings = many(FindingRule)
    spot_check = nested(SpotCheckRule)


class EstateQuery(Schema):
    estate_id = record_id("one of the estates you supervise (the admin: any); implied when "
                          "you have one")


class EstateMonthQuery(EstateQuery):
    month = month("a local calendar month, YYYY-MM; this month by default")


class ScorecardQuery(Schema):
    month = month("a local calendar month, YYYY-MM; this month by default")
    estate_id = record_id("one of the estates you supervise (the admin: any; a butler: one "
                          "they have a card in); implied when there is one")
    butler_id = record_id()
    format = one_of(("json", "xlsx", "csv", "lines-csv"), load_default="json")


class LineAppeal(Schema):
    reason = fields.String(required=True)
    at = time(required=True)


class LineReview(Schema):
    outcome = one_of(ReviewOutcome, required=True)
    reason = fields.String(required=True)
    by = fields.String(required=True)
    at = time(required=True)


class CoveredButler(Schema):
    id = record_id(required=True)
    name = fields.String(required=True)


class Line(Schema):
    """A scorecard line: a missed deadline or a supervisor's finding."""

    id = record_id(required=True)
    source = one_of(SOURCES, required=True)
    butler_id = record_id(required=True, allow_none=True)
    butler = fields.String(required=True, allow_none=True)
    covering_for = fields.Nested(
        "CoveredButler", allow_none=True,
        metadata={"description": "a miss charged to a substitute: the butler on leave they "
                                 "covered for; absent from cards frozen before leave was "
                                 "kept"})
    finding_code = fields.String(required=True, allow_none=True)
    deadline = fields.String(required=True, allow_none=True)
    ticket_id = record_id(required=True, allow_none=True)
    ticket_title = fields.String(required=True, allow_none=True)
    points = fields.Integer(required=True)
    article = fields.Integer(required=True)
    what = nested(Label)
    note = fields.String(required=True)
    evidence = text("the stored photo or PDF of a finding", required=True, allow_none=True)
    missed_at = time(required=True)
    recorded_at = time(required=True)
    recorded_by = fields.String(required=True, allow_none=True)
    status = one_of(LINE_STATUSES, required=True)
    held = fields.Boolean(required=True)
    appeal = fields.Nested(LineAppeal, required=True, allow_none=True)
    review = fields.Nested(LineReview, required=True, allow_none=True)


class EstateRef(Schema):
    id = record_id(required=True)
    name = fields.String(required=True)


class Scorecard(Schema):
    butler = nested(Person)
    estate = nested(EstateRef)
    month = fields.String(required=True)
    score = fields.Integer(required=True)
    grade = nested(Label)
    deductions = fields.Integer(required=True)
    bonuses = fields.Integer(required=True)
    waived = fields.Integer(required=True)
    held = fields.Integer(required=True)
    lines = many(Line)


class Closing(Schema):
    action = one_of(MonthAction, required=True)
    by = fields.String(required=True)
    at = time(required=True)
    reason = fields.String(required=True)


class Scorecards(Schema):
    month = fields.String(required=True)
    estate = nested(EstateRef)
    closed = fields.Boolean(required=True)
    closing = fields.Nested(Closing, required=True, allow_none=True)
    scorecards = many(Scorecard)
    recorded_after_closing = many(Line)


class Reason(Schema):
    reason = text(required=True, validate=validate.Length(1, MAX_TEXT))


class OptionalReason(Schema):
    reason = text(validate=validate.Length(max=MAX_TEXT))


class ClosingRequest(OptionalReason):
    estate_id = record_id("one of the estates you supervise (the admin: any); implied when "
                          "you have one")


class ReopeningRequest(Reason):
    estate_id = record_id("one of the estates you supervise (the admin: any); implied when "
                          "you have one")


class FindingRequest(Schema):
    butler_id = record_id("an active butler", required=True)
    code = RulesName("finding", required=True)
    note = text(required=True, validate=validate.Length(1, MAX_TEXT))
    ticket_id = record_id(allow_none=True)
    occurred_at = time("within the last year; now by default", allow_none=True)
    estate_id = record_id("the ticket's estate, or one you supervise; implied when you have "
                          "one", allow_none=True)


class MonthPath(Schema):
    month = month(required=True)


class MonthQuery(Schema):
    month = month("a local calendar month, YYYY-MM; this month by default")


class SpotCheckDraw(Schema):
    month = month(required=True)
    estate_id = record_id("one of the estates you supervise (the admin: any); implied when "
                          "you have one")


class SpotCheckTicket(TicketRef):
    butler_id = record_id(required=True, allow_none=True)


class SpotCheckItem(Schema):
    id = record_id(required=True)
    ticket = nested(SpotCheckTicket)
    result = one_of(SpotCheckResult, required=True, allow_none=True)
    note = fields.String(required=True)
    recorded_at = time(required=True, allow_none=True)
    finding_id = record_id(required=True, allow_none=True)


class SpotCheck(Schema):
    """A month's spot-check; before the draw, only what it would take."""

    month = fields.String(required=True)
    estate = nested(EstateRef)
    drawn = fields.Boolean(required=True)
    id = record_id("once drawn")
    seed = fields.Integer(metadata={"description": "once drawn: "
                                                   "random.Random(seed).sample(population, size)"})
    population_size = fields.Integer(required=True)
    sample_size = fields.Integer(required=True)
    drawn_at = time("once drawn")
    drawn_by = text("once drawn")
    done = fields.Integer(metadata={"description": "once drawn: the calls recorded"})
    items = many(SpotCheckItem)


class SpotCheckCall(Schema):
    result = one_of(SpotCheckResult, required=True)
    note = text("required to make a finding", validate=validate.Length(max=MAX_TEXT))
    make_finding = fields.Boolean(load_default=False, metadata={
        "description": "an unsatisfied call becomes a finding at once"})


class MonthStatus(Schema):
    month = fields.String(required=True)
    estate = nested(EstateRef)
    closed = fields.Boolean(required=True)
    history = many(Closing)


class EstateScore(EstateRef):
    score = fields.Integer(required=True)


class CompanyLine(Schema):
    """A butler's month across the company: the sums of their estate cards."""

    butler = nested(Person)
    month = fields.String(required=True)
    score = fields.Integer(required=True, metadata={
        "description": "the full score plus every counting line in every estate"})
    grade = nested(Label)
    deductions = fields.Integer(required=True)
    bonuses = fields.Integer(required=True)
    waived = fields.Integer(required=True)
    held = fields.Integer(required=True)
    lines = many(Line)
    estates = many(EstateScore)


class EstateMonth(EstateRef):
    closed = fields.Boolean(required=True)
    average = fields.Float(required=True, allow_none=True)
    scorecards = many(Scorecard)


class Company(Schema):
    month = fields.String(required=True)
    estates = many(EstateMonth)
    butlers = many(CompanyLine)
    average = fields.Float(required=True, allow_none=True)


# -- notifications --------------------------------------------------------------------------------

class NotificationQuery(Schema):
    unread = one_of(("true", "false"), "true: only those not read yet")
    page = record_id(load_default=1)
    per_page = record_id("the server's page size (API_PAGE_SIZE, 50) by default; at most 200 "
                         "are answered")


class Notification(Schema):
    """What one was told in the app (the bell), in English."""

    id = record_id(required=True)
    cause = one_of(NOTICE_CAUSES, "new: a ticket came in; step: a step was taken; warning: a "
                   "deadline is near; escalation: a deadline was missed; reminder: it is still "
                   "not done; leave: a leave asked for, approved or withdrawn (no ticket); "
                   "extension: more time was asked for a deadline, or decided on",
                   required=True)
    ticket_id = record_id(required=True, allow_none=True)
    subject = fields.String(required=True)
    url = text("the page it is about, from the site's root", required=True)
    text = fields.String(required=True)
    created_at = time(required=True)
    read_at = time("null while unread", required=True, allow_none=True)


class NotificationList(Schema):
    notifications = many(Notification)
    unread = fields.Integer(required=True, metadata={"description": "how many are unread, in all"})
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class NotificationsRead(Schema):
    read = fields.Integer(required=True, metadata={"description": "how many were marked read"})


class OpenAPIDocument(Schema):
    """This description."""

    openapi = fields.String(required=True)
    info = fields.Dict(required=True)
    paths = fields.Dict(required=True)
    components = fields.Dict(required=True)


# -- the areas' group robots ----------------------------------------------------------------------


class Robot(Schema):
    area_id = record_id(required=True)
    area = fields.String(required=True)
    webhook_url = fields.String(required=True, allow_none=True,
                                metadata={"description": "null: the area has no robot of its own"})
    webhook_format = fields.String(required=True, allow_none=True,
                                   validate=validate.OneOf(ROBOT_FORMATS))
    has_secret = fields.Boolean(required=True, metadata={
        "description": "whether a secret is set (it is never shown)"})


class RobotList(Schema):
    webhooks = fields.List(nested(Robot), required=True)


class RobotChange(Schema):
    webhook_url = fields.String(allow_none=True, metadata={
        "description": "http:// or https://, a public address; blank or null: none"})
    webhook_format = one_of(ROBOT_FORMATS, "required with an address")
    webhook_secret = fields.String(allow_none=True, metadata={
        "description": "DingTalk's signing secret, or the generic webhook's HMAC key; left out: "
                       "kept"})


# -- who covers an area: its butler with dates, leave and substitutes (workflows.cover) ----------

LEAVE_STATUSES = ("requested", "approved", "running", "over", "cancelled")  # cover.status


class AreaPeriod(Schema):
    butler = nested(Person)
    starts_at = time(required=True)
    ends_at = time("null: still running", required=True, allow_none=True)


class Area(Schema):
    id = record_id(required=True)
    name = fields.String(required=True)
    butler = fields.Nested(Person, required=True, allow_none=True)
    periods = many(AreaPeriod)


class Areas(Schema):
    areas = many(Area)


class AreaButlerChange(Schema):
    butler_id = record_id("an active butler: the area's butler from now", required=True)
    note = text("why, for the timeline of each ticket handed over",
                validate=validate.Length(max=MAX_TEXT))


class Leave(Schema):
    id = record_id(required=True)
    butler = nested(Person)
    substitute = fields.Nested(Person, required=True, allow_none=True)
    starts_at = time(required=True)
    ends_at = time("exclusive", required=True)
    reason = fields.String(required=True)
    status = one_of(LEAVE_STATUSES, required=True)
    requested_by = nested(Person)
    requested_at = time(required=True)
    decided_by = fields.Nested(Person, required=True, allow_none=True)
    decided_at = time(required=True, allow_none=True)
    cancelled_by = fields.Nested(Person, required=True, allow_none=True)
    cancelled_at = time(required=True, allow_none=True)
    left_with = fields.List(record_id(), required=True, metadata={
        "description": "open tickets still held by the butler on leave, to hand over"})


class Leaves(Schema):
    leaves = many(Leave)


class LeaveRequest(Schema):
    butler_id = record_id("the butler going on leave; a butler: themself (the default)")
    starts_at = time(required=True)
    ends_at = time("after starts_at, in the future", required=True)
    substitute_id = record_id("an active butler not on leave then (a supervisor names it when "
                              "approving, if not here)", allow_none=True)
    reason = text(required=True, validate=validate.Length(1, MAX_TEXT))


class LeaveApproval(Schema):
    substitute_id = record_id("an active butler not on leave then; by default the one asked "
                              "for", allow_none=True)


class HandOver(Schema):
    note = text(validate=validate.Length(max=MAX_TEXT))


class HandedOver(Schema):
    handed = fields.List(record_id(), required=True)
    leave = nested(Leave)


# -- search and units -----------------------------------------------------------------------------

class SearchQuery(Schema):
    q = text("a ticket's number (#42), a unit (its building and number, or the number alone), "
             "a resident's name or phone "
             "(4 digits or more), or words of a title or description; 2 characters at least",
             required=True)


class Resident(Person):
    active = fields.Boolean(required=True, metadata={
        "description": "false: the account cannot log in"})


class UnitFound(Unit):
    residents = many(Resident)


class SearchResult(Schema):
    query = text("the text searched, as it was read (spaces collapsed)", required=True)
    tickets = many(TicketSummary)
    units = many(UnitFound)
    more = fields.Boolean(required=True, metadata={
        "description": "more tickets match than are answered (50): search more precisely"})


class UnitPage(UnitFound):
    tickets = many(TicketSummary)


# -- more time for a deadline (workflows.extensions) ----------------------------------------------

class Extension(Schema):
    id = record_id(required=True)
    ticket_id = record_id(required=True)
    deadline = fields.String(required=True, metadata={"description": "the deadline's name"})
    deadline_seq = fields.Integer(required=True, metadata={
        "description": "the arming asked about (an approval arms the next one)"})
    due_before = time("when the deadline was due when asked", required=True)
    due_at = time("the due time asked for", required=True)
    reason = fields.String(required=True)
    status = one_of(ExtensionStatus, "pending: waits for a supervisor; approved; refused; "
                    "cancelled: withdrawn by whoever asked; lapsed: the step was done (or the "
                    "ticket ended) first", required=True)
    requested_by = nested(Person)
    requested_at = time(required=True)
    decided_by = fields.Nested(Person, required=True, allow_none=True)
    decided_at = time(required=True, allow_none=True)
    decision_reason = fields.String(required=True, metadata={
        "description": "a refusal's reason, or an approval's note"})
    waived_deduction_id = record_id("the miss waived by the approval (the deadline fell due "
                                    "while the request waited)", required=True, allow_none=True)


class Extensions(Schema):
    extensions = many(Extension)


class ExtensionQuery(Schema):
    status = one_of(ExtensionStatus)
    ticket_id = record_id()


class ExtensionRequest(Schema):
    deadline = fields.String(required=True, metadata={
        "description": "the name of a running deadline whose rule has extend_up_to"})
    due_at = time("in the future, later than the deadline is due now, and at most its "
                  "extend_up_to after that", required=True)
    reason = text(required=True, validate=validate.Length(1, MAX_TEXT))


class ExtensionApproval(Schema):
    note = text(validate=validate.Length(max=MAX_TEXT), allow_none=True)


class ExtensionRefusal(Schema):
    reason = text(required=True, validate=validate.Length(1, MAX_TEXT))
# -- an estate's office calendar (views.api_calendars) --------------------------------------------

DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


class OfficeSpan(Schema):
    opens = fields.String(required=True, validate=validate.Regexp(HHMM),
                          metadata={"description": "local time, HH:MM"})
    closes = fields.String(required=True, validate=validate.Regexp(HHMM),
                           metadata={"description": "local time, HH:MM, after `opens`"})


def office_hours(name: str, **kwargs) -> fields.Nested:
    return fields.Nested(Schema.from_dict(
        {key: fields.List(fields.Nested(OfficeSpan), **kwargs) for key in WEEKDAYS},
        name=name), required=True, metadata={
        "description": "the spans of office hours of each weekday, mon to sun (none: closed)"})


class ClosedDayEntry(Schema):
    day = fields.String(required=True, validate=validate.Regexp(DAY),
                        metadata={"description": "a local date, YYYY-MM-DD"})
    note = fields.String(validate=validate.Length(max=MAX_NOTE))


class EstateName(Schema):
    id = record_id(required=True)
    name = fields.String(required=True)


class HolidayEntry(Schema):
    day = fields.String(required=True, validate=validate.Regexp(DAY))
    last = fields.String(required=True, validate=validate.Regexp(DAY), metadata={
        "description": "the holiday's last day (a make-up working day: the same day)"})
    holiday = fields.Boolean(required=True, metadata={
        "description": "true: days off; false: a make-up working day, a weekend worked"})
    name = fields.String(required=True, metadata={"description": "the holiday's name"})


class OfficeCalendar(Schema):
    """What deadlines counted in office time count."""

    estate = nested(EstateName)
    default = fields.Boolean(required=True, metadata={
        "description": "nothing set yet: Monday to Friday 08:30-17:30, public holidays on"})
    hours = office_hours("OfficeHours", required=True)
    public_holidays = fields.Boolean(required=True, metadata={
        "description": "the mainland's public holidays are off and their make-up working days "
                       "on"})
    closed_days = fields.List(fields.Nested(ClosedDayEntry), required=True)
    holidays_until = fields.Integer(required=True, metadata={
        "description": "the last year whose holidays are known; past it, office time counts "
                       "the hours by weekday and the closed days only"})
    upcoming = many(HolidayEntry)


class OfficeCalendarChange(Schema):
    """The whole calendar: what is left out of `hours` has no office hours."""

    hours = office_hours("OfficeHoursChange")
    public_holidays = fields.Boolean(required=True)
    closed_days = fields.List(fields.Nested(ClosedDayEntry), required=True,
                              validate=validate.Length(max=MAX_CLOSED_DAYS))


# -- an estate's own durations and points of deadlines (workflows.overrides) ---------------------

class RuleValues(Schema):
    within = text("as the rules write a duration: 20m, 24h", required=True)
    within_seconds = fields.Integer(required=True)
    points = fields.Integer(required=True, metadata={"description": "negative: lost on a miss"})


class EstateDeadline(Schema):
    """A deadline of the rules file in the estate."""

    kind = RulesName("kind", required=True)
    deadline = RulesName("deadline", required=True)
    label = nested(Label)
    calendar = one_of(CALENDARS, required=True)
    file = nested(RuleValues)
    in_force = nested(RuleValues)
    within = text("the estate's own (null: the file's)", required=True, allow_none=True)
    points = fields.Integer(required=True, allow_none=True,
                            metadata={"description": "the estate's own (null: the file's)"})
    overridden = fields.Boolean(required=True)


class IgnoredOverride(Schema):
    """An override the rules file no longer allows: the file's values count instead."""

    kind = fields.String(required=True)
    deadline = fields.String(required=True)
    within = text(required=True, allow_none=True)
    points = fields.Integer(required=True, allow_none=True)
    problems = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class EstateRules(Schema):
    estate = nested(EstateName)
    deadlines = many(EstateDeadline)
    ignored = many(IgnoredOverride)


class RuleOverride(Schema):
    kind = RulesName("kind", required=True)
    deadline = RulesName("deadline", required=True)
    within = text("as the rules write it, e.g. 15m (null or left out: the file's)",
                  allow_none=True)
    points = fields.Integer(allow_none=True, metadata={
        "description": "negative, at least minus the full score (null or left out: the file's)"})


class EstateRulesChange(Schema):
    """Every override of the estate: what is left out keeps the file's values."""

    overrides = many(RuleOverride)


# -- duty: an estate's rota and the signed hand-overs of its duty shifts (workflows.duty) --------

class Shift(Schema):
    id = record_id(required=True)
    starts_at = time(required=True)
    ends_at = time("exclusive", required=True)
    on_duty = fields.Nested(Person, required=True, allow_none=True, metadata={
        "description": "who answers for every unit of the estate; null: each area's own butler"})
    handed_over_at = time("when its open work passed on (null: not yet, or not a duty shift)",
                          required=True, allow_none=True)


class Rota(Schema):
    estate_id = record_id(required=True)
    from_ = time(required=True, data_key="from")
    until = time(required=True)
    shifts = many(Shift)


class RotaQuery(Schema):
    from_ = time("with until; neither: the week holding now", data_key="from")
    until = time("at most 35 days after from")


class ShiftChange(Schema):
    starts_at = time(required=True)
    ends_at = time("after starts_at; the next shift starts here", required=True)
    on_duty_id = record_id("an active butler on duty for the whole estate; null: each area's "
                           "own butler", allow_none=True)


class RotaChange(Schema):
    starts_at = time(required=True)
    ends_at = time("after starts_at, at most 35 days", required=True)
    shifts = fields.List(fields.Nested(ShiftChange), required=True, metadata={
        "description": "covering starts_at..ends_at without a gap or an overlap; none: no rota "
                       "then"})


class OnDutyQuery(Schema):
    at = time("now by default")


class OnDuty(Schema):
    estate_id = record_id(required=True)
    at = time(required=True)
    shift = fields.Nested(Shift, required=True, allow_none=True)
    on_duty = fields.Nested(Person, required=True, allow_none=True)


class OpenWork(Schema):
    ticket_id = record_id(required=True)
    kind = RulesName("kind", required=True)
    title = fields.String(required=True)
    unit = fields.String(required=True)
    state = RulesName("state", required=True)
    next_deadline = fields.String(required=True, allow_none=True)
    next_due_at = time(required=True, allow_none=True)
    overdue = fields.Boolean(required=True)


class Handover(Schema):
    id = record_id(required=True)
    estate_id = record_id(required=True)
    shift = nested(Shift)
    leaving = nested(Person)
    taking_over = nested(Person)
    handed_at = time(required=True)
    open_work = many(OpenWork)
    leaving_note = fields.String(required=True)
    signed_by_leaving_at = time(required=True, allow_none=True)
    taking_over_note = fields.String(required=True)
    signed_by_taking_over_at = time(required=True, allow_none=True)


class Handovers(Schema):
    handovers = many(Handover)


class HandoverSignature(Schema):
    note = text(validate=validate.Length(max=MAX_TEXT))


# -- bringing in an estate (views.api_estates) ----------------------------------------------------

class ImportProblem(Schema):
    row = fields.Integer(required=True, allow_none=True, metadata={
        "description": "the row as Excel numbers it (the header is row 1); null: the whole file"})
    column = fields.String(required=True, allow_none=True,
                           metadata={"description": "the column as the file heads it"})
    message = fields.String(required=True)


class EstateImport(Schema):
    file = fields.Raw(required=True, metadata={
        "type": "string", "format": "binary",
        "description": "the owner sheet: xlsx, or CSV in UTF-8 (with or without BOM) or GB18030, "
                       "at most 10 MB; headers (Chinese or English) "
                       + ", ".join(f"{names[0]}/{names[-1]}" for names in SHEET_COLUMNS.values())
                       + f", of which {', '.join(REQUIRED_COLUMNS)} are required"})
    dry_run = one_of(("true", "false"), "true: say what the import would do, write nothing")


class EstateRef(Schema):
    id = record_id(required=True, allow_none=True)
    name = fields.String(required=True)


class ImportCounts(Schema):
    rows = fields.Integer(required=True)
    rows_created = fields.Integer(required=True)
    rows_changed = fields.Integer(required=True)
    rows_unchanged = fields.Integer(required=True)
    areas_created = fields.Integer(required=True)
    buildings_created = fields.Integer(required=True)
    units_created = fields.Integer(required=True)
    units_changed = fields.Integer(required=True)
    residents_created = fields.Integer(required=True)
    residents_changed = fields.Integer(required=True)
    moved_out = fields.Integer(required=True, metadata={
        "description": "residents of a unit in the file that it no longer lists: deactivated"})


class ImportChange(Schema):
    row = fields.Integer(required=True, allow_none=True,
                         metadata={"description": "null: a resident moved out, on no row"})
    subject = one_of(("unit", "resident"), required=True)
    id = record_id(required=True)
    label = fields.String(required=True)
    action = one_of(("changed", "moved", "moved out"), required=True)
    before = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True)
    after = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True)


class ImportReport(Schema):
    estate = nested(EstateRef)
    estate_created = fields.Boolean(required=True)
    dry_run = fields.Boolean(required=True)
    imported = fields.Boolean(required=True, metadata={"description": "written (no dry run)"})
    summary = fields.String(required=True, metadata={
        "description": "e.g. 2,000 rows: 0 created, 0 changed, 2,000 unchanged"})
    counts = nested(ImportCounts)
    areas_created = names()
    changes = many(ImportChange)
    digest = fields.String(required=True, metadata={
        "description": "a fingerprint of what the import writes: the same for a dry run and the "
                       "import that follows while the estate stays as it is"})


class EstateExportQuery(Schema):
    format = one_of(("xlsx", "csv"), load_default="xlsx")
    language = one_of(("zh", "en"), "the headers' language", load_default="zh")
# -- accounts: the admin's staff and residents, invitations, activation, the audit log ----------

STAFF_ROLE_NAMES = [role.value for role in Role if role != Role.RESIDENT]


class AccountQuery(Schema):
    role = one_of(Role, "one role (resident included); left out: every staff role")
    active = one_of(("true", "false"), "left out: both")
    page = fields.Integer(validate=validate.Range(1, MAX_ID))


class AreaRef(Schema):
    id = record_id(required=True)
    name = fields.String(required=True)


class Account(Person):
    """A person's account as the admin sees it."""

    role = one_of(Role, required=True)
    unit_id = record_id("the unit a resident lives in", required=True, allow_none=True)
    active = fields.Boolean(required=True, metadata={
        "description": "false: deactivated; they cannot log in, and no login of theirs works"})
    activated_at = time("when a resident got in with their unit's code (null: not so)",
                        required=True, allow_none=True)


class AccountDetail(Account):
    areas = many(AreaRef)
    estates = fields.List(fields.Nested(AreaRef), required=True, metadata={
        "description": "the estates a supervisor supervises (others: none)"})
    open_tickets = fields.List(fields.Nested(TicketRef), required=True, metadata={
        "description": "open tickets they hold (as butler or technician dispatched): to "
                       "reassign when they are deactivated"})


class Accounts(Schema):
    users = many(Account)
    page = fields.Integer(required=True)


class AccountRequest(Schema):
    username = text("unique, without spaces", required=True,
                    validate=validate.Length(1, 64))
    name = text(required=True, validate=validate.Length(1, 100))
    role = one_of(STAFF_ROLE_NAMES, required=True)
    phone = fields.String(allow_none=True, metadata={
        "description": "a mainland mobile number, 11 digits (+86 allowed)"})
    email = fields.String(allow_none=True)
    password = text("left out: one is made and answered once",
                    validate=validate.Length(MIN_PASSWORD, MAX_PASSWORD))
    estate_ids = fields.List(record_id(), metadata={
        "description": "a supervisor's estates; left out: the only estate, when there is one"})


class AccountChanged(Schema):
    user = nested(AccountDetail)
    password = fields.String(required=True, allow_none=True, metadata={
        "description": "the password made for them, shown this once (null: none was made)"})


class AccountChange(Schema):
    """What is left out stays as it is."""

    name = text(validate=validate.Length(1, 100))
    role = one_of(Role, "a staff role; a resident stays a resident")
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    active = fields.Boolean(metadata={
        "description": "false: deactivate (every login of theirs ends at once); true: let back in"})
    password = text("a new password, typed; every login of theirs ends",
                    validate=validate.Length(MIN_PASSWORD, MAX_PASSWORD))
    reset_password = fields.Boolean(metadata={
        "description": "true: a password is made and answered once; every login of theirs ends"})
    estate_ids = fields.List(record_id(), metadata={
        "description": "a supervisor's estates, exactly these"})


class AreasChange(Schema):
    area_ids = fields.List(record_id(), required=True, metadata={
        "description": "every area the butler is to answer for; an area of theirs left out is "
                       "refused (409): give it its new butler with PUT /areas/{area_id}/butler"})
    note = text("why, for the timeline of each ticket handed over",
                validate=validate.Length(max=MAX_TEXT))


class InvitationIssued(Schema):
    unit_id = record_id(required=True)
    unit = text("the building and unit, as printed", required=True)
    code = text("the unit's new code, shown this once (it is not kept); the old one stops "
                "working", required=True)
    issued_at = time(required=True)


class ActivationRequest(Schema):
    estate_id = record_id("required when the installation has several estates")
    building = text("the building's name, as on the slip", required=True)
    unit = text("the unit's number, as on the slip, e.g. 1201", required=True)
    phone = text("a mainland mobile number, 11 digits: the one the office has, or your own "
                 "if you are family or a tenant", required=True)
    invitation_code = text("the unit's code from the slip, e.g. ABCD-2345", required=True)
    password = text(required=True, validate=validate.Length(MIN_PASSWORD, MAX_PASSWORD))
    name = text("your name: required when your phone is not on the unit's list",
                validate=validate.Length(max=100))


class Activated(Schema):
    user = nested(User)


class AuditQuery(Schema):
    estate_id = record_id()
    subject_type = text("the kind of record: user, unit, area, estate, ...")
    subject_id = record_id()
    by = record_id("the person who made the change")
    since = time("from this time on")
    until = time("before this time")
    page = fields.Integer(validate=validate.Range(1, MAX_ID))


class AuditEntry(Schema):
    id = record_id(required=True)
    at = time(required=True)
    actor = fields.Nested(Person, required=True, allow_none=True,
                          metadata={"description": "null: the command line"})
    estate_id = record_id(required=True, allow_none=True)
    action = text("created, changed, deactivated, reactivated, password_reset, "
                  "password_changed, invitation_issued, activated, ...", required=True)
    subject_type = fields.String(required=True)
    subject_id = record_id(required=True, allow_none=True)
    before = fields.Dict(required=True, allow_none=True, metadata={
        "description": "the fields changed, as they were (null: it did not exist); never a "
                       "password or a code"})
    after = fields.Dict(required=True, allow_none=True)
    note = fields.String(required=True)


class AuditEntries(Schema):
    entries = many(AuditEntry)
    page = fields.Integer(required=True)


# -- the company's places (workflows.places) -----------------------------------------------------

class EstateSummary(Schema):
    id = record_id(required=True)
    name = fields.String(required=True)
    supervisors = many(Person)


class Estates(Schema):
    estates = many(EstateSummary)


class PlacesBuilding(Schema):
    id = record_id(required=True)
    name = fields.String(required=True)
    area_id = record_id(required=True)
    units = fields.Integer(required=True, metadata={"description": "how many units it has"})


class PlacesArea(Schema):
    id = record_id(required=True)
    name = fields.String(required=True)
    estate_id = record_id(required=True)
    butler = fields.Nested(Person, required=True, allow_none=True)
    buildings = many(PlacesBuilding)


class EstateDetail(EstateSummary):
    areas = many(PlacesArea)


def place_name(longest: int, description: str = "", **kwargs) -> fields.String:
    return text(description, validate=validate.Length(1, longest), **kwargs)


class EstateRequest(Schema):
    name = place_name(SHEET_LONGEST["estate"], "unique", required=True)


class EstateChange(Schema):
    name = place_name(SHEET_LONGEST["estate"], "unique")


class SupervisorsChange(Schema):
    supervisor_ids = fields.List(record_id(), required=True, metadata={
        "description": "active supervisors: exactly these supervise the estate"})


class AreaRequest(Schema):
    name = place_name(SHEET_LONGEST["area"], "unique in the estate", required=True)
    butler_id = record_id("an active butler, whose areas are all of this estate")
    note = text("why, for the timeline of each ticket handed over",
                validate=validate.Length(max=MAX_TEXT))


class PlacesAreaChange(Schema):
    """What is left out stays as it is."""

    name = place_name(SHEET_LONGEST["area"], "unique in the estate")
    butler_id = record_id("an active butler: the area's butler from now, with its open tickets")
    note = text("why, for the timeline of each ticket handed over",
                validate=validate.Length(max=MAX_TEXT))


class BuildingRequest(Schema):
    name = place_name(SHEET_LONGEST["building"], "unique in the estate", required=True)


class BuildingChange(Schema):
    """What is left out stays as it is."""

    name = place_name(SHEET_LONGEST["building"], "unique in the estate")
    area_id = record_id("another area of the same estate: the building moves there")


class UnitValues(Schema):
    """Read as the owner sheet's columns are; null or blank: none."""

    entrance = text("the entrance (stairwell) the unit is reached by",
                    validate=validate.Length(max=SHEET_LONGEST["entrance"]), allow_none=True)
    floor = fields.Integer(validate=validate.Range(-10, 200), allow_none=True)
    size = fields.Float(validate=validate.Range(0.01, 99_999.99), allow_none=True, metadata={
        "description": "the floor area in square metres, to the hundredth"})
    note = text(validate=validate.Length(max=SHEET_LONGEST["note"]), allow_none=True)


class UnitRequest(UnitValues):
    number = place_name(SHEET_LONGEST["unit"], "unique in the building", required=True)


class UnitChange(UnitValues):
    number = place_name(SHEET_LONGEST["unit"], "unique in the building")


class PlacesUnit(Schema):
    id = record_id(required=True)
    building_id = record_id(required=True)
    label = text("building and number, as people say them", required=True)
    number = fields.String(required=True)
    entrance = fields.String(required=True, allow_none=True)
    floor = fields.Integer(required=True, allow_none=True)
    size = fields.String(required=True, allow_none=True, metadata={
        "description": "square metres, to the hundredth, as text (\"89.50\")"})
    note = fields.String(required=True, allow_none=True)
