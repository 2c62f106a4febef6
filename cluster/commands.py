"""Validation of user commands: every command is checked here before it is recorded.

A command is a JSON-safe dict with a "type". A bad one raises CommandError naming the
field that is wrong; nothing is recorded or changed.
"""


class CommandError(ValueError):
    def __init__(self, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


def require(condition: bool, message: str, field: str | None = None, status: int = 400) -> None:
    if not condition:
        raise CommandError(message, field, status)


def number(body: dict, field: str, *, low: float, high: float, default=None, integer: bool = False):
    value = body.get(field, default)
    if value is None and default is None:
        raise CommandError(f"{field} is required", field)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CommandError(f"{field} must be a number", field)
    if value != value or value in (float("inf"), float("-inf")):
        raise CommandError(f"{field} must be finite", field)
    if integer and int(value) != value:
        raise CommandError(f"{field} must be a whole number", field)
    if not low <= value <= high:
        raise CommandError(f"{field} must be between {low:g} and {high:g}", field)
    return int(value) if integer else value


def string(body: dict, field: str, *, choices=None, default=None, max_length: int = 253) -> str:
    value = body.get(field, default)
    if value is None:
        raise CommandError(f"{field} is required", field)
    if not isinstance(value, str):
        raise CommandError(f"{field} must be a string", field)
    if len(value) > max_length:
        raise CommandError(f"{field} is longer than {max_length} characters", field)
    if choices is not None and value not in choices:
        raise CommandError(f"{field} must be one of: {', '.join(choices)}", field)
    return value


def no_unknown_fields(body: dict, allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise CommandError(f"unknown field: {unknown[0]}", unknown[0])
