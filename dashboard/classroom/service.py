"""Classrooms: create, join, hand over control, lock, fork, step the lesson, end.

The truth is held in memory (`classrooms`, and the roles in access.py), so the stream and
every permission check read it without touching the database; each change is written to
the rows (dashboard/classroom/models.py) first, on the history's database thread, when
clusters are persisted at all (settings.PERSIST_CLUSTERS), and `load` rebuilds all of it
when the server starts. Every function raises CommandError (status, field) or
access.Forbidden for what the caller got wrong.
"""

import asyncio
import json
import logging
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from cluster.commands import CommandError

from .. import demo, limits, scenarios, services
from ..history import store
from ..runner import registry
from . import access

log = logging.getLogger("clusterscope.classroom")

# Join codes are read off a projector and typed on phones: no 0/O, 1/I/L.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
CODE_PATTERN = re.compile(f"^[{ALPHABET}]{{{CODE_LENGTH}}}$")
NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass
class Seat:
    """One viewer who joined."""

    viewer: str
    name: str
    key: str  # sha256 digest
    sandbox: str | None = None


@dataclass
class Classroom:
    code: str
    cluster: str
    room: access.Room
    others: list[str] = field(default_factory=list)  # a lesson's compared clusters
    scenario: str | None = None
    run: str | None = None
    lang: str = "en"
    seats: dict[str, Seat] = field(default_factory=dict)  # viewer id -> seat
    sockets: dict = field(default_factory=dict)  # consumer -> viewer id (None: not counted)
    remote: dict[str, set[str]] = field(default_factory=dict)  # scale-out, on the owner: process channel -> viewers connected there

    @property
    def clusters(self) -> list[str]:
        return [self.cluster, *self.others]

    def here(self) -> set[str]:
        """The viewers connected to this process."""
        return {v for v in self.sockets.values() if v is not None}

    def connected(self) -> set[str]:
        return self.here().union(*self.remote.values())

    def step(self) -> int | None:
        try:
            record = scenarios.held(self.run)  # after a restart: taken up from its saved row
        except CommandError:  # its clusters or its scenario are gone
            record = None
        return record.run.index - 1 if record is not None and record.run.index > 0 else None

    def body(self) -> dict:
        """GET /api/classrooms/<code>: the same body goes out in the stream's classroom frames."""
        return {
            "code": self.code,
            "cluster": self.cluster,
            "viewers": len(self.connected()),
            "controller": self.room.controller,
            "locked": self.room.locked,
            "forks_allowed": self.room.forks_allowed,
            "scenario": self.scenario,
            "run": self.run,
            "step": self.step(),
        }


classrooms: dict[str, Classroom] = {}
# Among several server processes (dashboard/scaleout/seats.py): the viewers of a classroom
# whose cluster runs elsewhere are reported to that process, which counts them and sends the
# frames to every process. None in one process.
scaleout = None


# --- the database (each function runs on store's thread) ---------------------------------
def _rows():
    from .models import Classroom as Row
    from .models import Sandbox, Viewer

    return Row, Viewer, Sandbox


def _read_all() -> tuple[list[dict], dict[str, str]]:
    Row, Viewer, Sandbox = _rows()
    rooms = []
    for row in Row.objects.all():
        viewers = [{"viewer": v.viewer, "name": v.name, "key": v.key, "sandbox": v.sandbox} for v in Viewer.objects.filter(classroom=row).order_by("pk")]
        rooms.append({"code": row.code, "cluster": row.cluster, "others": list(row.others), "presenter": row.presenter, "controller": row.controller,
                      "locked": row.locked, "forks_allowed": row.forks_allowed, "scenario": row.scenario, "run": row.run, "lang": row.lang,
                      "viewers": viewers})
    return rooms, {s.cluster: s.owner for s in Sandbox.objects.all()}


def _write(fn, *args, **kwargs) -> None:
    if store.enabled():
        store.call(fn, *args, **kwargs)


def _db_create(c: Classroom) -> None:
    Row, _, _ = _rows()
    Row.objects.create(code=c.code, cluster=c.cluster, others=c.others, presenter=c.room.presenter, locked=c.room.locked,
                       forks_allowed=c.room.forks_allowed, scenario=c.scenario, run=c.run, lang=c.lang)


