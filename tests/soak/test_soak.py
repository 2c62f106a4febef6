"""The soak test (issue 14, item 5): one real server under a classroom's load for minutes.

A daphne process (bench.stamps: the real application, its history on SQLite, plus the wall time
each event entered the log) runs the demo cluster at 1x with traffic at 50 requests per virtual
second. Against it, at once: 200 viewers acknowledging every frame as the page does, 5 slow
ones (half a second over each frame), 5 stalled ones (a frozen tab: its snapshot acknowledged,
then nothing read), 5 deaf ones (never acknowledging, never reading after the snapshot), and
20 loops of the real kubectl creating, reading and deleting ConfigMaps. Midway, the
controller-managers are made to raise (a door of bench.stamps; no input can cause it). The server
is a process of its own, so the suite's conftest (which turns supervision off in the test
process, so that a raising component fails its test) does not reach it: it supervises, as in
production.

Checked: every kubectl call succeeded; the server logged no traceback; every viewer that reads
got every event in order; delivery latency (the event entering the log -> a viewer holding it,
as bench/fanout.py measures it) stayed within LATENCY_P99 for the 200 while the slow ones got
fewer, larger frames, the stalled ones no more than the flow-control window and the deaf ones
were dropped (daphne's ping goes unanswered: 20 s of silence, then 30 s for the pong); the fault was reported (component.error), the
component restarted and the cluster went on; the server's memory after warm-up grew by less
than MEMORY_GROWTH.

Figures are printed (pytest -s shows them). SOAK_SECONDS sets the length (default 100 s of
load, about 3 minutes in all). On a shared 2-core machine, 20 kubectl processes at once take
much of the CPU: the loops run back to back, each call waiting for its answer, and the test
reports how many calls they made.
"""

import asyncio
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from bench.fanout import StampedServer, Viewer, connect_all, free_port, latencies, percentile, rss_bytes
from dashboard.consumers import WINDOW

KUBECTL = next((p for p in ("/usr/lib/google-cloud-sdk/bin/kubectl.1.32", shutil.which("kubectl") or "") if p and Path(p).exists()), None)
SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "100"))
VIEWERS, SLOW, STALLED, DEAF, LOOPS = 200, 5, 5, 5, 20
# Seconds. The bound is the machine's more than the server's: on the shared 2-core machine at a
# load average of 19, bench/fanout.py measured p50 1.2 s and p99 3.0 s at 200 viewers (a bare
# websockets broadcast 0.5 s and 1.9 s), and this test p50 0.8 s, p99 3.0 s (bench/RESULTS.md).
LATENCY_P50, LATENCY_P99 = 2.0, 5.0
# Bytes of RSS growth after warm-up. The event log (a window of 200,000 events) fills by some
# 40 MiB in the run, and the deaf viewers' frames wait in the server until they are dropped.
MEMORY_GROWTH = 128 * 2**20
WARM_UP = 30.0
FAULTY = ("kube-controller-manager", "kube-controller-manager-2")  # both armed: the leader hears from the API server often, the standby seldom

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


@pytest.fixture
def server(tmp_path):
    srv = StampedServer(port=free_port([0]), persist=True, var=tmp_path, extra_env={"CLUSTERSCOPE_MAX_CLUSTERS": "5"})
    yield srv
    srv.stop()


