"""History: what a restart, a seek and a command's storage cost for a one-hour lesson.

The session: the demo cluster (teaching profile, 3 etcd members, 3 nodes, the web
Deployment and Service) run for one virtual hour, with a lesson's actions every two minutes
(scale the Deployment, crash and restart an etcd member, partition and heal, etcd puts,
a new ConfigMap). Then:

  - restart without checkpoints: replay config + seed + log from time zero to the hour;
  - restart with checkpoints: the newest checkpoint (one per virtual minute) unpickled,
    then replay of what follows it, as dashboard/history does;
  - seek back half an hour: the same, from the checkpoint before the target;
  - a checkpoint's size and the time to take one (on the event loop: the pickle);
  - storing one command: a transaction on SQLite in WAL mode (synchronous NORMAL and FULL),
    through dashboard/history/store.py, as the server waits for it before applying.
"""

import os
import pickle
import statistics
import tempfile
import time
import zlib

from cluster.cluster import Cluster, ClusterConfig
from cluster.kernel import SECOND

from .table import Row

HOUR = 3600
EVERY = 120  # virtual seconds between lesson actions
CHECKPOINT_EVERY = 60


def lesson_action(minute: int) -> dict:
    """The lesson's action at a given step: a fixed rotation, so every run is the same."""
    step = minute % 6
    if step == 0:
        return {"type": "kube", "verb": "patch", "group": "apps", "version": "v1", "resource": "deployments", "namespace": "default", "name": "web",
                "patch_type": "merge", "body": {"spec": {"replicas": 2 + minute % 4}}}
    if step == 1:
        return {"type": "fault", "action": "crash", "target": f"etcd-{minute % 3}"}
    if step == 2:
        return {"type": "fault", "action": "restart", "target": f"etcd-{(minute - 1) % 3}"}
    if step == 3:
        return {"type": "fault", "action": "partition", "groups": [["etcd-0"], ["etcd-1", "etcd-2"]]}
    if step == 4:
        return {"type": "fault", "action": "heal"}
    return {"type": "etcd", "op": "put", "key": f"/lesson/{minute}", "value": f"step {minute}"}


def session() -> tuple[Cluster, list[tuple[int, int, bytes]], float]:
    """The hour, live: (the cluster, checkpoints as (time, processed, compressed pickle), wall seconds)."""
    from dashboard import demo
    from dashboard.history.timeline import checkpoint_bytes

    cluster = Cluster(ClusterConfig(name="lesson", seed=11))
    demo.seed(cluster)
    checkpoints = []
    started = time.perf_counter()
    checkpoint_wall = 0.0
    for second in range(CHECKPOINT_EVERY, HOUR + 1, CHECKPOINT_EVERY):
        cluster.advance_to(second * SECOND)
        if second % EVERY == 0 and second < HOUR:
            cluster.command(lesson_action(second // EVERY))
        taken = time.perf_counter()
        checkpoints.append((cluster.sim.now, cluster.sim.processed, zlib.compress(checkpoint_bytes(cluster), 1)))
        checkpoint_wall += time.perf_counter() - taken
    wall = time.perf_counter() - started - checkpoint_wall
    session.checkpoint_wall = checkpoint_wall / len(checkpoints)
    return cluster, checkpoints, wall


def restore(config: ClusterConfig, log: list[dict], checkpoints, target_us: int) -> tuple[Cluster, float]:
    from dashboard.history.timeline import Timeline, follow

    started = time.perf_counter()
    usable = [c for c in checkpoints if c[0] <= target_us]
    cluster = pickle.loads(zlib.decompress(usable[-1][2])) if usable else Cluster(config)
    timeline = Timeline([{"seq": i, **e} for i, e in enumerate(log, start=1)], (0, 0), len(log) + 1)
    timeline.sync_to(cluster)
    follow(cluster, timeline, target_us)
    return cluster, time.perf_counter() - started


def store_latency(sync: str, entries: int = 200) -> list[float]:
    """Wall seconds of store.record for one command each, on a fresh SQLite file."""
    import django

    var = tempfile.mkdtemp(prefix="clusterscope-bench-")
    os.environ["CLUSTERSCOPE_VAR"] = var
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from dashboard.history import store

    store.call(call_command, "migrate", verbosity=0)
    store.call(lambda: connection.cursor().execute(f"PRAGMA synchronous={sync}"))
    pk = store.call(store.create, config=ClusterConfig(name=f"bench-{sync}").as_dict(), paused=True, speed=1.0)
    times = []
    for seq in range(1, entries + 1):
        entry = {"seq": seq, "at": seq * 1000, "after": seq, "command": {"type": "fault", "action": "crash", "target": "etcd-1"}}
        started = time.perf_counter()
        store.call(store.record, pk, entry, head=(seq * 1000, seq))
        times.append(time.perf_counter() - started)
    return times


def run() -> list[Row]:
    cluster, checkpoints, live_wall = session()
    config, log = cluster.config, cluster.command_log
    expected = cluster.state_hash()
    rows = []
    replayed, wall = restore(config, log, [], HOUR * SECOND)
    assert replayed.state_hash() == expected, "replay from zero differs"
    rows.append(Row("history: restart after a 1-hour lesson, no checkpoint (replay from 0)", f"{wall:.2f} s",
                    f"{live_wall:.2f} s (the hour run live, as fast as possible)", f"{wall / live_wall:.2f}",
                    f"{len(log)} commands, {cluster.last_seq:,} events; same state hash"))
    replayed, wall = restore(config, log, checkpoints, HOUR * SECOND)
    assert replayed.state_hash() == expected, "restore from a checkpoint differs"
    rows.append(Row("history: restart after a 1-hour lesson, from the newest checkpoint", f"{wall * 1000:.0f} ms", "", "",
                    "unpickle + replay of what follows it; same state hash"))
    back, wall = restore(config, log, checkpoints, HOUR * SECOND // 2 + 30 * SECOND)
    rows.append(Row("history: seek back to 30:30 in the lesson", f"{wall * 1000:.0f} ms", "", "", "checkpoint at 30:00 + 30 virtual s of replay"))
    sizes = [len(c[2]) for c in checkpoints]
    rows.append(Row("history: one checkpoint (pickle, events cut to 10,000)", f"{session.checkpoint_wall * 1000:.0f} ms on the loop",
                    "", "", f"{statistics.median(sizes) / 1024:,.0f} KiB compressed (median; largest {max(sizes) / 1024:,.0f} KiB); {len(sizes)} per hour"))
    for sync, why in (("NORMAL", "the default: survives the process being killed"), ("FULL", "CLUSTERSCOPE_SQLITE_SYNC=FULL: survives a power cut too")):
        times = sorted(store_latency(sync))
        rows.append(Row(f"history: store one command before applying it (SQLite WAL, synchronous={sync})", f"{statistics.median(times) * 1000:.2f} ms median",
                        "", "", f"p99 {times[int(len(times) * 0.99) - 1] * 1000:.2f} ms over {len(times)} commits, through the database thread; {why}"))
    return rows
