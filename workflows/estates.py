"""The estates of the installation, as the pages and the API look them up."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models import Estate, db
from workflows.errors import NotFound
from workflows.fields import record_id


def every() -> list[Estate]:
    """Every estate, by name."""
    return list(db.session.scalars(select(Estate).order_by(Estate.name)))


def get(estate_id: Any) -> Estate:
    """The estate of this id, or NotFound."""
    found = db.session.get(Estate, record_id(estate_id) or 0)
    if found is None:
        raise NotFound(_l("estate %(id)s not found", id=estate_id))
    return found
