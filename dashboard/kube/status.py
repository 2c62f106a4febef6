"""Kubernetes `Status` objects and JSON responses, for every failure the HTTP layer answers
itself (routing, decoding, waiting). Failures inside the API server come back from the
simulation as Status bodies already. kubectl prints `Error from server (<reason>): <message>`.
"""

import json

from django.http import HttpResponse

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}

JSON = "application/json"


def status(code: int, message: str, reason: str | None = None, details: dict | None = None) -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if code < 400 else "Failure",
        "message": message,
        "reason": reason or REASONS.get(code, "Unknown"),
        "details": details or {},
        "code": code,
    }


def dumps(value) -> bytes:
    """JSON as the wire carries it: compact, UTF-8, never NaN or infinity. A lone surrogate
    (which JSON's \\ud800 escape can smuggle into a string) becomes U+FFFD, as Go's encoder
    makes it, instead of failing the response."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    try:
        return text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()


def json_response(body, code: int = 200, *, content_type: str = JSON, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(dumps(body), status=code, content_type=content_type)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def error(code: int, message: str, reason: str | None = None, details: dict | None = None) -> HttpResponse:
    return json_response(status(code, message, reason, details), code)


def not_found() -> HttpResponse:
    return error(404, "the server could not find the requested resource")


def method_not_allowed() -> HttpResponse:
    return error(405, "the server does not allow this method on the requested resource")
