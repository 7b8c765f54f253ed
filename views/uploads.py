"""Uploaded evidence (photos, scanned forms): checked by content, stored outside static/.

A file is accepted for what its first bytes say it is (JPEG, PNG, WebP or PDF), never for its
name or the browser's content type. It is stored in the instance folder's uploads/ (or the
UPLOAD_FOLDER setting) under a generated name such as ``3f0c…9a.png``; that name is what a
record keeps, and `send` serves it back to whoever the caller has decided may see it.
"""
from __future__ import annotations

import io
import os
import re
import secrets
import warnings
from pathlib import Path

from flask import abort, current_app, send_from_directory
from flask_babel import gettext as _
from PIL import Image
from werkzeug.datastructures import FileStorage

MAX_BYTES = 10 * 1024 * 1024
# The largest picture taken: a 50-megapixel phone camera (8160 × 6144).
MAX_PIXELS = 52_000_000

# extension -> (MIME type, a test on the first bytes)
KINDS = {
    "jpg": ("image/jpeg", lambda head: head.startswith(b"\xff\xd8\xff")),
    "png": ("image/png", lambda head: head.startswith(b"\x89PNG\r\n\x1a\n")),
    "webp": ("image/webp", lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP"),
    "pdf": ("application/pdf", lambda head: head.startswith(b"%PDF-")),
}
PHOTOS_AND_PDF = tuple(KINDS)
NAMES = {"jpg": "JPEG", "png": "PNG", "webp": "WebP", "pdf": "PDF"}
_STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(?:" + "|".join(KINDS) + r")$")


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
    return next((ext for ext in allowed if KINDS[ext][1](head)), None)


def check(upload: FileStorage, allowed: tuple[str, ...] = PHOTOS_AND_PDF,
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
    if KINDS[ext][0].startswith("image/"):
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


def store(data: bytes, ext: str) -> str:
    """Write checked bytes under a new generated name; returns the name."""
    name = f"{secrets.token_hex(16)}.{ext}"
    path = folder() / name
    with open(path, "xb") as out:  # never overwrite
        out.write(data)
    return name


def discard(name: str | None) -> None:
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
    response = send_from_directory(folder(), name, mimetype=KINDS[ext][0], max_age=0,
                                   as_attachment=ext == "pdf",
                                   download_name=download_name or name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
