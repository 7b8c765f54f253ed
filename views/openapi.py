"""The OpenAPI 3.1 description of the JSON API v1, built from the routes themselves.

Every view under /api/v1/ says what it takes and answers with `@documented(...)` (the schemas
are in views.schemas); `spec()` walks the app's URL map and describes each route from that, its
path converters and its docstring (the first sentence is the summary, the rest the description).
A route under /api/v1/ without `@documented` stops the building with an error naming it, so a new
route cannot be left out. Served as GET /api/v1/openapi.json, and as a page for people at
GET /api/docs.
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app, render_template
from marshmallow import Schema
from marshmallow.fields import Field

from views import schemas
from workflows.fields import MAX_ID
from workflows.rules import current as current_rules

PREFIX = "/api/v1/"
SECURITY = "bearer"
# What each refusal means (README, "JSON API v1"), with the settings it depends on; the body is
# always schemas.ApiError.
ERRORS = {
    400: "A logged-in browser session sent this without its X-CSRFToken header, or the body "
         "cannot be read.",
    401: "Not logged in: no bearer token, or one that expired or was revoked.",
    403: "You may see this, but your role may not do it.",
    404: "No such thing, or not one you may see.",
    409: "The ticket changed since you read it (stale_version), the step is not possible in its "
         "state, the month is closed, or the same request was sent a moment ago "
         "(already_registered, with the `ticket_id` it made): the message says which.",
    413: "What was sent is too large: a JSON body is at most {MAX_JSON_BYTES} bytes, a request "
         "with files at most {MAX_CONTENT_LENGTH} bytes.",
    422: "Missing or invalid data: `fields` names each field or query parameter at fault.",
    429: "Too many tries: wait the Retry-After seconds.",
}
_CONVERTER = re.compile(r"<(?:(?P<converter>\w+)(?:\([^>]*\))?:)?(?P<name>\w+)>")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`({])")
# The names views.schemas.RulesName stands for, from the rules in force.
VOCABULARIES = {
    "kind": lambda rules: list(rules.kinds),
    "state": lambda rules: sorted({s for kind in rules.kinds.values() for s in kind.states}),
    "trigger": lambda rules: sorted({t for kind in rules.kinds.values() for t in kind.triggers}),
    "finding": lambda rules: list(rules.assessment.findings),
    "deadline": lambda rules: sorted({d for kind in rules.kinds.values() for d in kind.deadlines}),
}


class UndocumentedRoute(LookupError):
    """An API route without @documented: the description would leave it out."""


@dataclass(frozen=True)
class Operation:
    """What a view takes and answers. A response is None (no body), a Schema class or a field
    (JSON), or {media type: a Schema class, a field, or None for a file}."""

    responses: dict[int, Any]
    body: type[Schema] | None = None       # a JSON object
    form: type[Schema] | None = None       # multipart/form-data
    query: type[Schema] | None = None
    path: type[Schema] | None = None       # for path parameters that are not ids
    errors: tuple[int, ...] = ()           # besides those every call of its sort may answer
    public: bool = False                   # no login needed


def documented(**described):
    """Say what the view takes and answers (see Operation); the view itself is unchanged."""
    operation = Operation(**described)

    def mark(view):
        view.openapi = operation
        return view

    return mark


def spec() -> dict:
    """The OpenAPI document of every route under /api/v1/ of the current app."""
    plugin = MarshmallowPlugin()
    document = APISpec(
        title="ButlerDesk API", version="1", openapi_version="3.1.0", plugins=[plugin],
        info={"description": (
            "The JSON API of ButlerDesk, a property-management service desk. Log in with "
            "POST /api/v1/tokens and send `Authorization: Bearer <token>` (a logged-in browser "
            "session works too, and must send its CSRF token in `X-CSRFToken` on POST). Times "
            "are ISO 8601; a time without an offset is the property's local time, answers are "
            "in UTC with the offset. Every refusal is {\"error\": {\"code\", \"message\", "
            "\"fields\"}} and changes nothing. The API always answers in English. People read this "
            "description at /api/docs.")})
    plugin.converter.add_attribute_function(_rules_names)
    document.components.security_scheme(SECURITY, {
        "type": "http", "scheme": "bearer",
        "description": "`Authorization: Bearer <token>`, the token from POST /api/v1/tokens"})
    document.components.schema("ApiError", schema=schemas.ApiError)
    for rule in current_app.url_map.iter_rules():  # in the order the views were added
        if not rule.rule.startswith(PREFIX):
            continue
        view = current_app.view_functions[rule.endpoint]
        operation = getattr(view, "openapi", None)
        if not isinstance(operation, Operation):
            raise UndocumentedRoute(f"{rule.rule} ({rule.endpoint}) has no @documented(...): "
                                    "describe it (views.openapi) so that the API's description "
                                    "includes it")
        path, parameters = _path(rule.rule, operation)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            document.path(path=path, operations={
                method.lower(): _operation(rule, view, operation, parameters, plugin.converter)})
    return document.to_dict()


def _rules_names(self, field, **_kwargs) -> dict:
    """An apispec attribute function: a RulesName lists the names of the rules in force."""
    if not isinstance(field, schemas.RulesName):
        return {}
    names = VOCABULARIES[field.vocabulary](current_rules())
    return {"enum": [*names, None] if field.allow_none else names}


def _path(rule: str, operation: Operation) -> tuple[str, list[dict]]:
    """/tickets/<int:ticket_id> as /tickets/{ticket_id}, with its path parameters: an int is an
    id; any other text is described by the view's `path` schema, or is just a string."""
    parameters = []
    for found in _CONVERTER.finditer(rule):
        converter, name = found["converter"] or "default", found["name"]
        if converter == "int":
            schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        elif converter not in ("default", "string"):
            raise UndocumentedRoute(f"{rule}: no description of the path converter {converter!r}")
        elif operation.path is not None:
            continue
        else:
            schema = {"type": "string"}
        parameters.append({"in": "path", "name": name, "required": True, "schema": schema})
    if operation.path is not None:
        parameters.append({"in": "path", "schema": operation.path})
    return _CONVERTER.sub(r"{\g<name>}", rule), parameters


