"""Reads of cluster state for views and consumers."""

from cluster.commands import CommandError

from .runner import registry
from .services import get_handle

MAX_EVENTS_PAGE = 5000


def list_summaries() -> list[dict]:
    registry.ensure_demo()
    return [registry.handles[name].summary() for name in sorted(registry.handles)]


def summary(*, name: str) -> dict:
    return get_handle(name).summary()


def snapshot(*, name: str) -> dict:
    handle = get_handle(name)
    state = handle.cluster.snapshot()
    state["clock"] = handle.clock()
    return state


def events(*, name: str, after: int, limit: int) -> dict:
    handle = get_handle(name)
    if after < 0:
        raise CommandError("after must be 0 or more", "after")
    if not 1 <= limit <= MAX_EVENTS_PAGE:
        raise CommandError(f"limit must be between 1 and {MAX_EVENTS_PAGE}", "limit")
    found = handle.cluster.events_since(after, limit)
    log = handle.cluster.sim.log
    if found is None:
        raise CommandError(f"events after {after} are no longer kept; the oldest is {log.first_seq}", "after", status=410)
    return {"events": found, "last_seq": log.last_seq, "first_seq": log.first_seq}
