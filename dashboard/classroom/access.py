"""Who may do what to a cluster: the roles of classroom mode (docs/security.md, "Roles").

A cluster is one of three kinds:

    open     neither of the others (the default, the zero-config demo): anyone may do anything
    shared   a classroom's cluster: anyone may read it and fork it (when the presenter allows
             forks); only the presenter's key, or the key of the one viewer the presenter
             handed control to, may change it; when locked, destructive actions (faults,
             deletions of clusters, nodes and kube objects) are the presenter's alone
    sandbox  a fork made by a viewer: anyone may read it, only the key that forked it may
             change it

Keys are opaque strings sent as `X-Clusterscope-Key` (REST), `?key=` (WebSocket) or a bearer
token (Kubernetes API, over TLS). Only their sha256 digests are kept, here and in the
database. Everything is held in memory so that `role` and `check` are a dict lookup, safe
from async code; dashboard/classroom/service.py keeps this in step with the database rows,
and `load` rebuilds it from them when the server starts.
"""

import hashlib
import time
from dataclasses import dataclass, field

ROLE_PRESENTER = "presenter"
ROLE_CONTROLLER = "controller"
ROLE_OWNER = "owner"  # of a sandbox
ROLE_AUDIENCE = "audience"  # a viewer who joined the classroom, without control
ROLE_ANYONE = "anyone"  # no key, or a key this cluster does not know (every key on an open cluster)

ACTIONS = ("read", "write", "destructive", "fork")
OPEN, SHARED, SANDBOX = "open", "shared", "sandbox"


class Forbidden(Exception):
    """REST answers 403 {"error": message, "field": "X-Clusterscope-Key"}."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def digest(key: str | None) -> str | None:
    """What is kept of a key: its sha256, hex (a key never needs to be read back)."""
    if not key:
        return None
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Room:
    """A shared cluster's roles (the in-memory half of a Classroom row)."""

    code: str
    presenter: str  # digest of the presenter key
    viewers: dict[str, str] = field(default_factory=dict)  # key digest -> viewer id
    controller: str | None = None  # viewer id
    locked: bool = False
    forks_allowed: bool = True


_rooms: dict[str, Room] = {}  # shared cluster name -> its room
_sandboxes: dict[str, str] = {}  # sandbox cluster name -> owner key digest
_loaded = False
_loaded_at = 0.0
SCALEOUT_REFRESH_SECONDS = 1.0


# --- what the classroom service tells us ------------------------------------------------
def share(cluster: str, room: Room) -> None:
    _rooms[cluster] = room


def unshare(cluster: str) -> None:
    _rooms.pop(cluster, None)


def own(cluster: str, owner_digest: str) -> None:
    _sandboxes[cluster] = owner_digest


def forget(cluster: str) -> None:
    """The cluster is gone: a new cluster of that name starts open."""
    _rooms.pop(cluster, None)
    _sandboxes.pop(cluster, None)


def room(cluster: str) -> Room | None:
    return _rooms.get(cluster)


def owner(cluster: str) -> str | None:
    return _sandboxes.get(cluster)


def kind(cluster: str) -> str:
    ensure_loaded()
    if cluster in _rooms:
        return SHARED
    if cluster in _sandboxes:
        return SANDBOX
    return OPEN


# --- the API the views, the consumer and the Kubernetes API call ------------------------
def role(cluster: str, key: str | None) -> str:
    """The role this key has on this cluster."""
    ensure_loaded()
    d = digest(key)
    r = _rooms.get(cluster)
    if r is not None:
        if d is None:
            return ROLE_ANYONE
        if d == r.presenter:
            return ROLE_PRESENTER
        viewer = r.viewers.get(d)
        if viewer is not None:
            return ROLE_CONTROLLER if viewer == r.controller else ROLE_AUDIENCE
        return ROLE_ANYONE
    if d is not None and _sandboxes.get(cluster) == d:
        return ROLE_OWNER
    return ROLE_ANYONE


def check(cluster: str, key: str | None, action: str) -> None:
    """Raise Forbidden unless this key may do `action` (read, write, destructive, fork)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if action == "read":
        return
    what = kind(cluster)
    if what == OPEN:
        return
    who = role(cluster, key)
    if what == SANDBOX:
        if action == "fork" or who == ROLE_OWNER:
            return
        raise Forbidden(f"cluster {cluster} is a sandbox: only the key that forked it may change it (fork it to experiment)")
    r = _rooms[cluster]
    if action == "fork":
        if r.forks_allowed or who in (ROLE_PRESENTER, ROLE_CONTROLLER):
            return
        raise Forbidden(f"the presenter of classroom {r.code} does not allow forks of cluster {cluster} now")
    if who == ROLE_PRESENTER:
        return
    if who == ROLE_CONTROLLER:
        if action == "destructive" and r.locked:
            raise Forbidden(f"the presenter of classroom {r.code} has locked destructive actions on cluster {cluster}")
        return
    if key:
        raise Forbidden(f"cluster {cluster} is shared by classroom {r.code}: only the presenter, or the viewer given control, may change it")
    raise Forbidden(f"cluster {cluster} is shared by classroom {r.code}: send the presenter's key (header X-Clusterscope-Key) to change it")


# --- start and tests --------------------------------------------------------------------
def ensure_loaded() -> None:
    # Among several server processes (dashboard/scaleout) another one may have changed the
    # rows: the roles are read again when they are older than SCALEOUT_REFRESH_SECONDS.
    if not _loaded or (_scaleout() and time.monotonic() - _loaded_at > SCALEOUT_REFRESH_SECONDS):
        load()


def _scaleout() -> bool:
    from django.conf import settings

    return getattr(settings, "SCALEOUT", False)


def load() -> None:
    """Rebuild the roles from the database (once, when the server starts; again after
    `clear`). Without persistence (the in-process tests) there is nothing to read."""
    global _loaded, _loaded_at
    _loaded, _loaded_at = True, time.monotonic()
    from ..history import store  # Django must be set up first

    if not store.enabled():
        return
    from . import service

    try:
        rooms, sandboxes = service.load()
    except store.StoreError:
        _loaded = False  # the database could not answer: this check fails (503), the next one asks again
        raise
    _rooms.clear()
    _rooms.update(rooms)
    _sandboxes.clear()
    _sandboxes.update(sandboxes)


def clear() -> None:
    """Forget everything (tests; `load` then reads the database again)."""
    global _loaded
    _rooms.clear()
    _sandboxes.clear()
    _loaded = False