def _content(answer, converter) -> dict:
    media = answer if isinstance(answer, dict) else {"application/json": answer}
    return {kind: {} if schema is None else {"schema": converter.field2property(schema)
                                             if isinstance(schema, Field) else schema}
            for kind, schema in media.items()}


def _operation(rule, view, operation: Operation, path_parameters: list[dict],
               converter) -> dict:
    doc = inspect.getdoc(view) or ""
    first, _, rest = doc.partition("\n\n")
    summary, *more = _SENTENCE_END.split(" ".join(first.split()), maxsplit=1)
    description = "\n\n".join(part for part in (*more, rest) if part)
    described: dict[str, Any] = {
        "operationId": rule.endpoint.rpartition(".")[2],
        "tags": [rule.rule[len(PREFIX):].split("/")[0]],
        "summary": summary,
        "responses": {},
        "security": [] if operation.public else [{SECURITY: []}],
    }
    if description:
        described["description"] = description
    parameters = [*path_parameters, *([{"in": "query", "schema": operation.query}]
                                      if operation.query else [])]
    if parameters:
        described["parameters"] = parameters
    if operation.body is not None:
        described["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": operation.body}}}
    if operation.form is not None:
        described["requestBody"] = {"required": True,
                                    "content": {"multipart/form-data": {"schema": operation.form}}}
    for status, answer in sorted(operation.responses.items()):
        response: dict[str, Any] = {"description": _answer_description(status)}
        if answer is not None:
            response["content"] = _content(answer, converter)
        described["responses"][str(status)] = response
    errors = {*operation.errors, *_common_errors(rule, operation)}
    for status in sorted(errors):
        response = {"description": ERRORS[status].format_map(current_app.config),
                    "content": {"application/json": {"schema": "ApiError"}}}
        if status == 429:
            response["headers"] = {"Retry-After": {
                "description": "seconds until tries are let through again", "required": True,
                "schema": {"type": "integer", "minimum": 1}}}
        described["responses"][str(status)] = response
    return described


