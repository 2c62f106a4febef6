"""Every failure the API server returns is a meta/v1 Status built here, shaped exactly
as kube-apiserver shapes it (kubectl prints `Error from server (<reason>): <message>`).

    not_found(info, "web")        -> 404 {"message": 'deployments.apps "web" not found',
                                          "details": {"name": "web", "group": "apps", "kind": "deployments"}, ...}
    invalid(info, "web", [FieldError(...)])   -> 422 with details.causes

A field error (apimachinery's field.Error) renders as `<field>: <body>`, the body being
`Required value`, `Invalid value: "x": detail`, `Unsupported value: "x": supported values: "A", "B"`...
"""

import json

from .resources import group_resource, qualified_kind


class ApiError(Exception):
    """Raised inside the pipeline to answer with a Status; `status` is the Status body."""

    def __init__(self, status: dict):
        super().__init__(status.get("message", ""))
        self.status = status

    @property
    def code(self) -> int:
        return self.status["code"]


def status(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason}
    if details:
        out["details"] = details
    out["code"] = code
    return out


def success(code: int = 200, details: dict | None = None) -> dict:
    out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    if details:
        out["details"] = details
    out["code"] = code
    return out


def _details(info: dict | None, name: str | None, **more) -> dict:
    details = {}
    if name:
        details["name"] = name
    if info is not None:
        if info["group"]:
            details["group"] = info["group"]
        details["kind"] = info["plural"]
    details.update({k: v for k, v in more.items() if v})
    return details


def not_found(info: dict, name: str) -> dict:
    return status(404, "NotFound", f'{group_resource(info)} "{name}" not found', _details(info, name))


def namespace_not_found(name: str) -> dict:
    return status(404, "NotFound", f'namespaces "{name}" not found', {"name": name, "kind": "namespaces"})


def already_exists(info: dict, name: str) -> dict:
    return status(409, "AlreadyExists", f'{group_resource(info)} "{name}" already exists', _details(info, name))


def conflict(info: dict, name: str, why: str = "the object has been modified; please apply your changes to the latest version and try again", resource: str | None = None) -> dict:
    what = resource or group_resource(info)
    return status(409, "Conflict", f'Operation cannot be fulfilled on {what} "{name}": {why}', _details(info, name))


def bad_request(message: str) -> dict:
    return status(400, "BadRequest", message)


def forbidden_message(message: str, info: dict | None = None, name: str | None = None) -> dict:
    return status(403, "Forbidden", message, _details(info, name))


def unauthorized() -> dict:
    return status(401, "Unauthorized", "Unauthorized")


def expired(message: str) -> dict:
    return status(410, "Expired", message)


def gone(message: str) -> dict:
    return status(410, "Gone", message)


def too_many_requests(message: str, causes: list | None = None, retry_after: int | None = None) -> dict:
    details = {}
    if causes:
        details["causes"] = causes
    if retry_after is not None:
        details["retryAfterSeconds"] = retry_after
    return status(429, "TooManyRequests", message, details)


def method_not_allowed(message: str) -> dict:
    return status(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> dict:
    return status(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {content_type})")


def timeout(message: str, causes: list | None = None) -> dict:
    return status(504, "Timeout", message, {"causes": causes} if causes else None)


def unavailable(message: str) -> dict:
    return status(503, "ServiceUnavailable", message)


def internal_error(message: str) -> dict:
    return status(500, "InternalError", f"Internal error occurred: {message}", {"causes": [{"message": message}]})


def resource_not_found(what: str) -> dict:
    """A path the API does not serve (kubectl: `the server could not find the requested resource`)."""
    return status(404, "NotFound", f"the server could not find the requested resource ({what})", {})


# --- field errors ---------------------------------------------------------------------------------
REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
DUPLICATE = "FieldValueDuplicate"
TOO_MANY = "FieldValueTooMany"
NOT_FOUND = "FieldValueNotFound"

_TYPE_TEXT = {
    REQUIRED: "Required value",
    INVALID: "Invalid value",
    NOT_SUPPORTED: "Unsupported value",
    FORBIDDEN: "Forbidden",
    TOO_LONG: "Too long",
    DUPLICATE: "Duplicate value",
    TOO_MANY: "Too many",
    NOT_FOUND: "Not found",
}
_NO_VALUE = (REQUIRED, FORBIDDEN, TOO_LONG)


class FieldError:
    """One validation error: a type (cause reason), the field path, the bad value, a detail."""

    __slots__ = ("type", "field", "value", "detail")

    def __init__(self, type_: str, field: str, value=None, detail: str = ""):
        self.type = type_
        self.field = field
        self.value = value
        self.detail = detail

    def body(self) -> str:
        text = _TYPE_TEXT[self.type]
        if self.type not in _NO_VALUE:
            text = f"{text}: {go_value(self.value)}"
        if self.detail:
            text = f"{text}: {self.detail}"
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"

    def __repr__(self) -> str:
        return f"FieldError({self})"


def required(field: str, detail: str = "") -> FieldError:
    return FieldError(REQUIRED, field, None, detail)


def invalid(field: str, value, detail: str) -> FieldError:
    return FieldError(INVALID, field, value, detail)


def not_supported(field: str, value, supported: list[str]) -> FieldError:
    detail = "supported values: " + ", ".join(json.dumps(v) for v in supported) if supported else ""
    return FieldError(NOT_SUPPORTED, field, value, detail)


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(FORBIDDEN, field, None, detail)


def too_long(field: str, value, max_length: int) -> FieldError:
    return FieldError(TOO_LONG, field, value, f"must have at most {max_length} bytes")


def field_not_found(field: str, value) -> FieldError:
    return FieldError(NOT_FOUND, field, value, "")


def duplicate(field: str, value) -> FieldError:
    return FieldError(DUPLICATE, field, value, "")


def go_value(value) -> str:
    """A value as Go's field errors print it: strings quoted, numbers and bools plain,
    maps of strings as Go's %#v (`map[string]string{"app":"x"}`), other values as JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        inner = ", ".join(f"{json.dumps(k, ensure_ascii=False)}:{json.dumps(v, ensure_ascii=False)}" for k, v in sorted(value.items()))
        return "map[string]string{" + inner + "}"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "}"
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def invalid_status(info: dict, name: str, errors: list[FieldError]) -> dict:
    """422 Invalid, as errors.NewInvalid builds it (duplicate messages printed once)."""
    causes = [{"reason": e.type, "message": e.body(), "field": e.field} for e in errors]
    messages: list[str] = []
    for error in errors:
        text = str(error)
        if text not in messages:
            messages.append(text)
    aggregate = messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"
    details = {"name": name}
    if info["group"]:
        details["group"] = info["group"]
    details["kind"] = info["kind"]
    details["causes"] = causes
    return status(422, "Invalid", f'{qualified_kind(info)} "{name}" is invalid: {aggregate}', details)


def invalid_generic(message: str, detail: str | None = None) -> dict:
    """422 without a kind (errors.NewGenericServerResponse), e.g. a JSON patch test that failed."""
    details = {"causes": [{"message": detail}]} if detail else None
    return status(422, "Invalid", message, details)
