"""What people send, taken apart safely before anything uses it.

A JSON body is read up to MAX_JSON_BYTES and parsed once per request (the rate limiter's
username and the view read the same parse). It is refused whole when it is nested deeper than
MAX_JSON_DEPTH or holds text nobody types (workflows.fields.untypable), naming the field.
"""
from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge

from workflows.errors import InvalidData
from workflows.fields import untypable

# Kept with the request itself (its WSGI environ), not in `g`: an app context, and `g` with it,
# may outlive one request (a test's, a CLI's).
_PARSED = "butlerdesk.json"


def json_body() -> Any:
    """The request's JSON, checked (None when the body is not JSON at all). Raises InvalidData
    when it is too deep or carries untypable text, RequestEntityTooLarge when it is too big."""
    if _PARSED not in request.environ:
        request.environ[_PARSED] = _checked(_parse())
    return request.environ[_PARSED]


def _too_deep(field: str) -> InvalidData:
    return InvalidData(_l("the request body is nested too deeply"),
                       {field: _l("must be nested at most %(depth)d deep",
                                  depth=current_app.config["MAX_JSON_DEPTH"])})


def _parse() -> Any:
    limit = current_app.config["MAX_JSON_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(f"a JSON body is at most {limit} bytes")
    request.max_content_length = limit  # a body sent without a length is cut off there too
    try:
        return current_app.json.loads(request.get_data(cache=True))
    except RecursionError:  # deeper than the parser goes: far deeper than allowed
        raise _too_deep("body") from None
    except ValueError:  # not JSON (or not UTF-8)
        return None


def _checked(value: Any) -> Any:
    """`value` if it is shallow enough and all its text (keys included) is typable."""
    limit = current_app.config["MAX_JSON_DEPTH"]
    problems: dict[str, Any] = {}
    pending = [(value, "body", 1)]
    while pending:
        item, field, depth = pending.pop()
        if depth > limit:
            raise _too_deep(field)
        if isinstance(item, str):
            problem = untypable(item)
            if problem:
                problems.setdefault(field, problem)
        elif isinstance(item, dict):
            for key, inner in item.items():
                if untypable(key):
                    problems.setdefault("body", untypable(key))
                else:
                    pending.append((inner, key, depth + 1))
        elif isinstance(item, list):
            pending.extend((inner, field, depth + 1) for inner in item)
    if problems:
        raise InvalidData(_l("the request cannot be read as given"), problems)
    return value