def _common_errors(rule, operation: Operation) -> set[int]:
    """401 without a login; 400 for a browser session's write without its CSRF token; 413 for a
    body too large."""
    errors = set()
    if not operation.public:
        errors.add(401)
        if rule.methods - {"GET", "HEAD", "OPTIONS"}:
            errors.add(400)
    if operation.body is not None or operation.form is not None:
        errors.add(413)
    return errors


def _answer_description(status: int) -> str:
    return {200: "OK", 201: "Created", 204: "Done; no content"}[status]


# -- the page for people --------------------------------------------------------------------------

def docs_page():
    """GET /api/docs: every operation of the API, from the same description."""
    document = spec()
    components = document["components"]["schemas"]
    groups: dict[str, list[dict]] = {}
    for path, methods in document["paths"].items():
        for method, described in methods.items():
            groups.setdefault(described["tags"][0], []).append(
                _page_operation(path, method, described, components))
    return render_template("api_docs.html", info=document["info"], groups=groups,
                           schemas={name: _fields(schema) for name, schema
                                    in sorted(components.items())})


def _page_operation(path: str, method: str, described: dict, components: dict) -> dict:
    body = described.get("requestBody", {}).get("content", {})
    return {
        "id": described["operationId"], "method": method.upper(), "path": path,
        "summary": described["summary"], "description": described.get("description", ""),
        "public": not described["security"],
        "parameters": [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                        "type": type_of(p["schema"]),
                        "description": p.get("description", p["schema"].get("description", ""))}
                       for p in described.get("parameters", [])],
        "body": [{"media_type": kind, "fields": _fields(_resolved(media["schema"], components))}
                 for kind, media in body.items()],
        "responses": [{"status": status, "description": response["description"],
                       "content": [{"media_type": kind,
                                    "type": type_of(media["schema"]) if "schema" in media else None}
                                   for kind, media in response.get("content", {}).items()]}
                      for status, response in described["responses"].items()],
    }


def _resolved(schema: dict, components: dict) -> dict:
    if "$ref" in schema:
        return components[schema["$ref"].rpartition("/")[2]]
    return schema


def _fields(schema: dict) -> list[dict]:
    required = set(schema.get("required", ()))
    return [{"name": name, "type": type_of(prop), "required": name in required,
             "description": prop.get("description", "")}
            for name, prop in schema.get("properties", {}).items()]


def type_of(schema: dict) -> list:
    """A JSON schema as words for people: strings, and {"ref": name} for a schema of its own."""
    if "$ref" in schema:
        return [{"ref": schema["$ref"].rpartition("/")[2]}]
    for combined in ("anyOf", "oneOf"):
        if combined in schema:
            parts: list = []
            for option in schema[combined]:
                parts += [" or "] * bool(parts) + type_of(option)
            return parts
    types = schema.get("type", "any")
    types = [types] if isinstance(types, str) else types
    words: list = []
    for kind in types:
        words += [" or "] * bool(words)
        if kind == "array":
            words += ["array of ", *type_of(schema.get("items", {}))]
        elif kind == "object" and isinstance(schema.get("additionalProperties"), dict) \
                and schema["additionalProperties"]:
            words += ["object of ", *type_of(schema["additionalProperties"])]
        else:
            words.append(kind + (f" ({schema['format']})" if "format" in schema
                                 and kind != "null" else ""))
    limits = [f"{word} {schema[key]}" for key, word in
              (("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥"),
               ("maxLength", "length ≤"), ("pattern", "matching"), ("default", "default"))
              if key in schema]
    if "enum" in schema:
        limits.insert(0, "one of " + ", ".join("null" if v is None else str(v)
                                                for v in schema["enum"]))
    return words + ([f"; {'; '.join(limits)}"] if limits else [])
