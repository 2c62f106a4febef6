"""The database half of scale-out: server processes, their heartbeats, cluster leases.

Every function runs on the history's database thread (store.call / store.acall). Times are
the database's clock (Now()), so machines whose clocks disagree still agree on leases. A
lease is taken only by a conditional UPDATE (free, or run out): of two processes trying at
once, exactly one sees a row updated.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Now

from ..models import LessonRun, StoredCluster
from .models import Lease, ServerProcess


def _until(seconds: float | None = None):
    return Now() + timedelta(seconds=seconds if seconds is not None else settings.LEASE_SECONDS)


def register(channel: str, address: str) -> int:
    """This process's row; its id (never reused) tags what only this process holds: lesson runs."""
    row, _ = ServerProcess.objects.update_or_create(channel=channel, defaults={"address": address, "heartbeat_until": _until(), "draining": False})
    return row.pk


def heartbeat(channel: str, names: list[str], *, viewers: int, draining: bool) -> set[str]:
    """Renew this process's row and the leases of the clusters it runs; the names whose lease
    it still holds (one it lost, after a stall longer than a lease, must stop running here)."""
    with transaction.atomic():
        ServerProcess.objects.filter(channel=channel).update(heartbeat_until=_until(), clusters=len(names), viewers=viewers, draining=draining)
        Lease.objects.filter(owner=channel, cluster__name__in=names).update(until=_until())
        return set(Lease.objects.filter(owner=channel, until__gt=Now()).values_list("cluster__name", flat=True))


def leave(channel: str) -> None:
    ServerProcess.objects.filter(channel=channel).delete()


def owner_of(name: str) -> tuple[str, bool] | None:
    """(owner channel, lease still valid) of a stored cluster; None when no such cluster."""
    row = StoredCluster.objects.filter(name=name).values("pk").first()
    if row is None:
        return None
    lease = Lease.objects.filter(cluster_id=row["pk"], owner__gt="", until__gt=Now()).values_list("owner", flat=True).first()
    return (lease, True) if lease else ("", False)


def take(name: str, channel: str) -> bool:
    """Take the lease of a cluster whose owner released it or stopped renewing it."""
    row = StoredCluster.objects.filter(name=name).values("pk").first()
    if row is None:
        return False
    with transaction.atomic():
        Lease.objects.get_or_create(cluster_id=row["pk"])  # a cluster stored before scale-out was turned on
    free = Q(owner="") | Q(until__isnull=True) | Q(until__lte=Now())
    return Lease.objects.filter(Q(cluster_id=row["pk"]) & free).update(owner=channel, until=_until()) == 1


def run_cluster(run_id: str) -> str | None:
    """The main cluster of a saved lesson run (a run whose process is gone is taken up there)."""
    names = LessonRun.objects.filter(pk=run_id).values_list("names", flat=True).first()
    return names.get("main") if names else None


def classroom_cluster(code: str) -> str | None:
    """The shared cluster of a classroom (its requests are served by that cluster's owner)."""
    from ..classroom.models import Classroom  # noqa: PLC0415 - the classroom app's rows

    return Classroom.objects.filter(code=code.upper()).values_list("cluster", flat=True).first()


def release(name: str, channel: str) -> None:
    """Give a cluster up (a drain): free at once for another process to take."""
    Lease.objects.filter(cluster__name=name, owner=channel).update(owner="", until=None)


def orphans() -> list[str]:
    """Stored clusters nobody runs: released, never leased, or whose owner stopped renewing."""
    held = Lease.objects.filter(owner__gt="", until__gt=Now()).values("cluster_id")
    return list(StoredCluster.objects.exclude(pk__in=held).order_by("pk").values_list("name", flat=True))


def _runs_of_several() -> list[list[str]]:
    """The cluster names of each saved lesson run that has more than one (a comparison)."""
    return [list(n.values()) for n in LessonRun.objects.values_list("names", flat=True) if isinstance(n, dict) and len(n) > 1]


def together(names: list[str], runs: list[list[str]] | None = None) -> list[list[str]]:
    """`names` in groups that must run in one process: the clusters of one lesson run (a
    comparison runs two to four), since a run is taken up only where all of them run
    (dashboard/scenarios.held). Others are groups of one. Order kept within and between groups."""
    group_of = {name: [name] for name in names}
    for run in _runs_of_several() if runs is None else runs:
        members = [n for n in run if n in group_of]
        for name in members[1:]:
            first, other = group_of[members[0]], group_of[name]
            if other is not first:  # merge: every member now points at one list
                first += other
                for moved in other:
                    group_of[moved] = first
    seen, groups = set(), []
    for name in names:
        group = group_of[name]
        if id(group) not in seen:
            seen.add(id(group))
            groups.append(sorted(group, key=names.index))
    return groups


def orphan_groups() -> list[tuple[list[str], str]]:
    """The orphans in groups (`together`), each with the process already running one of its
    lesson run's other clusters ("" if none): that process, whatever its load, takes the rest."""
    orphaned = orphans()
    if not orphaned:
        return []
    runs = _runs_of_several()
    companions = {name for run in runs for name in run} - set(orphaned)
    holders = dict(Lease.objects.filter(owner__gt="", until__gt=Now(), cluster__name__in=companions).values_list("cluster__name", "owner"))
    found = []
    for group in together(orphaned, runs):
        held_by = {holders[n] for run in runs if set(run) & set(group) for n in run if n in holders}
        found.append((group, min(held_by) if held_by else ""))
    return found


def processes() -> list[dict]:
    """The live processes (heartbeat not run out), least loaded first."""
    return list(ServerProcess.objects.filter(heartbeat_until__gt=Now()).order_by("clusters", "pk").values("pk", "channel", "address", "clusters", "viewers", "draining"))


def forget_dead(older_than: float = 3600) -> int:
    """Delete the rows of processes gone for a while (each restart is a new row)."""
    return ServerProcess.objects.filter(heartbeat_until__lt=_until(-older_than)).delete()[0]
