"""Fan-out: N WebSocket viewers of one cluster on one server process (python -m bench fanout).

One daphne process (bench.stamps: the real application plus the wall time each event entered
the log) runs the demo cluster (3 etcd members, 3 nodes, a Deployment of 3 behind a Service,
teaching timing) at 1x with traffic at 50 requests per virtual second. 50, 200 and 500 viewers
connect at once and acknowledge every frame, as the browser does (static/js/stream.js). For
each: the time until all of them had their snapshot; then, over MEASURE_SECONDS, per event and
per viewer the delivery latency (the event entering the log -> the viewer holding the frame),
bytes per viewer per second, and the server's CPU. The reference is a bare `websockets`
broadcast server (bench/fanout_bare.py) in the same run, sending frames of the measured size at
the measured rate to as many viewers, stamped when made: the cost of fan-out alone. Each count is measured again with the compact wire format
(?wire=compact, dashboard/wire.py: what the page asks for), beside the plain JSON.

Viewers, server and reference share the machine: the viewers' own CPU is reported beside the
server's, since on two cores it is taken from the server.
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from .table import Row

ROOT = Path(__file__).resolve().parents[1]
PORTS = range(8170, 8180)
COUNTS = (50, 200, 500)
UNSHARED_AT = 200  # also measured without the shared encoding, for comparison
MEASURE_SECONDS = 20.0
TRAFFIC_RATE = 50
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port(candidates=PORTS) -> int:
    """A free port of `candidates` (0: any the system gives)."""
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError(f"no free port in {candidates}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


# --- the server --------------------------------------------------------------------------------
class StampedServer:
    """daphne bench.stamps:application in a process of its own, on a port of its own."""

    def __init__(self, port: int | None = None, *, persist: bool = False, extra_env: dict | None = None, var: Path | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.var = var or Path(tempfile.mkdtemp(prefix="clusterscope-fanout-"))
        self.log_path = self.var / "daphne.log"
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", "CLUSTERSCOPE_VAR": str(self.var), "CLUSTERSCOPE_DEMO": "demo",
                    "CLUSTERSCOPE_PERSIST": "1" if persist else "0", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        for private in ("DATABASE_URL", "REDIS_URL"):
            self.env.pop(private, None)
        if persist:
            subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=self.env, check=True, timeout=180)
        daphne = Path(sys.executable).with_name("daphne")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([str(daphne), "-b", "127.0.0.1", "-p", str(self.port), "bench.stamps:application"], cwd=ROOT, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.rest("GET", "/api/clusters")  # also makes the demo cluster
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"daphne did not start: {self.log()[-2000:]}") from None
                time.sleep(0.1)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def rest(self, method: str, path: str, body=None, timeout: float = 30):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def stamps(self, cluster: str, after: int) -> dict[int, float]:
        return dict(map(tuple, self.rest("GET", f"/__bench/stamps?cluster={cluster}&after={after}")))

    def start_traffic(self, cluster: str = "demo", rate: float = TRAFFIC_RATE, wait: float = 90) -> str:
        """Once the web Deployment runs, traffic from one of its pods to the Service; the source."""
        deadline = time.monotonic() + wait
        while True:
            pods = self.rest("GET", f"/k8s/{cluster}/api/v1/namespaces/default/pods")["items"]
            running = sorted(p["metadata"]["name"] for p in pods if p.get("status", {}).get("phase") == "Running")
            if running:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"no web pod ran within {wait}s")
            time.sleep(0.5)
        self.rest("POST", f"/api/clusters/{cluster}/traffic", {"service": "web", "rate": rate, "seconds": 3600, "source": running[0]})
        return running[0]


# --- the viewers --------------------------------------------------------------------------------
def last_seq(message: str) -> int:
    """The seq of an events frame's last event, without decoding the frame: every event is
    written {"seq":N,"time":...} (consumers.dumps keeps the log's key order)."""
    at = message.rfind('{"seq":', 0, message.rfind('"clock":'))
    return int(message[at + 7: message.index(",", at)])


def first_seq(message: str) -> int:
    at = message.index('{"seq":')
    return int(message[at + 7: message.index(",", at)])


PACKED = '{"type":"packed","seq":'


def packed_seqs(message: str) -> tuple[int, int]:
    """A packed frame's first and last seq, from its head: {"type":"packed","seq":N,"last":M,..."""
    comma = message.index(",", len(PACKED))
    return int(message[len(PACKED): comma]), int(message[comma + 8: message.index(",", comma + 1)])


class Viewer:
    """One browser's worth of stream handling. `mode`: "ack" (acknowledges each frame, as the
    page does), "slow" (acknowledges, but takes `pause` seconds over each frame), "stalled"
    (acknowledges its snapshot, then never reads again: a frozen tab) or "deaf" (never
    acknowledges, never reads after its snapshot: a client without flow control). After `stop`
    the stalled and deaf ones read what is left, to learn what the server did with them."""

    def __init__(self, url: str, origin: str, mode: str = "ack", pause: float = 0.5):
        self.url, self.origin, self.mode, self.pause = url, origin, mode, pause
        self.frames: list[tuple[float, int, int]] = []  # (received, first seq, last seq) of events frames
        self.snapshots = 0
        self.bytes = 0
        self.gaps = 0  # events frames that did not follow on from the one before (never expected)
        self.errors: list[str] = []
        self.rejected: list[str] = []  # opening handshakes the server refused or left unanswered (then retried)
        self.connected_at: float | None = None
        self.closed: tuple[int | None, str] | None = None
        self.cursor: int | None = None
        self.socket = None

    async def run(self, stop: asyncio.Event) -> None:
        for attempt in range(10):
            try:
                return await self._run(stop)
            except (InvalidHandshake, TimeoutError) as refused:  # the server did not take it in time: the page retries after a second or so
                self.rejected.append(f"{type(refused).__name__}: {refused}")
                await asyncio.sleep(1.0 + 0.2 * attempt)
        self.errors.append(f"not connected after 10 attempts: {self.rejected[-1]}")

    async def _run(self, stop: asyncio.Event) -> None:
        try:
            async with connect(self.url, origin=self.origin, max_size=None, open_timeout=60, ping_interval=None) as ws:
                self.socket = ws
                while not stop.is_set():
                    if self.mode in ("stalled", "deaf") and self.snapshots:
                        await stop.wait()  # never reads again; then drains, to learn whether the server dropped it
                        while True:
                            try:
                                self._handle(await asyncio.wait_for(ws.recv(), 5), time.time())
                            except TimeoutError:
                                return  # still open, nothing more sent
                    try:
                        message = await asyncio.wait_for(ws.recv(), 1.0)
                    except TimeoutError:
                        continue
                    self._handle(message, time.time())
                    if self.mode == "slow":
                        await asyncio.sleep(self.pause)
                    if self.mode != "deaf" and self.cursor is not None and message.startswith(('{"type":"events"', '{"type":"snapshot"', PACKED)):
                        await ws.send(f'{{"type":"ack","seq":{self.cursor}}}')
        except ConnectionClosed as closed:
            self.closed = (closed.rcvd.code if closed.rcvd else None, str(closed))
        except TimeoutError as exc:
            if self.socket is None:
                raise  # the opening handshake timed out
            self.errors.append(f"{type(exc).__name__}: {exc}")
        except OSError as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def _handle(self, message: str, now: float) -> None:
        self.bytes += len(message)
        if message.startswith(('{"type":"events"', PACKED)):
            first, last = packed_seqs(message) if message.startswith(PACKED) else (first_seq(message), last_seq(message))
            if self.cursor is not None and first != self.cursor + 1:
                self.gaps += 1
            self.frames.append((now, first, last))
            self.cursor = last
        elif message.startswith('{"type":"snapshot"'):
            self.snapshots += 1
            self.cursor = int(message[len('{"type":"snapshot","seq":'): message.index(",", 20)])
            if self.connected_at is None:
                self.connected_at = now
        elif message.startswith('{"type":"error"'):
            self.errors.append(message[:300])


def latencies(viewers: list[Viewer], stamps: dict[int, float], since: float, until: float) -> list[float]:
    """Seconds from each event's entry into the log to its arrival, per viewer and event, for
    frames received in [since, until)."""
    out = []
    for viewer in viewers:
        for received, first, last in viewer.frames:
            if since <= received < until:
                out.extend(received - stamps[seq] for seq in range(first, last + 1) if seq in stamps)
    return out


async def connect_all(viewers: list[Viewer], stop: asyncio.Event, timeout: float = 120) -> tuple[list[asyncio.Task], float]:
    """Start every viewer at once; the wall seconds until each has its snapshot."""
    started = time.time()
    tasks = [asyncio.create_task(v.run(stop)) for v in viewers]
    deadline = time.monotonic() + timeout
    while any(v.connected_at is None and not v.errors and v.closed is None for v in viewers):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    done = [v.connected_at for v in viewers if v.connected_at is not None]
    return tasks, (max(done) - started) if len(done) == len(viewers) else float("nan")


async def measure_clusterscope(server: StampedServer, count: int, seconds: float, wire: str = "json") -> dict:
    ws_url, origin = f"ws://127.0.0.1:{server.port}/ws/clusters/demo/?wire={wire}", server.url
    stop = asyncio.Event()
    viewers = [Viewer(ws_url, origin) for _ in range(count)]
    tasks, connect_seconds = await connect_all(viewers, stop)
    await asyncio.sleep(2.0)  # settle: the connection burst's snapshots are not the steady state
    mark = time.time()
    cpu0, own0 = cpu_seconds(server.pid), time.process_time()
    bytes0 = sum(v.bytes for v in viewers)
    first = min((v.cursor or 0) for v in viewers)
    await asyncio.sleep(seconds)
    end = time.time()
    cpu1, own1 = cpu_seconds(server.pid), time.process_time()
    bytes1 = sum(v.bytes for v in viewers)
    stop.set()
    await asyncio.gather(*tasks)
    stamps = server.stamps("demo", max(0, first - 1))
    lat = latencies(viewers, stamps, mark, end)
    frames = [f for v in viewers for f in v.frames if mark <= f[0] < end]
    wall = end - mark
    return {
        "viewers": count, "connect_seconds": connect_seconds, "p50": percentile(lat, 50), "p99": percentile(lat, 99), "samples": len(lat),
        "bytes_per_viewer_s": (bytes1 - bytes0) / wall / count, "frames_per_viewer_s": len(frames) / wall / count,
        "bytes_per_frame": (bytes1 - bytes0) / max(1, len(frames)), "server_cpu": (cpu1 - cpu0) / wall, "viewers_cpu": (own1 - own0) / wall,
        "events_per_s": sum(f[2] - f[1] + 1 for f in frames) / wall / count, "gaps": sum(v.gaps for v in viewers),
        "errors": [e for v in viewers for e in v.errors] + [v.closed[1] for v in viewers if v.closed], "rss": rss_bytes(server.pid),
        "rejected": sum(len(v.rejected) for v in viewers), "load": os.getloadavg()[0],
    }


async def measure_bare(count: int, rate: float, size: int, seconds: float) -> dict:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.fanout_bare", str(port), str(rate), str(size)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the bare broadcast server did not start")
            await asyncio.sleep(0.05)
        stop = asyncio.Event()
        received: list[list[tuple[float, float, int]]] = [[] for _ in range(count)]
        connected: list[float | None] = [None] * count

        async def viewer(i: int) -> None:
            async with connect(f"ws://127.0.0.1:{port}/", max_size=None, ping_interval=None) as ws:
                connected[i] = time.time()
                while not stop.is_set():
                    try:
                        message = await asyncio.wait_for(ws.recv(), 1.0)
                    except TimeoutError:
                        continue
                    now = time.time()
                    stamp = float(message[6: message.index(",")])  # {"t": <time>, ...
                    received[i].append((now, stamp, len(message)))
                    await ws.send('{"type":"ack","seq":0}')  # the same work back as a Clusterscope viewer

        started = time.time()
        tasks = [asyncio.create_task(viewer(i)) for i in range(count)]
        while any(c is None for c in connected) and time.time() - started < 120:
            await asyncio.sleep(0.05)
        connect_seconds = max(c for c in connected if c is not None) - started
        await asyncio.sleep(2.0)
        mark, cpu0 = time.time(), cpu_seconds(process.pid)
        await asyncio.sleep(seconds)
        end, cpu1 = time.time(), cpu_seconds(process.pid)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        lat = [now - stamp for frames in received for now, stamp, _ in frames if mark <= now < end]
        sent = sum(n for frames in received for now, _s, n in frames if mark <= now < end)
        wall = end - mark
        return {"p50": percentile(lat, 50), "p99": percentile(lat, 99), "connect_seconds": connect_seconds, "server_cpu": (cpu1 - cpu0) / wall,
                "bytes_per_viewer_s": sent / wall / count}
    finally:
        process.kill()
        process.wait(10)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def compact_row(count: int, ours: dict, compact: dict) -> Row:
    """The compact wire format's figures beside the plain JSON's (`ours`) at the same count."""
    problems = f"; {len(compact['errors'])} viewer errors" if compact["errors"] else ""
    return Row(
        f"fan-out: {count} viewers, compact wire (?wire=compact, the page's): p50 / p99; bytes per viewer per second; server CPU",
        f"{ms(compact['p50'])} / {ms(compact['p99'])}; {compact['bytes_per_viewer_s'] / 1024:,.1f} KiB/s; {compact['server_cpu']:.0%} of a core",
        f"plain JSON (above): {ours['bytes_per_viewer_s'] / 1024:,.1f} KiB/s; {ours['server_cpu']:.0%} of a core",
        f"{compact['bytes_per_viewer_s'] / ours['bytes_per_viewer_s']:.2f}" if ours["bytes_per_viewer_s"] > 0 else "",
        f"{compact['events_per_s']:.0f} events/s in {compact['frames_per_viewer_s']:.1f} frames/s per viewer, {compact['bytes_per_frame']:,.0f} B per frame"
        f"{problems}; gaps {compact['gaps']}; connected in {compact['connect_seconds']:.2f} s; viewers' own CPU {compact['viewers_cpu']:.0%} of a core; machine load average {compact['load']:.1f}",
    )


