"""What the engine answers when it refuses. Each refusal changes nothing.

Messages are English (the API, the CLI and the logs show them as they are) and remember how they
were made: `N_("cannot '%(trigger)s' …", trigger=Term(...))` is a `Message`, a str holding the
English text, plus its template and values, so that a page can say it in the reader's language
(views.messages.say). `N_` also marks the template for `pybabel extract`.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any


class Term(str):
    """A name in a message (a state, a step, a role, a field): the name itself in English, and
    its label from the rules when it has one, for a page to show instead."""

    label: dict[str, str] | None

    def __new__(cls, name: str, label: dict[str, str] | None = None) -> Term:
        term = super().__new__(cls, name)
        term.label = label
        return term


def _english(value: Any) -> Any:
    if isinstance(value, timedelta):
        from workflows.rules import format_duration  # rules imports fields, which imports this
        return format_duration(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(_english(v)) for v in value)
    return value


class Message(str):
    """An English message that keeps its template and values (see the module's docstring)."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Message:
        text = template % {k: _english(v) for k, v in params.items()} if params else template
        message = super().__new__(cls, text)
        message.template, message.params = template, params
        return message


def N_(template: str, **params: Any) -> Message:
    """A message to translate where it is shown: its English text now, its template kept."""
    return Message(template, **params)


class WorkflowError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None):
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
