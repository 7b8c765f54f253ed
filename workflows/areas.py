"""An area's own group robot: the WeCom or DingTalk group of its butlers, or a signed gateway.

Its address is typed by a supervisor, so it must not become a way into the server's own network
(SSRF): only http and https, and no host that is or resolves to a loopback, private, link-local
or otherwise non-public address, checked when it is set and again at every send (a name may be
pointed elsewhere later). `ALLOW_PRIVATE_WEBHOOKS` lifts the check for an installation whose
gateway is on its own network (and for the tests' local receivers).
"""
from __future__ import annotations

import hashlib
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models import Area, Channel, Notice, NoticeStatus, Role, User, db
from models.transaction import write
from workflows import audit
from workflows.access import in_estates_of
from workflows.errors import Forbidden, InvalidData, NotFound
from workflows.fields import record_id

FORMATS = ("wecom", "dingtalk", "generic")
MAX_URL = 500
MAX_SECRET = 200


def address_problem(url: str) -> Any:
    """What makes `url` unfit for an area's robot, or None. A host that cannot be looked up now
    is let through: its send fails and is tried again, and is checked again then."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _l("must be an http:// or https:// address")
    if current_app.config["ALLOW_PRIVATE_WEBHOOKS"]:
        return None
    try:
        found = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443,
                                                            proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError, ValueError):
        return None
    for address in sorted(found):
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            return _l("points into a private network (%(address)s): only public addresses",
                      address=address)
    return None


def robots(actor: User) -> list[Area]:
    """The areas with their robots, for a supervisor to see and set (of their estates)."""
    _supervisor_only(actor)
    return list(db.session.scalars(select(Area).where(in_estates_of(actor, Area.estate_id))
                                   .order_by(Area.name)))


def _supervisor_only(actor: User) -> None:
    if actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden(_l("only a supervisor sets the areas' group robots"))


def set_webhook(actor: User, area_id: Any, url: Any, format: Any, secret: Any) -> Area:
    """Give an area its own robot (a blank address: none). Nothing is saved unless all is right;
    a secret left blank keeps the one set before."""
    _supervisor_only(actor)
    area = db.session.scalar(select(Area).where(Area.id == (record_id(area_id) or 0),
                                                in_estates_of(actor, Area.estate_id)))
    if area is None:
        raise NotFound(_l("no such area"))
    address = url.strip() if isinstance(url, str) else ""
    kind = format if isinstance(format, str) else None
    key = secret.strip() if isinstance(secret, str) else ""
    problems: dict[str, Any] = {}
    if url is not None and not isinstance(url, str):
        problems["webhook_url"] = _l("must be an http:// or https:// address")
    elif len(address) > MAX_URL:
        problems["webhook_url"] = _l("must be at most %(count)d characters", count=MAX_URL)
    elif address and (problem := address_problem(address)):
        problems["webhook_url"] = problem
    if address and kind not in FORMATS:
        problems["webhook_format"] = _l("must be one of: %(kinds)s", kinds=", ".join(FORMATS))
    if len(key) > MAX_SECRET:
        problems["webhook_secret"] = _l("must be at most %(count)d characters", count=MAX_SECRET)
    if problems:
        raise InvalidData(_l("the webhook was not saved"), problems)
    with write():
        area = db.session.get(Area, area.id)
        before = _robot(area)
        if area.webhook_url and not address:
            _give_up_waiting(area.id)
        area.webhook_url = address or None
        area.webhook_format = kind if address else None
        area.webhook_secret = (key or area.webhook_secret) if address else None
        audit.record(actor, "changed", area, before, _robot(area), estate_id=area.estate_id)
    return area


def _robot(area: Area) -> dict:
    """An area's robot as the audit log keeps it: its host and a fingerprint of the address
    (which holds the robot's key), never the address or the secret themselves."""
    url = area.webhook_url
    return {"webhook_host": urlsplit(url).hostname if url else None,
            "webhook_fingerprint": hashlib.sha256(url.encode()).hexdigest()[:12] if url else None,
            "webhook_format": area.webhook_format,
            "webhook_secret_set": bool(area.webhook_secret)}


def _give_up_waiting(area_id: int) -> None:
    """The robot is removed: what still waits for it will never be sent; it is failed, and
    says why on the delivery log."""
    waiting = db.session.scalars(select(Notice).where(
        Notice.channel == Channel.WEBHOOK, Notice.status == NoticeStatus.PENDING)).all()
    for notice in waiting:
        if (notice.data or {}).get("area_id") == area_id:
            notice.status, notice.next_try_at = NoticeStatus.FAILED, None
            notice.last_error = "the area's robot was removed"