def _db_update(code: str, **fields) -> None:
    Row, _, _ = _rows()
    Row.objects.filter(code=code).update(**fields)


def _db_delete(code: str) -> None:
    Row, _, _ = _rows()
    Row.objects.filter(code=code).delete()


def _db_join(code: str, seat: Seat) -> None:
    Row, Viewer, _ = _rows()
    Viewer.objects.create(classroom=Row.objects.get(code=code), viewer=seat.viewer, name=seat.name, key=seat.key)


def _db_sandbox(code: str, viewer: str, cluster: str, owner: str) -> None:
    from django.db import transaction

    _, Viewer, _ = _rows()
    with transaction.atomic():
        _db_own(cluster, owner)
        Viewer.objects.filter(classroom__code=code, viewer=viewer).update(sandbox=cluster)


def _db_own(cluster: str, owner: str) -> None:
    _, _, Sandbox = _rows()
    Sandbox.objects.update_or_create(cluster=cluster, defaults={"owner": owner})


def _db_forget_sandbox(cluster: str) -> None:
    _, Viewer, Sandbox = _rows()
    Sandbox.objects.filter(cluster=cluster).delete()
    Viewer.objects.filter(sandbox=cluster).update(sandbox=None)


def load() -> tuple[dict[str, access.Room], dict[str, str]]:
    """Rebuild the classrooms from the rows; the roles are returned for access.load to take."""
    rooms, sandboxes = store.call(_read_all)
    kept = {code: (c.sockets, c.remote) for code, c in classrooms.items()}  # this process's, kept over a re-read (scale-out)
    classrooms.clear()
    for r in rooms:
        seats = {v["viewer"]: Seat(v["viewer"], v["name"], v["key"], v["sandbox"]) for v in r["viewers"]}
        room = access.Room(code=r["code"], presenter=r["presenter"], viewers={s.key: s.viewer for s in seats.values()}, controller=r["controller"],
                           locked=r["locked"], forks_allowed=r["forks_allowed"])
        c = Classroom(code=r["code"], cluster=r["cluster"], room=room, others=r["others"], scenario=r["scenario"], run=r["run"], lang=r["lang"], seats=seats,
                      sockets=kept.get(r["code"], ({}, {}))[0], remote=kept.get(r["code"], ({}, {}))[1])
        classrooms[c.code] = c
    return {name: c.room for c in classrooms.values() for name in c.clusters}, sandboxes


def clear() -> None:
    """Forget what is in memory (tests: the next access reads the rows again)."""
    classrooms.clear()
    access.clear()


# --- lookups -----------------------------------------------------------------------------
def get(code: str) -> Classroom:
    registry.ensure_demo()  # the clusters are loaded (after a restart) before anyone acts on them
    access.ensure_loaded()
    c = classrooms.get(code.upper()) if isinstance(code, str) and CODE_PATTERN.match(code.upper()) else None
    if c is None:
        raise CommandError(f"no classroom {code}: check the code", "code", status=404)
    return c


def of_cluster(name: str) -> Classroom | None:
    room = access.room(name)
    return classrooms.get(room.code) if room is not None else None


def _presenter(c: Classroom, key: str | None) -> None:
    if access.role(c.cluster, key) != access.ROLE_PRESENTER:
        raise access.Forbidden(f"only the presenter of classroom {c.code} may do this: send the presenter key (header X-Clusterscope-Key)")


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        if code not in classrooms:
            return code