async def _run(counts, seconds) -> list[Row]:
    server = StampedServer()
    rows = []
    try:
        source = server.start_traffic()
        await asyncio.sleep(3)
        for count in counts:
            ours = await measure_clusterscope(server, count, seconds)
            bare = await measure_bare(count, ours["frames_per_viewer_s"], int(ours["bytes_per_frame"]), seconds)
            problems = f"; {len(ours['errors'])} viewer errors" if ours["errors"] else ""
            rows.append(Row(
                f"fan-out: {count} viewers of one cluster, event delivery p50 / p99",
                f"{ms(ours['p50'])} / {ms(ours['p99'])}",
                f"bare websockets broadcast: {ms(bare['p50'])} / {ms(bare['p99'])}",
                f"{ours['p99'] / bare['p99']:.1f}" if bare["p99"] > 0 else "",
                f"{ours['samples']:,} deliveries in {seconds:g}s; {ours['events_per_s']:.0f} events/s in {ours['frames_per_viewer_s']:.1f} frames/s per viewer"
                f" (traffic {TRAFFIC_RATE}/s from {source}){problems}; gaps {ours['gaps']}; machine load average {ours['load']:.1f}",
            ))
            rows.append(Row(
                f"fan-out: {count} viewers, bytes per viewer per second; server CPU",
                f"{ours['bytes_per_viewer_s'] / 1024:,.1f} KiB/s; {ours['server_cpu']:.0%} of a core",
                f"bare: {bare['bytes_per_viewer_s'] / 1024:,.1f} KiB/s; {bare['server_cpu']:.0%} of a core",
                f"{ours['server_cpu'] / bare['server_cpu']:.1f}" if bare["server_cpu"] > 0 else "",
                f"viewers' own CPU {ours['viewers_cpu']:.0%} of a core (same machine); server RSS {ours['rss'] / 2**20:,.0f} MiB; {ours['bytes_per_frame']:,.0f} B per frame",
            ))
            rows.append(Row(
                f"fan-out: time to connect {count} viewers (each has its snapshot)",
                f"{ours['connect_seconds']:.2f} s",
                f"bare: {bare['connect_seconds']:.2f} s (no snapshot)",
                f"{ours['connect_seconds'] / bare['connect_seconds']:.1f}" if bare["connect_seconds"] > 0 else "",
                f"all at once; {ours['rejected']} handshakes refused (daphne's 5 s to accept) and retried" if ours["rejected"] else "all at once",
            ))
            rows.append(compact_row(count, ours, await measure_clusterscope(server, count, seconds, wire="compact")))
    finally:
        server.stop()
    if "Traceback" in server.log():
        rows.append(Row("fan-out: server log", "TRACEBACKS", "", "", server.log_path.as_posix()))
    if UNSHARED_AT in counts:
        rows += await _unshared(rows, seconds)
    return rows


