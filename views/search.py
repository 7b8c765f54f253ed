"""Search (one line of text: a ticket's number, a unit, a resident's name or phone, words of a
request) and a unit's page with its residents and the history of its tickets."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from views.roles import role_required
from workflows import search

bp = Blueprint("search", __name__)
STAFF = ("butler", "technician", "supervisor", "admin")


@bp.get("/search")
@role_required(*STAFF)
def find():
    """What matches ?q=, within what I may see: tickets newest first, and units."""
    text = request.args.get("q", "")
    found = search.search(current_user, text)
    return render_template("search.html", found=found, text=text,
                           residents=search.residents_of([u.id for u in found.units]),
                           too_short=bool(text.strip()) and search.too_short(text),
                           shortest=search.SHORTEST)


@bp.get("/units/<int:unit_id>")
@role_required(*STAFF)
def unit(unit_id: int):
    """A unit: who lives there, and every request from it I may see, newest first."""
    unit, residents, history = search.unit_page(current_user, unit_id)
    return render_template("unit.html", unit=unit, residents=residents, history=history)