async def kubectl_loop(server, index: int, stop: asyncio.Event, calls: list, failures: list, home: Path) -> None:
    base = [KUBECTL, f"--server={server.url}/k8s/demo", "--kubeconfig=/dev/null", f"--cache-dir={home / f'cache-{index}'}", "--request-timeout=60s"]
    env = {**os.environ, "HOME": str(home)}
    env.pop("KUBECONFIG", None)
    n = 0
    while not stop.is_set():
        n += 1
        name = f"soak-{index}-{n}"
        for args in (["create", "configmap", name, "--from-literal=k=v"], ["get", "configmap", name, "-o", "name"], ["delete", "configmap", name, "--wait=false"]):
            process = await asyncio.create_subprocess_exec(*base, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            out, err = await process.communicate()
            calls.append(args[0])
            if process.returncode != 0:
                failures.append(f"kubectl {' '.join(args)}: {process.returncode} {err.decode(errors='replace')[:300]}")


async def soak(server: StampedServer, home: Path) -> dict:
    ws_url, origin = f"ws://127.0.0.1:{server.port}/ws/clusters/demo/", server.url
    stop = asyncio.Event()
    viewers = [Viewer(ws_url, origin) for _ in range(VIEWERS)]
    slow = [Viewer(ws_url, origin, mode="slow", pause=0.5) for _ in range(SLOW)]
    stalled = [Viewer(ws_url, origin, mode="stalled") for _ in range(STALLED)]
    deaf = [Viewer(ws_url, origin, mode="deaf") for _ in range(DEAF)]
    tasks, connect_seconds = await connect_all(viewers + slow + stalled + deaf, stop)
    started = time.time()
    calls, failures, rss = [], [], []
    loops = [asyncio.create_task(kubectl_loop(server, i, stop, calls, failures, home)) for i in range(LOOPS)]
    fault = None
    while time.time() - started < SOAK_SECONDS:
        await asyncio.sleep(5)
        rss.append((time.time() - started, rss_bytes(server.pid)))
        if fault is None and time.time() - started > SOAK_SECONDS / 2:
            seq = (await asyncio.to_thread(server.rest, "GET", "/api/clusters/demo"))["last_seq"]  # before: the fault may fire at once
            for component in FAULTY:
                fault = await asyncio.to_thread(server.rest, "POST", f"/__bench/raise?cluster=demo&component={component}")
            fault["seq"] = seq
    end = time.time()
    viewers_left = (await asyncio.to_thread(server.rest, "GET", "/__bench/viewers?cluster=demo"))["viewers"]
    stop.set()
    await asyncio.gather(*loops)
    await asyncio.gather(*tasks)
    first = min(f[1] for v in viewers for f in v.frames)
    stamps = await asyncio.to_thread(server.stamps, "demo", first - 1)
    return {"viewers": viewers, "slow": slow, "stalled": stalled, "deaf": deaf, "connect_seconds": connect_seconds, "calls": calls, "failures": failures, "rss": rss,
            "fault": fault, "viewers_left": viewers_left, "latency": latencies(viewers, stamps, started, end),
            "slow_latency": latencies(slow, stamps, started, end), "wall": end - started}


@pytest.mark.timeout(420)
def test_a_classroom_for_minutes_on_one_server(server, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    source = server.start_traffic()
    result = asyncio.run(soak(server, home))
    viewers, slow, stalled, deaf = result["viewers"], result["slow"], result["stalled"], result["deaf"]
    lat, slow_lat = result["latency"], result["slow_latency"]
    warm = [r for t, r in result["rss"] if t >= WARM_UP]
    growth = max(warm) - warm[0]
    events = sum(f[2] - f[1] + 1 for f in viewers[0].frames)
    print(f"\nsoak: {result['wall']:.0f}s, {VIEWERS}+{SLOW} slow+{STALLED} stalled+{DEAF} deaf viewers connected in {result['connect_seconds']:.1f}s; "
          f"{events} events ({events / result['wall']:.0f}/s) per viewer; traffic from {source}; "
          f"kubectl: {len(result['calls'])} calls ({len(result['calls']) / result['wall']:.1f}/s), {len(result['failures'])} failed; "
          f"latency p50 {percentile(lat, 50) * 1000:.0f} ms, p99 {percentile(lat, 99) * 1000:.0f} ms over {len(lat)} deliveries; "
          f"slow viewers p50 {percentile(slow_lat, 50):.1f} s; RSS {warm[0] / 2**20:.0f} -> {max(warm) / 2**20:.0f} MiB after warm-up "
          f"(samples {[round(r / 2**20) for _t, r in result['rss']]}); viewers left at the end: {result['viewers_left']}; uptime: {os.getloadavg()}")

    assert not result["failures"], result["failures"][:5]
    assert len(result["calls"]) >= LOOPS * 3
    log = server.log()
    assert "Traceback" not in log, log[log.find("Traceback") - 200:][:3000]
    for viewer in viewers + slow:
        assert not viewer.errors and viewer.closed is None, (viewer.errors, viewer.closed)
        assert viewer.gaps == 0 and viewer.frames  # every event, in order (a slow one may get a fresh snapshot instead)
    assert percentile(lat, 50) < LATENCY_P50 and percentile(lat, 99) < LATENCY_P99, (percentile(lat, 50), percentile(lat, 99))
    # the slow ones were served coalesced: fewer, larger frames, and lag behind
    assert max(len(v.frames) for v in slow) < min(len(v.frames) for v in viewers)
    # a stalled one was sent about the window, no more (its events wait in the log, not in its
    # socket): the window counts from its acknowledgement, and frames sent before that reached
    # the server come on top
    assert all(v.closed is None and not v.errors and len(v.frames) <= 2 * WINDOW for v in stalled), [(len(v.frames), v.closed, v.errors) for v in stalled]
    # the deaf ones were dropped by the server (daphne's ping went unanswered), the others kept
    assert result["viewers_left"] == VIEWERS + SLOW + STALLED
    assert all(v.closed is not None for v in deaf), [(v.closed, v.errors) for v in deaf]
    # the fault: reported, the component restarted, the cluster went on
    after, deadline = [], time.monotonic() + 30  # a fault armed late may still be on its way: the cluster runs on meanwhile
    while True:
        while page := server.rest("GET", f"/api/clusters/demo/events?after={after[-1]['seq'] if after else result['fault']['seq']}&limit=5000")["events"]:
            after += page
        errors = [e for e in after if e["kind"] == "component.error"]
        back = [any(e["source"] == error["source"] and e["seq"] > error["seq"] and e["kind"] != "component.error" for e in after) for error in errors]
        if (errors and all(back)) or time.monotonic() > deadline:
            break
        time.sleep(1)
    delivered = {c: sum(1 for e in after if e["kind"] == "net.deliver" and e["target"] == c) for c in FAULTY}
    assert errors and all(e["source"] in FAULTY and "made to fail by the soak test" in e["data"]["error"] for e in errors), (result["fault"], delivered, len(after))
    assert all(back), errors  # each restarted and at work again
    summary = server.rest("GET", "/api/clusters/demo")
    assert summary["time"] > result["fault"]["time"] + 10 and not summary["paused"]  # it went on for the rest of the run
    assert growth < MEMORY_GROWTH, f"RSS grew by {growth / 2**20:.0f} MiB after warm-up"
