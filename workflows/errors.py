"""What the engine answers when it refuses. Each refusal changes nothing.

A refusal carries its message and, by field, what is wrong with each: lazy Flask-Babel strings
(workflows.words), shown in the reader's language on a page and in English by the API and the
CLI.
"""
from __future__ import annotations

from typing import Any


class WorkflowError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: Any, fields: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(WorkflowError):
    status, code = 404, "not_found"


class Forbidden(WorkflowError):
    status, code = 403, "forbidden"


class Conflict(WorkflowError):
    """The ticket is not in a state where the trigger is possible."""

    status, code = 409, "conflict"


class StaleVersion(Conflict):
    code = "stale_version"


class InvalidData(WorkflowError):
    status, code = 422, "invalid"


class AlreadyRegistered(Conflict):
    """The same request, sent again by the same person: it is the ticket made the first time."""

    code = "already_registered"

    def __init__(self, message: Any, ticket_id: int, registered_at: Any):
        super().__init__(message)
        self.ticket_id = ticket_id
        self.registered_at = registered_at
