"""Scale-out: what channels_redis costs as groups grow, and clusters per process
(python -m bench scaleout).

A private redis-server (Debian's, on a free loopback port) and channels_redis configured as
dashboard/settings.py does with REDIS_URL:

  - group_send of one batch message (50 events, as a running cluster publishes every 0.1 s)
    to a group of 1, 10, 100 and 1000 member channels. dashboard/scaleout puts one member per
    server PROCESS in a cluster's group (`cluster.<name>`), so a classroom of 500 viewers on
    three processes is a group of 3; a member per VIEWER (Channels' usual pattern) would be a
    group of 500. The receiving side is measured too: one process reading everything sent.
  - capacity: 1000 messages sent to a channel nobody reads, at the default capacity (100) and
    at the one settings.py sets (5000): group_send drops what does not fit, silently (a
    mirror then sees a gap in seq and fetches a fresh snapshot).
  - viewers per process, across processes: two daphne processes on that Redis (and one
    SQLite file): the demo cluster runs on the first, 100, 200 and 300 WebSocket viewers
    (acknowledging every frame, as static/js/stream.js does) watch it through the SECOND,
    which relays the owner's one group message per batch to all of them. Over
    MEASURE_SECONDS: both processes' CPU, and how far behind the median viewer was at the end
    (in seconds' worth of the cluster's events); the reference is the same viewers connected
    to the owner itself. The viewers' client shares the machine's two cores.
  - clusters per process: the CPU one running demo cluster (teaching timing, 1x; then the
    realistic profile at 1x) takes per wall second, as the runner advances it: how many such
    clusters one process (one core) carries at half load.
"""

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from cluster.cluster import Cluster, ClusterConfig
from cluster.kernel import SECOND

from .table import Row

BATCH_EVENTS = 50
ROUNDS = 200
VIEWERS = (100, 200, 300)
MEASURE_SECONDS = 10.0
ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _event(seq: int) -> dict:
    return {"seq": seq, "time": seq / 1000, "kind": "net.send", "source": "etcd-0", "target": "etcd-1",
            "summary": "etcd-0 -> etcd-1 AppendEntries term 3 index 41", "data": {"term": 3, "index": 41, "entries": 1}}


def _layer(port: int, capacity: int):
    from channels_redis.core import RedisChannelLayer

    return RedisChannelLayer(hosts=[{"address": f"redis://127.0.0.1:{port}/0", "socket_timeout": 30}], capacity=capacity, expiry=30, prefix="bench:")


