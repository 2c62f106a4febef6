"""The durable half of history: clusters, command logs, checkpoints and branches in the
database (dashboard/models.py).

Every function here runs on one database thread (`call`): the ORM may not run on the
event loop's thread, and the runner needs each write finished before the command it
records takes effect, so the loop waits for it (a commit takes about a millisecond;
a locked database gives up after settings.DB_TIMEOUT). Writes that are only bookkeeping
(where a clock stands, checkpoints) are queued without waiting (`later`); the single
thread keeps every write in the order it was asked for.

A failed write raises StoreError: a CommandError with status 503, so REST answers
{"error", "field"} and the Kubernetes API a Status, and the action is refused.
"""

import asyncio
import logging
import pickle
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models.functions import Now

from cluster.commands import CommandError

from ..models import Branch, Checkpoint, Command, Lease, StoredCluster

log = logging.getLogger("clusterscope.history")

_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clusterscope-db")


class StoreError(CommandError):
    def __init__(self, message: str):
        super().__init__(message, "database", status=503)


def _guarded(fn, args, kwargs):
    connection.close_if_unusable_or_obsolete()  # a dropped PostgreSQL connection is reopened
    try:
        return fn(*args, **kwargs)
    except DatabaseError as exc:
        raise StoreError(f"the database could not record this, so nothing was done: {str(exc).strip() or type(exc).__name__}") from exc


def call(fn, *args, **kwargs):
    """Run fn on the database thread and wait for it."""
    return _thread.submit(_guarded, fn, args, kwargs).result()


async def acall(fn, *args, **kwargs):
    """As call, without holding the event loop while the database answers (scale-out's loops)."""
    return await asyncio.wrap_future(_thread.submit(_guarded, fn, args, kwargs))


def later(fn, *args, **kwargs) -> None:
    """Queue fn on the database thread; a failure is logged (it is retried by the next save)."""
    future = _thread.submit(_guarded, fn, args, kwargs)
    future.add_done_callback(lambda f: f.exception() and log.warning("history: %s", f.exception()))


def enabled() -> bool:
    return settings.PERSIST_CLUSTERS


# Scale-out (dashboard/scaleout): this process's channel, set when it runs among others. A
# cluster created here is leased to it in the same transaction, and every command and saved
# position is written only while it still holds the lease (the write renews it): a process
# that lost a cluster to another can no longer add to its log.
owner: str | None = None


def _lease_until():
    return Now() + timedelta(seconds=settings.LEASE_SECONDS)


def _fenced(pk: int) -> None:
    if owner is not None and not Lease.objects.filter(cluster_id=pk, owner=owner).update(until=_lease_until()):
        raise DatabaseError("another server process runs this cluster now")


# --- writes ------------------------------------------------------------------------------
def create(*, config: dict, paused: bool, speed: float, entries: list[dict] = (), at_us: int = 0, processed: int = 0, head: tuple[int, int] | None = None) -> int:
    head = head or (at_us, processed)
    try:
        with transaction.atomic():
            return _create(config, paused, speed, entries, at_us, processed, head)
    except IntegrityError as exc:  # another process has just created one of that name
        raise CommandError(f"cluster {config['name']} already exists", "name", status=409) from exc


def _create(config, paused, speed, entries, at_us, processed, head) -> int:
    row = StoredCluster.objects.create(name=config["name"], config=config, paused=paused, speed=speed, time_us=at_us, processed=processed,
                                       head_us=head[0], head_processed=head[1], next_seq=1 + max((e["seq"] for e in entries), default=0))
    Command.objects.bulk_create([Command(cluster=row, seq=e["seq"], at_us=e["at"], after=e["after"], command=e["command"]) for e in entries])
    if owner is not None:
        Lease.objects.create(cluster=row, owner=owner, until=_lease_until())
    return row.pk


def delete(pk: int) -> None:
    StoredCluster.objects.filter(pk=pk).delete()


def record(pk: int, entry: dict, *, head: tuple[int, int], clock: dict | None = None, split: dict | None = None) -> int | None:
    """Store one entry of the timeline, in one transaction with what goes with it: the
    branch set aside when it is taken in the past (`split`; its id is returned) and the
    new clock."""
    branch_id = None
    with transaction.atomic():
        _fenced(pk)
        if split is not None:
            branch_id = _set_aside(pk, split)
        Command.objects.create(cluster_id=pk, seq=entry["seq"], at_us=entry["at"], after=entry["after"], command=entry["command"])
        fields = {"next_seq": entry["seq"] + 1, "time_us": entry["at"], "processed": entry["after"], "head_us": head[0], "head_processed": head[1]}
        if clock is not None:
            fields.update(paused=clock["paused"], speed=clock["speed"])
        StoredCluster.objects.filter(pk=pk).update(**fields)
    return branch_id


