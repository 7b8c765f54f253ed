"""JSON API v1 for one's notifications: what the bell holds, and marking it read; and the areas'
group robots a supervisor sets. Same error format and status codes as the rest of the API; the
words are in English, like every answer."""
from __future__ import annotations

from flask import current_app, jsonify, request
from flask_login import current_user

from views import schemas
from views.api import body, bp, int_arg, iso
from views.openapi import documented
from workflows import areas, inbox
from workflows.errors import InvalidData
from workflows.notices import words
from workflows.rules import current as current_rules


def notification_json(notice) -> dict:
    said = words(notice, current_rules(), "en")
    return {"id": notice.id, "cause": notice.cause, "ticket_id": notice.ticket_id,
            "subject": said.subject, "text": said.text, "url": said.path,
            "created_at": iso(notice.created_at), "read_at": iso(notice.read_at)}


@bp.get("/notifications")
@documented(query=schemas.NotificationQuery, responses={200: schemas.NotificationList},
            errors=(422,))
def list_notifications():
    """My notifications, newest first; ?unread=true for those not read yet."""
    unread = request.args.get("unread")
    if unread not in (None, "", "true", "false"):
        raise InvalidData("bad filter", {"unread": "must be true or false"})
    page = int_arg("page", 1)
    per_page = min(int_arg("per_page", current_app.config["API_PAGE_SIZE"]), 200)
    found, total = inbox.notices(current_user, unread_only=unread == "true", page=page,
                                 per_page=per_page)
    return jsonify({"notifications": [notification_json(n) for n in found],
                    "unread": inbox.unread(current_user)[0],
                    "page": page, "per_page": per_page, "total": total})


@bp.post("/notifications/<int:notice_id>/read")
@documented(responses={200: schemas.Notification}, errors=(404,))
def read_notification(notice_id: int):
    """Mark one of my notifications read (one read already stays as it was)."""
    return jsonify(notification_json(inbox.mark_read(current_user, notice_id)))


@bp.post("/notifications/read")
@documented(responses={200: schemas.NotificationsRead})
def read_all_notifications():
    """Mark every notification of mine read."""
    return jsonify({"read": inbox.mark_all_read(current_user)})


def robot_json(area) -> dict:
    """An area's robot as the API shows it: never its secret, only whether it has one."""
    return {"area_id": area.id, "area": area.name, "webhook_url": area.webhook_url,
            "webhook_format": area.webhook_format,
            "has_secret": area.webhook_secret is not None}


@bp.get("/webhooks")
@documented(responses={200: schemas.RobotList}, errors=(403,))
def list_robots():
    """Every area with its own group robot, if it has one (supervisors)."""
    return jsonify({"webhooks": [robot_json(a) for a in areas.robots(current_user)]})


@bp.put("/areas/<int:area_id>/webhook")
@documented(body=schemas.RobotChange, responses={200: schemas.Robot}, errors=(403, 404, 422))
def set_robot(area_id: int):
    """Give an area its own group robot: {webhook_url, webhook_format, webhook_secret}, told of
    what its staff are told besides the installation's. A blank or null address removes it; a
    secret left out keeps the one set before. Only public http(s) addresses (supervisors)."""
    data = body()
    return jsonify(robot_json(areas.set_webhook(
        current_user, area_id, data.get("webhook_url"), data.get("webhook_format"),
        data.get("webhook_secret"))))