async def _group_send(port: int, members: int) -> tuple[float, float]:
    """(ms per group_send, ms to receive one message per member) for `members` channels of
    one receiving process."""
    sender, receiver = _layer(port, 5000), _layer(port, 5000)
    group = f"bench.g{members}"
    channels = [await receiver.new_channel() for _ in range(members)]
    for channel in channels:
        await receiver.group_add(group, channel)
    message = {"type": "cluster.batch", "cluster": "bench", "events": [_event(i) for i in range(BATCH_EVENTS)], "clock": {"time": 1.0}}
    rounds = max(5, ROUNDS // max(1, members // 10))
    await sender.group_send(group, message)  # warm: connections made, scripts loaded
    for channel in channels:
        await receiver.receive(channel)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await sender.group_send(group, message)
        times.append(time.perf_counter() - started)
    send_ms = sorted(times)[len(times) // 2] * 1000  # the median: the machine is shared
    started = time.perf_counter()
    for channel in channels:  # every member's copy of the last message...
        for _ in range(rounds):  # ... after the ones before it
            await receiver.receive(channel)
    receive_ms = (time.perf_counter() - started) * 1000 / rounds
    await sender.flush()
    await sender.close_pools()
    await receiver.close_pools()
    return send_ms, receive_ms


async def _capacity(port: int, capacity: int) -> int:
    layer = _layer(port, capacity)
    channel = await layer.new_channel()
    await layer.group_add("bench.capacity", channel)
    for i in range(1000):
        await layer.group_send("bench.capacity", {"type": "x", "i": i})
    kept = 0
    while True:
        try:
            await asyncio.wait_for(layer.receive(channel), 0.5)
            kept += 1
        except TimeoutError:
            break
    await layer.flush()
    await layer.close_pools()
    return kept


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _get(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as answer:
        return json.loads(answer.read())


async def _viewer(port: int, seen: list, stop: asyncio.Event) -> None:
    from websockets.asyncio.client import connect

    async with connect(f"ws://127.0.0.1:{port}/ws/clusters/demo/", origin=f"http://127.0.0.1:{port}", max_size=None) as ws:
        while not stop.is_set():
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 1.0))
            except TimeoutError:
                continue
            if frame["type"] == "events":
                seen[0] = frame["events"][-1]["seq"]
                await ws.send(json.dumps({"type": "ack", "seq": seen[0]}))
            elif frame["type"] == "snapshot":
                seen[0] = frame["seq"]
                await ws.send(json.dumps({"type": "ack", "seq": frame["seq"]}))


async def _watch(owner, relay, port: int, viewers: int) -> tuple[float, float, float, float]:
    """(owner CPU share, relay CPU share, the viewers' client's CPU share, the median viewer's
    lag in seconds of events). The client is this process: if it is near a whole core, the lag
    is the client's (it decodes every frame of every viewer), not the servers'."""
    stop = asyncio.Event()
    seen = [[0] for _ in range(viewers)]
    tasks = [asyncio.ensure_future(_viewer(port, seen[i], stop)) for i in range(viewers)]
    await asyncio.sleep(5)  # connected, snapshots sent
    first = (await asyncio.to_thread(_get, port, "/api/clusters/demo"))["last_seq"]
    cpu = (_cpu(owner.pid), _cpu(relay.pid), time.process_time())
    await asyncio.sleep(MEASURE_SECONDS)
    used = (_cpu(owner.pid) - cpu[0], _cpu(relay.pid) - cpu[1], time.process_time() - cpu[2])
    lags = sorted(s[0] for s in seen)
    last = (await asyncio.to_thread(_get, port, "/api/clusters/demo"))["last_seq"]
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    rate = (last - first) / MEASURE_SECONDS  # events per second, roughly (the REST calls take time)
    return used[0] / MEASURE_SECONDS, used[1] / MEASURE_SECONDS, used[2] / MEASURE_SECONDS, (last - lags[len(lags) // 2]) / max(rate, 1)


def _viewers_rows(redis_port: int) -> list[Row]:
    var = Path(tempfile.mkdtemp(prefix="bench-scaleout-"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", "CLUSTERSCOPE_VAR": str(var), "CLUSTERSCOPE_DEMO": "demo",
           "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True, timeout=120)
    daphne = Path(sys.executable).with_name("daphne")
    ports = [_free_port(), _free_port()]
    processes = []
    rows = []
    try:
        for port in ports:
            log = open(var / f"daphne-{port}.log", "ab")  # noqa: SIM115 - handed to the child
            processes.append(subprocess.Popen([str(daphne), "-b", "127.0.0.1", "-p", str(port), "dashboard.asgi:application"], cwd=ROOT, env=env,
                                              stdout=log, stderr=subprocess.STDOUT))
            deadline = time.monotonic() + 90
            while True:  # the first one to answer makes the demo cluster and runs it
                try:
                    _get(port, "/api/clusters/demo")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"daphne on {port} did not start") from None
                    time.sleep(0.3)
        for viewers in VIEWERS:
            try:  # through the second process, then (the reference) on the owner itself
                owner_cpu, relay_cpu, client_cpu, lag = asyncio.run(_watch(processes[0], processes[1], ports[1], viewers))
                alone_cpu, _, alone_client_cpu, alone_lag = asyncio.run(_watch(processes[0], processes[1], ports[0], viewers))
            except OSError as exc:  # on a machine loaded past a lease, the cluster may have moved
                rows.append(Row(f"scaleout: {viewers} viewers on another process", "failed", note=f"{type(exc).__name__}: {exc}"))
                continue
            rows.append(Row(f"scaleout: {viewers} viewers on another process", f"relay {relay_cpu * 100:.0f}% + owner {owner_cpu * 100:.0f}% of a core",
                            f"owner alone {alone_cpu * 100:.0f}%", "",
                            f"teaching demo at 1x; median viewer behind by {lag:.1f} s of events (on the owner itself: {alone_lag:.1f} s); "
                            f"the viewers' client used {client_cpu * 100:.0f}% of a core ({alone_client_cpu * 100:.0f}% on the owner)"))
    finally:
        for process in processes:
            process.terminate()
            process.wait(30)
        print("logs:", var) if os.environ.get("BENCH_KEEP") else shutil.rmtree(var, ignore_errors=True)
    return rows


def _cluster_cpu(profile: str, seconds: float = 20.0) -> float:
    """CPU seconds per wall second for one demo cluster at 1x, advanced in 50 ms slices."""
    from dashboard import demo

    cluster = Cluster(ClusterConfig(name="bench", seed=3, profile=profile))
    demo.seed(cluster)
    cluster.advance(int(30 * SECOND))  # past the start-up (elections, the Deployment rolling out)
    started = time.process_time()
    cluster.advance(int(seconds * SECOND))
    return (time.process_time() - started) / seconds


def run() -> list[Row]:
    rows = []
    binary = shutil.which("redis-server")
    if binary is None:
        rows.append(Row("scaleout: channels_redis", "skipped", note="redis-server is not installed (make test installs it)"))
    else:
        port = _free_port()
        workdir = tempfile.mkdtemp(prefix="bench-redis-")
        redis = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            one = None
            for members in (1, 10, 100, 1000):
                send_ms, receive_ms = asyncio.run(_group_send(port, members))
                one = one or send_ms
                rows.append(Row(f"scaleout: group_send, {members} member channel{'s' if members > 1 else ''}", f"{send_ms:.2f} ms send",
                                f"{one:.2f} ms (1 member)", f"{send_ms / one:.1f}x",
                                f"a {BATCH_EVENTS}-event batch; {receive_ms:.2f} ms for one process to receive every member's copy"))
            for capacity in (100, 5000):
                kept = asyncio.run(_capacity(port, capacity))
                rows.append(Row(f"scaleout: 1000 group_sends, capacity {capacity}", f"{kept} kept", "1000 sent", f"{kept / 1000:.2f}",
                                "nobody reading; the rest dropped silently" if kept < 1000 else "all kept"))
            rows += _viewers_rows(port)
        finally:
            redis.terminate()
            redis.wait(10)
            shutil.rmtree(workdir, ignore_errors=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    import django

    django.setup()
    for profile in ("teaching", "realistic"):
        load = _cluster_cpu(profile)
        rows.append(Row(f"scaleout: one {profile} demo cluster at 1x", f"{load * 100:.1f}% of a core", "",
                        "", f"about {int(0.5 / load) if load else 0} such clusters per process at half a core"))
    return rows
