"""Photos and documents added to a ticket, when it is opened or with a step.

The pages check and store the file (views.uploads: by content, at most 10 MB, under a generated
name outside static/) and hand the engine an `UploadedFile`; the engine records it in the same
transaction as the ticket or the event it belongs to. Only an UploadedFile is taken, so nothing
that arrives as JSON can name a stored file.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from models import Attachment, Event, Ticket, User, db
from workflows.access import can_see
from workflows.errors import N_
from workflows.fields import record_id

MAX_FILES = 10


@dataclass(frozen=True)
class UploadedFile:
    stored_name: str    # the generated name it is stored under
    original_name: str  # the name it had on the sender's device, shown to people
    content_type: str   # what its content is (not what the browser said)
    size: int


def check(files: Any, errors: dict[str, str]) -> list[UploadedFile]:
    """The files as a list; a problem is added to `errors` under 'attachments'."""
    files = list(files or ())
    if not all(isinstance(f, UploadedFile) for f in files):
        errors["attachments"] = N_("files can only be uploaded through the pages")
        return []
    if len(files) > MAX_FILES:
        errors["attachments"] = N_("at most %(count)d files at once", count=MAX_FILES)
    return files


def add(ticket: Ticket, event: Event, actor: User, files: Iterable[UploadedFile],
        now: datetime) -> None:
    """Record the files of an event (the caller commits)."""
    for f in files:
        db.session.add(Attachment(
            ticket_id=ticket.id, event_id=event.id, uploaded_by_id=actor.id,
            stored_name=f.stored_name, original_name=(f.original_name or "")[:255],
            content_type=f.content_type, size=f.size, created_at=now))


def visible(attachment_id: int, actor: User) -> Attachment | None:
    """An attachment, if `actor` may see the ticket it belongs to."""
    if record_id(attachment_id) is None:
        return None
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or not can_see(actor, attachment.ticket):
        return None
    return attachment
