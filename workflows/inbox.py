"""A person's in-app notices: the bell's count, the notices page and the API's list, and marking
them read. The rows are made by workflows.notices; what they say is its `words`.
"""
from __future__ import annotations

from sqlalchemy import and_, func, literal_column, select, update
from sqlalchemy.orm import joinedload

from models import Building, Notice, Ticket, Unit, User, db
from models.transaction import write
from workflows import clock
from workflows.errors import NotFound
from workflows.fields import record_id

# The predicate of the partial index ix_notices_unread, spelt as literals: a plan made for any
# value of a parameter (PostgreSQL's generic plan of a statement prepared by psycopg after a few
# runs) cannot prove `channel = $1` implies the index's `channel = 'inapp'`, and would not use it.
IN_APP = Notice.channel == literal_column("'inapp'")
UNREAD = and_(IN_APP, Notice.read_at.is_(None))


def unread(user: User) -> tuple[int, int | None]:
    """How many in-app notices the person has not read, and the newest of them (its id, or
    None): one query, answered from the index."""
    count, latest = db.session.execute(
        select(func.count(), func.max(Notice.id)).where(Notice.user_id == user.id, UNREAD)).one()
    return count, latest


def notices(user: User, *, unread_only: bool = False, page: int = 1,
            per_page: int = 50) -> tuple[list[Notice], int]:
    """The person's in-app notices, newest first, with what their words need; and how many."""
    where = [Notice.user_id == user.id, UNREAD if unread_only else IN_APP]
    total = db.session.scalar(select(func.count()).select_from(Notice).where(*where))
    found = db.session.scalars(
        select(Notice).where(*where)
        .options(joinedload(Notice.user),
                 joinedload(Notice.ticket).joinedload(Ticket.unit).joinedload(Unit.building)
                 .joinedload(Building.area),
                 joinedload(Notice.ticket).joinedload(Ticket.assignee))
        .order_by(Notice.id.desc()).limit(per_page).offset((page - 1) * per_page)).all()
    return list(found), total


def mark_read(user: User, notice_id) -> Notice:
    """Mark one of the person's notices read (one read already stays as it was); another
    person's is not found."""
    wanted = record_id(notice_id)
    if wanted is None:
        raise NotFound(f"notice {notice_id} not found")
    with write():
        db.session.execute(
            update(Notice).where(Notice.id == wanted, Notice.user_id == user.id, UNREAD)
            .values(read_at=clock.now()).execution_options(synchronize_session=False))
    notice = db.session.scalar(select(Notice).where(Notice.id == wanted,
                                                    Notice.user_id == user.id, IN_APP))
    if notice is None:
        raise NotFound(f"notice {notice_id} not found")
    return notice


def mark_all_read(user: User) -> int:
    """Mark every unread notice of the person read; returns how many there were."""
    with write():
        return db.session.execute(
            update(Notice).where(Notice.user_id == user.id, UNREAD)
            .values(read_at=clock.now()).execution_options(synchronize_session=False)).rowcount