async def _unshared(rows: list[Row], seconds: float) -> list[Row]:
    """The same at UNSHARED_AT viewers with every viewer encoding its own frames (as before
    consumers.shared), on a fresh server: what sharing one encoding saves."""
    server = StampedServer(extra_env={"BENCH_UNSHARED": "1"})
    try:
        server.start_traffic()
        await asyncio.sleep(3)
        before = await measure_clusterscope(server, UNSHARED_AT, seconds)
    finally:
        server.stop()
    shared = next(r for r in rows if r.benchmark.startswith(f"fan-out: {UNSHARED_AT} viewers, bytes"))
    return [Row(
        f"fan-out: {UNSHARED_AT} viewers, each encoding its own frames (before): p50 / p99; server CPU",
        f"{ms(before['p50'])} / {ms(before['p99'])}; {before['server_cpu']:.0%} of a core",
        f"shared encoding (above): {shared.figure.split('; ')[1]}",
        "",
        f"{before['events_per_s']:.0f} events/s per viewer, {before['bytes_per_viewer_s'] / 1024:,.1f} KiB/s; machine load average {before['load']:.1f}",
    )]


def run(counts=COUNTS, seconds: float = MEASURE_SECONDS) -> list[Row]:
    return asyncio.run(_run(counts, seconds))


if __name__ == "__main__":
    from .table import render

    wanted = [int(a) for a in sys.argv[1:]] or list(COUNTS)
    print(render(run(wanted)))