# --- actions -----------------------------------------------------------------------------
async def create(*, cluster: str | None, scenario: str | None, lang: str, client: str) -> tuple[Classroom, str]:
    """A classroom on an existing open cluster, on a new live run of a lesson, or on a new
    cluster with the demo application. Returns it and the presenter key (shown once)."""
    access.ensure_loaded()
    code = _new_code()
    others, run = [], None
    if cluster is not None:
        if scenario is not None:
            raise CommandError("give a cluster or a scenario, not both (a lesson starts on new clusters)", "scenario")
        services.get_handle(cluster)
        if access.kind(cluster) != access.OPEN:
            raise CommandError(f"cluster {cluster} is already {access.kind(cluster)}: a classroom needs an open cluster", "cluster", status=409)
    elif scenario is not None:
        limits.cluster_creation(client)
        record = await scenarios.start(scenario_id=scenario, mode="live", name=None, lang=lang)
        cluster, others, run = record.names["main"], [n for k, n in record.names.items() if k != "main"], record.id
    else:
        limits.cluster_creation(client)
        cluster = f"class-{code.lower()}"
        handle = services.create_cluster(name=cluster, speed=1.0, paused=False, seed=1)
        demo.seed(handle)  # something moves from the first second
    key = secrets.token_urlsafe(24)
    c = Classroom(code=code, cluster=cluster, room=access.Room(code=code, presenter=access.digest(key)), others=others, scenario=scenario, run=run, lang=lang)
    _write(_db_create, c)
    classrooms[code] = c
    for name in c.clusters:
        access.share(name, c.room)
    log.info("classroom %s on cluster %s", code, cluster)
    return c, key


def update(c: Classroom, key: str | None, *, locked: bool | None, forks_allowed: bool | None, controller: str | None, set_controller: bool) -> Classroom:
    _presenter(c, key)
    if set_controller and controller is not None and controller not in c.seats:
        raise CommandError(f"no viewer {controller} in classroom {c.code}", "controller", status=400)
    room = c.room
    fields = {"locked": room.locked if locked is None else locked, "forks_allowed": room.forks_allowed if forks_allowed is None else forks_allowed,
              "controller": controller if set_controller else room.controller}
    _write(_db_update, c.code, **fields)
    room.locked, room.forks_allowed, room.controller = fields["locked"], fields["forks_allowed"], fields["controller"]
    broadcast(c)
    return c


def end(c: Classroom, key: str | None) -> None:
    """Its clusters become open again; sandboxes stay their viewers'."""
    _presenter(c, key)
    _write(_db_delete, c.code)
    classrooms.pop(c.code, None)
    for name in c.clusters:
        access.unshare(name)
    _send(c, {"type": "classroom", "classroom": None, "ended": c.code})


def join(c: Classroom, name: str) -> tuple[Seat, str]:
    if len(c.seats) >= limits.get("viewers_per_classroom"):
        raise CommandError(f"classroom {c.code} is full: at most {limits.get('viewers_per_classroom')} viewers (limit viewers_per_classroom)", "code", status=429)
    key = secrets.token_urlsafe(24)
    viewer = f"v{len(c.seats) + 1}"  # viewers are never removed, so ids stay unique
    seat = Seat(viewer=viewer, name=name, key=access.digest(key))
    _write(_db_join, c.code, seat)
    c.seats[viewer] = seat
    c.room.viewers[seat.key] = viewer
    return seat, key


def viewers(c: Classroom, key: str | None) -> list[dict]:
    _presenter(c, key)
    online = c.connected()
    return [{"viewer": s.viewer, "name": s.name, "connected": s.viewer in online,
             "sandbox": s.sandbox if s.sandbox and registry.get(s.sandbox) is not None else None} for s in c.seats.values()]


async def fork(c: Classroom, key: str | None, name: str | None) -> str:
    """A sandbox: the shared cluster at its current time, owned by this viewer's key."""
    d = access.digest(key)
    viewer = c.room.viewers.get(d) if d else None
    if viewer is None:
        raise access.Forbidden(f"join classroom {c.code} first (POST /api/classrooms/{c.code}/viewers) and send your viewer key")
    access.check(c.cluster, key, "fork")
    seat = c.seats[viewer]
    if seat.sandbox and registry.get(seat.sandbox) is not None:
        raise CommandError(f"you have a sandbox already: {seat.sandbox} (delete it to fork again)", "name", status=409)
    name = name or f"{c.code.lower()}-{viewer}"
    parent = services.get_handle(c.cluster)
    await services.fork(name=c.cluster, new_name=name, time=None)
    try:
        _write(_db_sandbox, c.code, viewer, name, seat.key)
    except CommandError:
        registry.delete(name)
        raise
    seat.sandbox = name
    access.own(name, seat.key)
    if not parent.paused:  # it goes on as the shared one did, now on its own
        services.set_clock(name=name, paused=False, speed=parent.speed)
    return name


