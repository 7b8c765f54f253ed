"""Uploads: photos and documents, checked by content, stored outside static/, served back.

A file is accepted for what its first bytes say it is (JPEG, PNG, WebP or PDF), never for its
name or the browser's content type, and a picture must be readable and of a sane size. It is
stored in the instance folder's uploads/ (or the UPLOAD_FOLDER setting) under a generated name
such as ``3f0c…9a.png``; that name is what a record keeps, and `send` serves it back to whoever
the caller has decided may see it.

A form's file inputs are checked as a whole first (`from_inputs`): every file of every input is
read, and the problems go next to their inputs. Only when the whole form is good are the files
stored (`store`) and handed to the engine as UploadedFile (workflows.attachments); if the engine
then refuses, the stored files are removed again (`discard`).
"""
from __future__ import annotations

import io
import os
import re
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from flask import abort, current_app, send_from_directory
from flask_babel import gettext as _
from PIL import Image
from werkzeug.datastructures import FileStorage

from models import User
from workflows.attachments import MAX_FILES, UploadedFile, visible

MAX_BYTES = 10 * 1024 * 1024
# The largest picture taken: a 50-megapixel phone camera (8160 × 6144).
MAX_PIXELS = 52_000_000

# extension -> (MIME type, a test on the first bytes)
FILE_TYPES = {
    "jpg": ("image/jpeg", lambda head: head.startswith(b"\xff\xd8\xff")),
    "png": ("image/png", lambda head: head.startswith(b"\x89PNG\r\n\x1a\n")),
    "webp": ("image/webp", lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP"),
    "pdf": ("application/pdf", lambda head: head.startswith(b"%PDF-")),
}
PHOTOS_AND_PDF = tuple(FILE_TYPES)
NAMES = {"jpg": "JPEG", "png": "PNG", "webp": "WebP", "pdf": "PDF"}
_STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(?:" + "|".join(FILE_TYPES) + r")$")


class UploadRefused(ValueError):
    """The file is not one we take; the message says why, for the form field."""


def folder() -> Path:
    path = Path(current_app.config.get("UPLOAD_FOLDER")
                or os.path.join(current_app.instance_path, "uploads"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def given(upload: FileStorage | None) -> bool:
    """Whether the form's file input was filled in (an empty input still sends a part)."""
    return upload is not None and bool(upload.filename)


def sniff(head: bytes, allowed: tuple[str, ...] = PHOTOS_AND_PDF) -> str | None:
    """The extension of what the bytes are, among `allowed`; None if none of them."""
    return next((ext for ext in allowed if FILE_TYPES[ext][1](head)), None)


def read(upload: FileStorage, allowed: tuple[str, ...] = PHOTOS_AND_PDF,
          max_bytes: int = MAX_BYTES) -> tuple[bytes, str]:
    """Read the upload and say what it is: (its bytes, extension). Raises UploadRefused."""
    data = upload.stream.read(max_bytes + 1)
    if not data:
        raise UploadRefused(_("The file is empty."))
    if len(data) > max_bytes:
        raise UploadRefused(_("The file is larger than %(size)d MB.",
                              size=max_bytes // (1024 * 1024)))
    ext = sniff(data[:16], allowed)
    if ext is None:
        names = [NAMES[ext] for ext in allowed]
        kinds = _("%(some)s or %(last)s", some=_(", ").join(names[:-1]),
                  last=names[-1]) if len(names) > 1 else names[0]
        raise UploadRefused(_("This file is not a %(kinds)s file, whatever its name says.",
                              kinds=kinds))
    if FILE_TYPES[ext][0].startswith("image/"):
        _check_picture(data)
    return data, ext


def _check_picture(data: bytes) -> None:
    """A picture must be readable, and not claim more pixels than a phone's camera takes: a small
    file that declares 50,000 × 50,000 pixels would swamp every browser that shows it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as picture:
                width, height = picture.size
    except Image.DecompressionBombError:
        width = height = MAX_PIXELS
    except (OSError, ValueError, SyntaxError):  # what Pillow raises for a file it cannot read
        raise UploadRefused(_("This picture cannot be read; take or save it again.")) from None
    if width * height > MAX_PIXELS:
        raise UploadRefused(_("This picture has too many pixels (at most %(millions)d million): "
                              "send a smaller copy.", millions=MAX_PIXELS // 1_000_000))


def store_bytes(data: bytes, ext: str) -> str:
    """Write checked bytes under a new generated name; returns the name."""
    name = f"{secrets.token_hex(16)}.{ext}"
    path = folder() / name
    with open(path, "xb") as out:  # never overwrite
        out.write(data)
    return name


def discard_name(name: str | None) -> None:
    """Remove a stored file (one whose record could not be saved after all)."""
    if name and valid_name(name):
        (folder() / name).unlink(missing_ok=True)


def valid_name(name: str) -> bool:
    return bool(_STORED_NAME.match(name))


def send(name: str, download_name: str | None = None):
    """Serve a stored file; the caller has checked who may see it. Unknown names are 404."""
    if not valid_name(name):
        abort(404)
    ext = name.rsplit(".", 1)[1]
    # Images open in the browser; a PDF (which may carry scripts) is downloaded.
    response = send_from_directory(folder(), name, mimetype=FILE_TYPES[ext][0], max_age=0,
                                   as_attachment=ext == "pdf",
                                   download_name=download_name or name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- a form's file inputs, for the engine ---------------------------------------------------

@dataclass
class Checked:
    data: bytes
    ext: str
    original_name: str


def _chosen(field) -> list[FileStorage]:
    data = field.data if isinstance(field.data, list) else [field.data]
    return [f for f in data if isinstance(f, FileStorage) and given(f)]


def display_name(filename: str) -> str:
    """The file's own name without any folder a browser may have sent along, and without
    characters that cannot be shown or sent back in a header (a NUL, a line break)."""
    name = PureWindowsPath(PurePosixPath(filename).name).name
    name = "".join(ch for ch in name if ch.isprintable())
    return name.strip()[:255] or "file"


def read_all(chosen: list[FileStorage]) -> tuple[list[Checked], list[str]]:
    """Read and check these files: (the good ones, a message for each one refused)."""
    if len(chosen) > MAX_FILES:
        return [], [_("At most %(count)d files at once.", count=MAX_FILES)]
    found, problems = [], []
    for upload in chosen:
        name = display_name(upload.filename or "")
        try:
            data, ext = read(upload)
        except UploadRefused as exc:
            problems.append(f"{name}: {exc}")
        else:
            found.append(Checked(data, ext, name))
    return found, problems


def from_inputs(*fields) -> list[Checked] | None:
    """Check the files of these file inputs; None if any was refused (its input has the error)."""
    found, ok = [], True
    for field in fields:
        if field is None:
            continue
        checked, problems = read_all(_chosen(field))
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
            name = store_bytes(item.data, item.ext)
            stored.append(UploadedFile(stored_name=name, original_name=item.original_name,
                                       content_type=FILE_TYPES[item.ext][0],
                                       size=len(item.data)))
    except BaseException:
        discard(stored)
        raise
    return stored


def discard(files: list[UploadedFile]) -> None:
    """Remove stored files whose ticket or step was not saved after all."""
    for f in files:
        discard_name(f.stored_name)


def serve(ticket_id: int, attachment_id: int, actor: User):
    """A ticket's photo or document, for whoever may see the ticket (404 for anyone else)."""
    found = visible(attachment_id, actor, ticket_id)
    if found is None:
        abort(404)
    return send(found.stored_name, download_name=display_name(found.original_name or ""))
