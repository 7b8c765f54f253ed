"""Photos and documents added to a ticket: when it is opened, with a step, or on their own.

The pages and the API check and store the file (views.uploads: by content, at most 10 MB, under
a generated name outside static/) and hand the engine an `UploadedFile`; the engine records it in
the same transaction as the ticket or the event it belongs to. Only an UploadedFile is taken, so
nothing that arrives as JSON can name a stored file. Files added on their own (engine.attach) get
an event of their own, which keeps what the sender said they are (FILE_KINDS).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l

from models import Attachment, Event, Ticket, User, db
from workflows.access import can_see
from workflows.fields import record_id

MAX_FILES = 10
# The trigger of the event that records files added outside any step, and what they may be.
ATTACH_TRIGGER = "attach"
FILE_KINDS = ("photo", "floor_plan", "licence", "document")


@dataclass(frozen=True)
class UploadedFile:
    stored_name: str    # the generated name it is stored under
    original_name: str  # the name it had on the sender's device, shown to people
    content_type: str   # what its content is (not what the browser said)
    size: int


def listed(files: Any, errors: dict[str, str]) -> list[UploadedFile]:
    """The files as a list; a problem is added to `errors` under 'attachments'."""
    files = list(files or ())
    if not all(isinstance(f, UploadedFile) for f in files):
        errors["attachments"] = _l("files are sent as multipart/form-data: on the pages or to "
                                   "POST /api/v1/tickets/ID/attachments")
        return []
    if len(files) > MAX_FILES:
        errors["attachments"] = _l("at most %(count)d files at once", count=MAX_FILES)
    return files


def add(ticket: Ticket, event: Event, actor: User, files: Iterable[UploadedFile],
        now: datetime) -> None:
    """Record the files of an event (the caller commits)."""
    for f in files:
        db.session.add(Attachment(
            ticket_id=ticket.id, event_id=event.id, uploaded_by_id=actor.id,
            stored_name=f.stored_name, original_name=(f.original_name or "")[:255],
            content_type=f.content_type, size=f.size, created_at=now))


def kind_of(attachment: Attachment) -> str | None:
    """What the sender said the file is (one of FILE_KINDS), if said; engine.attach keeps it."""
    event = attachment.event
    if event is None or event.trigger != ATTACH_TRIGGER:
        return None
    return (event.data or {}).get("kind")


def visible(attachment_id: Any, actor: User, ticket_id: Any = None) -> Attachment | None:
    """An attachment (of the ticket `ticket_id`, if given), if `actor` may see its ticket."""
    if record_id(attachment_id) is None:
        return None
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or not can_see(actor, attachment.ticket):
        return None
    if ticket_id is not None and attachment.ticket_id != ticket_id:
        return None
    return attachment