def own_fork(source: str, fork: str, key: str | None) -> None:
    """A fork of a shared cluster or a sandbox made through POST /api/clusters/<name>/fork
    with a key is that key's sandbox, as one made through the classroom."""
    d = access.digest(key)
    if d is None or access.kind(source) == access.OPEN:
        return
    _write(_db_own, fork, d)
    access.own(fork, d)


async def step(c: Classroom, key: str | None, choice: int | None) -> dict:
    """The live lesson's next step (POST /api/scenarios/<id>/runs/<run>/next): its report."""
    access.check(c.cluster, key, "write")
    if c.run is None:
        raise CommandError(f"classroom {c.code} follows no lesson (create it with a scenario)", "run", status=409)
    if scenarios.held(c.run) is None:
        raise CommandError(f"the lesson run {c.run} of classroom {c.code} is gone (the server restarted before it was saved)", "run", status=410)
    record = await scenarios.next_step(scenario_id=c.scenario, run_id=c.run, choice=choice)
    broadcast(c)
    return record.report()


def stepped(cluster: str) -> None:
    """A lesson run was stepped through POST /api/scenarios/<id>/runs/<run>/next."""
    c = of_cluster(cluster)
    if c is not None:
        broadcast(c)


def cluster_deleted(name: str) -> None:
    """DELETE /api/clusters/<name>: a classroom on it ends, a sandbox is forgotten (a new
    cluster of that name starts open)."""
    c = of_cluster(name)
    if c is not None and c.cluster == name:
        _write(_db_delete, c.code)
        classrooms.pop(c.code, None)
        for other in c.clusters:
            access.unshare(other)
    elif c is not None:
        c.others.remove(name)
        _write(_db_update, c.code, others=c.others)
        access.unshare(name)
    if access.owner(name) is not None:
        _write(_db_forget_sandbox, name)
        for room in classrooms.values():
            for seat in room.seats.values():
                if seat.sandbox == name:
                    seat.sandbox = None
    access.forget(name)


# --- the stream (dashboard/consumers.py calls these) -------------------------------------
def _query(consumer) -> dict:
    query = parse_qs(consumer.scope.get("query_string", b"").decode(errors="replace"))
    return {k: v[0] for k, v in query.items() if v}


async def connected(consumer, cluster: str) -> None:
    """A socket opened on a cluster: on a shared one it is counted if it gave a viewer id with
    that viewer's key, and everyone hears the new count (the newcomer at least the state)."""
    access.ensure_loaded()
    c = of_cluster(cluster)
    if c is None:
        return
    q = _query(consumer)
    d = access.digest(q.get("key"))
    viewer = q.get("viewer")
    counted = viewer if viewer and d and c.room.viewers.get(d) == viewer else None
    before = len(c.connected())
    c.sockets[consumer] = counted
    if scaleout is not None and not scaleout.runs_here(c):  # its owner counts and tells everyone
        await scaleout.joined(c, consumer)
        return
    if len(c.connected()) != before:
        broadcast(c)
    else:
        await consumer.send(_dumps({"type": "classroom", "classroom": c.body()}))


def disconnected(consumer, cluster: str) -> None:
    c = of_cluster(cluster)
    if c is None or consumer not in c.sockets:
        return
    before = len(c.connected())
    del c.sockets[consumer]
    if scaleout is not None and not scaleout.runs_here(c):
        scaleout.left(c)
        return
    if len(c.connected()) != before:
        broadcast(c)


def broadcast(c: Classroom) -> None:
    """Tell every socket on the classroom's clusters (viewers, controller, lock or step changed)."""
    _send(c, {"type": "classroom", "classroom": c.body()})


def _send(c: Classroom, frame: dict) -> None:
    text = _dumps(frame)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop (a synchronous caller): nobody can be connected
        return
    if scaleout is not None:  # the sockets on other processes, through their mirrors of the clusters
        scaleout.publish(c, text)
    for name in c.clusters:
        handle = registry.get(name)
        for consumer in list(handle.subscribers) if handle is not None else ():
            if hasattr(consumer, "send"):  # WebSocket viewers (not a kubectl request's waker)
                loop.create_task(consumer.send(text))


def _dumps(frame: dict) -> str:
    return json.dumps(frame, separators=(",", ":"), allow_nan=False)
