"""Reading pages in tests: CSRF tokens, logging in through the form, fields and flash messages;
tickets opened and moved through the engine (in app contexts of their own) and the forms."""
from __future__ import annotations

import io
import re
from html import unescape

from PIL import Image
from sqlalchemy import select

from models import Attachment, Event, Ticket, User, db
from workflows import engine

CSRF_INPUT = re.compile(r'<input[^>]*name="(?:[\w-]+-)?csrf_token"[^>]*value="([^"]+)"')
# A real 1x1 PNG: uploads are taken for what they contain, not for their names.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201a1d3e6e50000000049454e44ae426082")


def csrf_token(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def log_in(client, username: str, password: str = "secret"):
    token = csrf_token(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


def bell(html: str) -> int | None:
    """The bell's count as shown (None: hidden, nothing unread)."""
    found = re.search(r'<span class="bell-count" data-unread( hidden)?>(\d+)</span>', html)
    assert found, "no bell on the page"
    return None if found.group(1) else int(found.group(2))


def field_html(html: str, name: str) -> str:
    """The <div class="field"> block of the input named `name` (its label, input and errors)."""
    found = re.search(r'<div class="field[^"]*"[^>]*>\s*<label for="' + re.escape(name)
                      + r'">.*?</div>',
                      html, re.S)
    assert found, f"no field {name} on the page"
    return found.group(0)


def flashes(html: str, category: str = r"\w+") -> list[str]:
    """The flash messages on a page (of one category), unescaped."""
    return [unescape(m) for m in re.findall(
        r'<p class="flash ' + category + r'" role="status">(.*?)</p>', html, re.S)]


# -- tickets through the engine and the pages ------------------------------------------------

def open_ticket(app, who: str, kind: str = "repair", title: str = "Tap leaking", **kwargs) -> int:
    """Open a ticket through the engine, in an app context of its own."""
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == who))
        return engine.open_ticket(user, kind, title, **kwargs).id


def stored(app, ticket_id: int) -> dict:
    with app.app_context():
        t = db.session.get(Ticket, ticket_id)
        return {"state": t.state, "version": t.version, "technician_id": t.technician_id,
                "rating": t.rating, "reported_at": t.reported_at, "created_at": t.created_at,
                "unit_id": t.unit_id, "resident_id": t.resident_id, "assignee_id": t.assignee_id,
                "description": t.description,
                "events": db.session.query(Event).filter_by(ticket_id=ticket_id).count()}


def ticket_count(app) -> int:
    with app.app_context():
        return db.session.query(Ticket).count()


def fire_form(client, ticket_id: int, trigger: str, version: int | None = None, **fields):
    """Fill in the trigger's form on the ticket page and submit it (fields without the prefix)."""
    page = client.get(f"/tickets/{ticket_id}").text
    shown = re.search(rf'name="{trigger}-version" type="hidden" value="(\d+)"', page)
    assert shown, f"no form for {trigger} on the page"
    data = {f"{trigger}-{name}": value for name, value in fields.items()}
    data[f"{trigger}-csrf_token"] = csrf_token(page)
    data[f"{trigger}-version"] = shown.group(1) if version is None else version
    return client.post(f"/tickets/{ticket_id}/fire/{trigger}", data=data)


def forms_on(html: str, ticket_id: int) -> set[str]:
    return set(re.findall(rf'action="/tickets/{ticket_id}/fire/(\w+)"', html))




def picture(size: tuple[int, int] = (2, 2), kind: str = "JPEG") -> bytes:
    """A real picture of `size` pixels: uploads are taken for what they contain, and read."""
    out = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(out, kind)
    return out.getvalue()


JPEG = picture()


PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def user_id(username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username))


def fire(app, ticket_id: int, trigger: str, who: str, **data) -> None:
    """Fire through the engine as `who`, with the version just read."""
    with app.app_context():
        version = db.session.get(Ticket, ticket_id).version
        engine.fire(ticket_id, trigger, db.session.get(User, user_id(who)), version, **data)


def attachments(app, ticket_id: int) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(select(Attachment).where(Attachment.ticket_id == ticket_id)
                                  .order_by(Attachment.id))
        return [{"id": a.id, "event": a.event.trigger if a.event else None,
                 "by": a.uploaded_by.username, "name": a.original_name, "type": a.content_type,
                 "size": a.size, "stored": a.stored_name} for a in rows]


def submit(client, data: dict, files: dict[str, list[tuple[bytes, str]]] | None = None):
    """Fill in the request form and send it, with files as a browser sends them."""
    form = client.get("/tickets/new").text
    body = {"csrf_token": csrf_token(form), **data}
    for name, chosen in (files or {}).items():
        body[name] = [(io.BytesIO(content), filename) for content, filename in chosen]
    return client.post("/tickets/new", data=body, content_type="multipart/form-data")


def ticket_from(reply) -> int:
    assert reply.status_code == 302, reply.text
    return int(re.fullmatch(r"/tickets/(\d+)", reply.location).group(1))


def section(html: str, start: str, end: str | None = None) -> str:
    html = html[html.index(start):]
    return html[:html.index(end)] if end else html


RENOVATION = {"kind": "renovation", "title": "Kitchen and bathroom renovation",
              "description": "New tiles, no walls moved.",
              "works_start": "2026-11-20", "works_end": "2026-12-20",
              "contractor_name": "安居装饰 Anju Decoration", "contractor_phone": "021 5555 0101",
              "foreman_name": "刘工 Liu", "foreman_phone": "138 0013 8000", "workers": "4"}
