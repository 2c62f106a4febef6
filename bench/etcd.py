"""etcd throughput: committed writes per wall-second through the simulated Raft, against a
real etcd server doing the same work on this machine in the same run.

The simulated side: 1, 3 and 5 members with the `realistic` profile (etcd's 100 ms
heartbeat, 1-2 s elections, a LAN's 1-2 ms latency), every Raft message and every client
message crossing the simulated network, run in fast-forward (as fast as the CPU allows).
One client component keeps INFLIGHT puts outstanding, spread round-robin over the
members (followers forward to the leader, as etcd's do); a put counts when its answer
comes back ok, which is when the member it was sent to has applied it.

The reference: Debian's etcd-server, started here on loopback ports with a temporary
data directory (1, 3 and 5 members), driven by INFLIGHT keep-alive connections (threads
with the standard library's http.client) that put through the v3 HTTP/JSON gateway
(`POST /v3/kv/put`, base64 key and value), spread round-robin over the members too.
Nothing is installed here: without the etcd binary the reference column says how to get it
(`make bench` installs it first where apt-get can). Recorded runs, the profile of the
simulated path and how to read the ratios: bench/RESULTS.md.

    python -m bench etcd
"""

import base64
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from cluster.etcd import build_members, find_leader
from cluster.kernel import MILLISECOND, SECOND, Component, Simulation
from cluster.net import Network
from cluster.profiles import PROFILES

from .table import Row

INFLIGHT = 64
SIM_SECONDS = 1.0  # virtual seconds measured, per cluster size
REAL_SECONDS = 3.0  # wall seconds of load against the real etcd, per cluster size
SIZES = (1, 3, 5)
KEYS = 1000
VALUE = "v" * 16
MISSING = "etcd-server not installed: apt-get install etcd-server"


# --- the simulated side -------------------------------------------------------------------------
class Writer(Component):
    """Keeps `inflight` puts outstanding: each answer (or failure) sends the next one."""

    kind = "bench-writer"

    def __init__(self, sim, members, inflight):
        super().__init__(sim, "writer")
        self.members = members
        self.inflight = inflight
        self.sent = 0
        self.acked = 0
        self.failed = 0

    def start(self) -> None:
        for _ in range(self.inflight):
            self._put()

    def _put(self) -> None:
        self.sent += 1
        n = self.sent
        self.send(self.members[n % len(self.members)], "etcd.request", {"id": n, "op": "put", "key": f"k{n % KEYS}", "value": VALUE})

    def on_message(self, msg) -> None:
        if msg.kind == "etcd.response":
            if msg.payload["ok"]:
                self.acked += 1
            else:
                self.failed += 1
            self._put()

    def on_undeliverable(self, msg, reason) -> None:
        if msg.kind == "etcd.request":
            self.failed += 1
            self._put()


def simulated_cluster(size: int, seed: int = 1):
    profile = PROFILES["realistic"]
    sim = Simulation(seed=seed)
    sim.net = Network(sim, base_latency_us=profile.net_latency_us, jitter_us=profile.net_jitter_us)
    members = build_members(sim, size, profile)
    while find_leader(members) is None or find_leader(members).raft.commit == 0:
        sim.run_until(sim.now + 100 * MILLISECOND)
    writer = sim.add(Writer(sim, [m.name for m in members], INFLIGHT))
    return sim, members, writer


def simulated_rate(size: int, virtual_seconds: float | None = None) -> dict:
    virtual_seconds = virtual_seconds or SIM_SECONDS
    sim, members, writer = simulated_cluster(size)
    writer.start()
    events = sim.log.last_seq
    cpu = time.process_time()
    start = time.perf_counter()
    sim.run_until(sim.now + int(virtual_seconds * SECOND))
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    return {
        "rate": writer.acked / wall,
        "cpu_rate": writer.acked / cpu,
        "acked": writer.acked,
        "failed": writer.failed,
        "wall": wall,
        "virtual": virtual_seconds,
        "virtual_rate": writer.acked / virtual_seconds,
        "events": sim.log.last_seq - events,
        "digest": sim.log.digest(),
    }


# --- the real etcd ------------------------------------------------------------------------------
def free_ports(count: int) -> list[int]:
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def etcd_version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    first = out.splitlines()[0] if out else "etcd"
    return first.replace("etcd Version:", "etcd").strip()


