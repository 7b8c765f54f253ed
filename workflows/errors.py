"""What the engine answers when it refuses. Each refusal changes nothing."""


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