def _set_aside(pk: int, split: dict) -> int:
    kept = split["kept"]  # how many entries the timeline keeps
    old = split["entries"]
    branch = Branch.objects.create(cluster_id=pk, fork_us=split["fork"][0], fork_processed=split["fork"][1], head_us=split["head"][0],
                          head_processed=split["head"][1], commands=old)
    if kept < len(old):
        Command.objects.filter(cluster_id=pk, seq__gte=old[kept]["seq"]).delete()
    _drop_checkpoints_after(pk, split["fork"])
    return branch.pk


def _drop_checkpoints_after(pk: int, fork: tuple[int, int]) -> None:
    # A checkpoint past the fork holds the old future: it no longer belongs to this timeline.
    Checkpoint.objects.filter(cluster_id=pk, processed__gt=fork[1]).delete()
    Checkpoint.objects.filter(cluster_id=pk, processed=fork[1], at_us__gt=fork[0]).delete()


def save_position(pk: int, *, at_us: int, processed: int, head: tuple[int, int], paused: bool | None = None, speed: float | None = None) -> None:
    fields = {"time_us": at_us, "processed": processed, "head_us": head[0], "head_processed": head[1]}
    if paused is not None:
        fields.update(paused=paused, speed=speed)
    with transaction.atomic():
        _fenced(pk)
        StoredCluster.objects.filter(pk=pk).update(**fields)


def save_checkpoint(pk: int, *, at_us: int, processed: int, state: bytes) -> None:
    Checkpoint.objects.create(cluster_id=pk, at_us=at_us, processed=processed, state=zlib.compress(state, 1))


def switch(pk: int, *, branch_id: int, entries: list[dict], head: tuple[int, int], fork: tuple[int, int], at: tuple[int, int]) -> int:
    """Make a branch the active timeline; the active one becomes a branch in its place
    (its id is returned)."""
    with transaction.atomic():
        _fenced(pk)
        branch = Branch.objects.get(pk=branch_id, cluster_id=pk)
        kept = Branch.objects.create(cluster_id=pk, fork_us=fork[0], fork_processed=fork[1], head_us=head[0], head_processed=head[1], commands=entries)
        Command.objects.filter(cluster_id=pk).delete()
        Command.objects.bulk_create([Command(cluster_id=pk, seq=e["seq"], at_us=e["at"], after=e["after"], command=e["command"]) for e in branch.commands])
        _drop_checkpoints_after(pk, fork)
        next_seq = 1 + max([e["seq"] for e in branch.commands] + [e["seq"] for e in entries], default=0)
        StoredCluster.objects.filter(pk=pk).update(time_us=at[0], processed=at[1], head_us=branch.head_us, head_processed=branch.head_processed, next_seq=next_seq)
        branch.delete()
        return kept.pk


def discard_branch(pk: int, branch_id: int) -> bool:
    return Branch.objects.filter(pk=branch_id, cluster_id=pk).delete()[0] > 0


# --- reads -------------------------------------------------------------------------------
def load_all() -> list[dict]:
    """Every stored cluster with its active timeline, oldest first."""
    return [_stored(row) for row in StoredCluster.objects.order_by("pk")]


def load_one(name: str) -> dict | None:
    """One stored cluster, as load_all gives it (a process taking over a cluster)."""
    row = StoredCluster.objects.filter(name=name).first()
    return None if row is None else _stored(row)


def _stored(row: StoredCluster) -> dict:
    entries = [{"seq": c.seq, "at": c.at_us, "after": c.after, "command": c.command} for c in Command.objects.filter(cluster=row).order_by("seq")]
    return {"pk": row.pk, "config": row.config, "paused": row.paused, "speed": row.speed, "position": (row.time_us, row.processed),
            "head": (row.head_us, row.head_processed), "next_seq": row.next_seq, "entries": entries, "branches": _branches(row)}


def checkpoints_before(pk: int, at_us: int, processed: int | None = None) -> list[tuple[int, int, int]]:
    """(id, at_us, processed) of the checkpoints at or before a position, newest first."""
    rows = Checkpoint.objects.filter(cluster_id=pk, at_us__lte=at_us)
    if processed is not None:
        rows = rows.filter(processed__lte=processed)
    return list(rows.order_by("-processed", "-at_us").values_list("pk", "at_us", "processed")[:5])


def load_checkpoint(checkpoint_id: int):
    """The Cluster in a checkpoint, or None when it cannot be loaded (it is then ignored and
    the log replayed: a checkpoint is a cache, never the record)."""
    blob = Checkpoint.objects.filter(pk=checkpoint_id).values_list("state", flat=True).first()
    if blob is None:
        return None
    try:
        return pickle.loads(zlib.decompress(bytes(blob)))
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
        log.warning("history: checkpoint %s cannot be loaded (%s: %s); replaying the log instead", checkpoint_id, type(exc).__name__, exc)
        return None


def _branches(row: StoredCluster) -> dict[int, dict]:
    return {b.pk: {"entries": b.commands, "head": (b.head_us, b.head_processed), "fork": (b.fork_us, b.fork_processed)}
            for b in Branch.objects.filter(cluster=row).order_by("pk")}