class RealEtcd:
    """`size` etcd processes on loopback ports with data in a temporary directory; a
    context manager that stops them and removes the data."""

    def __init__(self, binary: str, size: int):
        self.binary = binary
        self.size = size
        self.processes: list = []
        self.client_ports: list[int] = []
        self.tmp = None

    def __enter__(self) -> "RealEtcd":
        self.tmp = tempfile.mkdtemp(prefix="bench-etcd-")
        ports = free_ports(2 * self.size)
        self.client_ports = ports[: self.size]
        peer_ports = ports[self.size :]
        names = [f"m{i}" for i in range(self.size)]
        initial = ",".join(f"{n}=http://127.0.0.1:{p}" for n, p in zip(names, peer_ports, strict=True))
        for name, client, peer in zip(names, self.client_ports, peer_ports, strict=True):
            args = [
                self.binary,
                f"--name={name}",
                f"--data-dir={os.path.join(self.tmp, name)}",
                f"--listen-client-urls=http://127.0.0.1:{client}",
                f"--advertise-client-urls=http://127.0.0.1:{client}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster={initial}",
                "--initial-cluster-state=new",
                "--initial-cluster-token=bench",
                "--logger=zap",
                "--log-level=error",
            ]
            log = open(os.path.join(self.tmp, f"{name}.log"), "wb")  # closed in stop()
            self.processes.append((subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT), log))
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, limit: float = 30.0) -> None:
        deadline = time.monotonic() + limit
        for port in self.client_ports:
            while True:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                try:
                    if put(connection, "ready", "1"):
                        break
                except (OSError, http.client.HTTPException):
                    pass
                finally:
                    connection.close()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"etcd on port {port} did not answer within {limit:g}s (logs in {self.tmp})")
                time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        for process, _log in self.processes:
            process.terminate()
        for process, log in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
        self.processes = []
        shutil.rmtree(self.tmp, ignore_errors=True)


def put(connection: http.client.HTTPConnection, key: str, value: str) -> bool:
    body = json.dumps({"key": base64.b64encode(key.encode()).decode(), "value": base64.b64encode(value.encode()).decode()})
    connection.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    return response.status == 200 and b'"revision"' in data


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def real_rate(binary: str, size: int, seconds: float | None = None) -> dict:
    seconds = seconds or REAL_SECONDS
    with RealEtcd(binary, size) as etcd:
        pids = [process.pid for process, _ in etcd.processes]
        cpu_before = [cpu_seconds(pid) for pid in pids]
        counts = [0] * INFLIGHT
        errors = [0] * INFLIGHT
        start_gate = threading.Barrier(INFLIGHT + 1)
        stop_at = [0.0]

        def client(i: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", etcd.client_ports[i % size], timeout=10)
            n = 0
            start_gate.wait()
            while time.perf_counter() < stop_at[0]:
                n += 1
                try:
                    if put(connection, f"k{(i * 7919 + n) % KEYS}", VALUE):
                        counts[i] += 1
                    else:
                        errors[i] += 1
                except (OSError, http.client.HTTPException):
                    errors[i] += 1
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", etcd.client_ports[i % size], timeout=10)
            connection.close()

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(INFLIGHT)]
        for thread in threads:
            thread.start()
        start = time.perf_counter()
        stop_at[0] = start + seconds
        start_gate.wait()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - start
        cpu_after = [cpu_seconds(pid) for pid in pids]
    used = [a - b for a, b in zip(cpu_after, cpu_before, strict=True) if a is not None and b is not None]
    return {"rate": sum(counts) / wall, "acked": sum(counts), "errors": sum(errors), "wall": wall, "etcd_cpu": sum(used) if used else None}


# --- the table ------------------------------------------------------------------------------------
def run() -> list[Row]:
    binary = shutil.which("etcd")
    version = etcd_version(binary) if binary else None
    rows = []
    for size in SIZES:
        sim = simulated_rate(size)
        if binary:
            try:
                real = real_rate(binary, size)
                reference = f"{version}, {size} member{'s' if size > 1 else ''} on loopback: {real['rate']:,.0f}/s"
                ratio = f"{sim['rate'] / real['rate']:.2f}" if real["rate"] else ""
                used = f", etcd used {real['etcd_cpu']:.1f} cpu-s" if real["etcd_cpu"] is not None else ""
                real_note = f"; real: {real['acked']:,} puts in {real['wall']:.1f}s{used}, {real['errors']} errors"
            except (OSError, RuntimeError) as exc:
                reference, ratio, real_note = f"real etcd failed: {exc}", "", ""
        else:
            reference, ratio, real_note = MISSING, "", ""
        rows.append(
            Row(
                f"etcd: committed puts per wall-second, {size} member{'s' if size > 1 else ''} (simulated, realistic, {INFLIGHT} in flight)",
                f"{sim['rate']:,.0f}/s",
                reference,
                ratio,
                f"sim: {sim['acked']:,} puts in {sim['wall']:.2f}s wall ({sim['cpu_rate']:,.0f}/cpu-s) = {sim['virtual']:g}s virtual ({sim['virtual_rate']:,.0f}/virtual s), {sim['events']:,} events{real_note}",
            )
        )
    return rows
