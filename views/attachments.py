"""The files of a form's file inputs (or of an API upload), checked and stored for the engine
(see views.uploads), and served back to whoever may see their ticket.

A form is checked as a whole first: every file of every input is read and checked by content
(JPEG, PNG, WebP or PDF, at most 10 MB) and the problems go next to their inputs. Only when the
whole form is good are the files stored, and handed to the engine as UploadedFile; if the engine
then refuses, the stored files are removed again.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from flask import abort
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from models import User
from views import uploads
from workflows.attachments import MAX_FILES, UploadedFile, visible


@dataclass
class Checked:
    data: bytes
    ext: str
    original_name: str


def _chosen(field) -> list[FileStorage]:
    data = field.data if isinstance(field.data, list) else [field.data]
    return [f for f in data if isinstance(f, FileStorage) and uploads.given(f)]


def display_name(filename: str) -> str:
    """The file's own name without any folder a browser may have sent along, and without
    characters that cannot be shown or sent back in a header (a NUL, a line break)."""
    name = PureWindowsPath(PurePosixPath(filename).name).name
    name = "".join(ch for ch in name if ch.isprintable())
    return name.strip()[:255] or "file"


def check_uploads(chosen: list[FileStorage]) -> tuple[list[Checked], list[str]]:
    """Read and check these files: (the good ones, a message for each one refused)."""
    if len(chosen) > MAX_FILES:
        return [], [_("At most %(count)d files at once.", count=MAX_FILES)]
    found, problems = [], []
    for upload in chosen:
        name = display_name(upload.filename or "")
        try:
            data, ext = uploads.check(upload)
        except uploads.UploadRefused as exc:
            problems.append(f"{name}: {exc}")
        else:
            found.append(Checked(data, ext, name))
    return found, problems


def check(*fields) -> list[Checked] | None:
    """Check the files of these file inputs; None if any was refused (its input has the error)."""
    found, ok = [], True
    for field in fields:
        if field is None:
            continue
        checked, problems = check_uploads(_chosen(field))
        if problems:
            field.errors = [*field.errors, *problems]
            ok = False
        found.extend(checked)
    return found if ok else None


def any_chosen(*fields) -> bool:
    """Whether any of these inputs carried a file (a browser cannot refill them after an error)."""
    return any(field is not None and _chosen(field) for field in fields)


def store(checked: list[Checked]) -> list[UploadedFile]:
    stored = []
    try:
        for item in checked:
            name = uploads.store(item.data, item.ext)
            stored.append(UploadedFile(stored_name=name, original_name=item.original_name,
                                       content_type=uploads.KINDS[item.ext][0],
                                       size=len(item.data)))
    except BaseException:
        discard(stored)
        raise
    return stored


def discard(files: list[UploadedFile]) -> None:
    """Remove stored files whose ticket or step was not saved after all."""
    for f in files:
        uploads.discard(f.stored_name)


def serve(ticket_id: int, attachment_id: int, actor: User):
    """A ticket's photo or document, for whoever may see the ticket (404 for anyone else)."""
    found = visible(attachment_id, actor, ticket_id)
    if found is None:
        abort(404)
    return uploads.send(found.stored_name, download_name=display_name(found.original_name or ""))
