"""The estates of the installation, as the pages and the API look them up: a supervisor's are
the estates given them (workflows.access), the admin's and everyone else's all."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models import Estate, User, db
from workflows.access import in_scope, supervised
from workflows.errors import Forbidden, NotFound
from workflows.fields import record_id


def every(actor: User | None = None) -> list[Estate]:
    """Every estate `actor` works in (no actor: every estate), by name."""
    query = select(Estate).order_by(Estate.name)
    if actor is not None:
        query = query.where(in_scope(actor, Estate.id))
    return list(db.session.scalars(query))


def get(estate_id: Any, actor: User | None = None) -> Estate:
    """The estate of this id, or NotFound; Forbidden, naming it, when it is not one of the
    estates of `actor`, a supervisor."""
    found = db.session.get(Estate, record_id(estate_id) or 0)
    if found is None:
        raise NotFound(_l("estate %(id)s not found", id=estate_id))
    if actor is not None and supervised(actor) and found not in every(actor):
        raise Forbidden(_l("%(estate)s is not one of your estates", estate=found.name))
    return found
