"""A real server for the kubectl tests: daphne on a free port, a fresh CLUSTERSCOPE_VAR (migrated
first), and helpers to create clusters over REST and to run real kubectl against them.

    def test_x(server):
        name = server.cluster()                          # realistic timing at speed 50
        result = server.kubectl(name, "get", "pods")     # the dispatcher, which runs kubectl 1.32
        server.kubectl(name, "version", binary=KUBECTL_129)

Two servers, each started once per session and only when a test asks for it:
  server       dashboard.asgi: the real application (kubectl -> command -> KubeClient ->
               kube-apiserver -> etcd);
  fake_server  tests.kubectl.fake_asgi: the same HTTP layer over a stand-in API server.
"""

import glob
import http.client
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAPHNE = Path(sys.executable).with_name("daphne")
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"  # gcloud's dispatcher: asks /version, runs kubectl.1.<minor>
VERSIONED = {Path(p).name.split("kubectl.")[1]: p for p in sorted(glob.glob("/usr/lib/google-cloud-sdk/bin/kubectl.1.*"))}
KUBECTL_132 = VERSIONED.get("1.32")
KUBECTL_OLD = VERSIONED.get("1.29") or VERSIONED.get("1.30") or VERSIONED.get("1.28")  # sends JSON where 1.32 sends protobuf

_names = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_TEMPLATE: dict[str, Path] = {}


def _migrated_database(var: Path, env: dict) -> None:
    """Migrate once per session (it takes seconds), then copy the database for each server."""
    if "db" not in _TEMPLATE:
        template = var.parent.parent / "migrated"
        template.mkdir(exist_ok=True)
        subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env={**env, "CLUSTERSCOPE_VAR": str(template)}, check=True, timeout=120)
        _TEMPLATE["db"] = template
    for item in _TEMPLATE["db"].iterdir():
        if item.is_file():
            shutil.copy(item, var / item.name)


class Server:
    def __init__(self, app: str, tmp: Path):
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        var = tmp / "var"
        var.mkdir()
        self.temporary: list[str] = []
        self.home = tmp / "home"
        self.home.mkdir()
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", "CLUSTERSCOPE_VAR": str(var), "CLUSTERSCOPE_DEMO": "demo",
                    "CLUSTERSCOPE_MAX_CLUSTERS": "200", "PYTHONPATH": str(ROOT)}
        for private in ("DATABASE_URL", "REDIS_URL"):  # a throwaway SQLite file and the in-memory layer, always
            self.env.pop(private, None)
        _migrated_database(var, self.env)
        self.log = open(tmp / "daphne.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(self.argv(app), cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.rest("GET", "/api/clusters")
                break
            except (OSError, AssertionError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"daphne did not start: {(tmp / 'daphne.log').read_text()[-2000:]}") from None
                time.sleep(0.1)

    def argv(self, app: str) -> list[str]:
        """The server's command line (test_roles_tls.py starts `manage.py serve` instead)."""
        return [str(DAPHNE), "-b", "127.0.0.1", "-p", str(self.port), app]

    def stop(self) -> None:
        self.process.kill()  # nothing to flush: the clusters are throwaway
        self.process.wait(10)
        self.log.close()

    # --- HTTP ----------------------------------------------------------------------------
    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 30, tls=None):
        """(status, headers, body bytes) of one raw request, sending exactly the headers given
        (no default Content-Type, as the Python client sends none); `tls`: (port, ssl context)
        of an https listener to send it to instead."""
        if tls is None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        else:
            connection = http.client.HTTPSConnection("127.0.0.1", tls[0], context=tls[1], timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def rest(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        code, _, raw = self.request(method, path, data, {"Content-Type": "application/json"})
        if code >= 400:
            raise AssertionError(f"{method} {path} -> {code} {raw[:500]!r}")
        return json.loads(raw) if raw else None

    def cluster(self, prefix: str = "k", *, speed: float = 50, profile: str = "realistic", paused: bool = False, nodes: int = 0, seed: int = 1,
                rbac: bool = False, ready: bool = True, keep: bool = False) -> str:
        """A new cluster. Clusters run until deleted and share the server's CPU, so one made
        inside a test is deleted after it (the autouse fixture below) unless `keep` (then its
        module fixture deletes it)."""
        name = f"{prefix}-{next(_names)}"
        if not keep:
            self.temporary.append(name)
        body = {"name": name, "speed": speed, "profile": profile, "paused": paused, "nodes": nodes, "seed": seed}
        if rbac:
            body["rbac"] = True
        self.rest("POST", "/api/clusters", body)
        if ready and not paused:
            self.wait_ready(name)
        return name

    def delete(self, name: str) -> None:
        self.request("DELETE", f"/api/clusters/{name}")

    def wait_ready(self, name: str, seconds: float = 20) -> None:
        """Until the API server answers a list (it boots: elects etcd, lists, bootstraps); any
        answer of its own counts (an RBAC cluster answers 403)."""
        deadline = time.monotonic() + seconds
        while True:
            code, _, _ = self.request("GET", f"/k8s/{name}/api/v1/namespaces/default/configmaps?timeout=5s")
            if code not in (503, 504) or time.monotonic() > deadline:
                return
            time.sleep(0.1)

    def wait_compacted(self, name: str, seconds: float = 60) -> None:
        """Until resourceVersion 1 is too old (410): the API server compacts etcd every 300
        virtual seconds (what it saw an interval earlier), and only then is the start of
        history gone: 600 virtual seconds, a few wall seconds at speed 100."""
        deadline = time.monotonic() + seconds
        while True:
            code, _, _ = self.request("GET", f"/k8s/{name}/api/v1/namespaces/default/pods?resourceVersion=1&resourceVersionMatch=Exact&timeout=5s")
            if code == 410:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"resourceVersion 1 of {name} was not compacted within {seconds}s (last answer {code})")
            time.sleep(0.2)

    def summary(self, name: str) -> dict:
        return self.rest("GET", f"/api/clusters/{name}")

    # --- kubectl -------------------------------------------------------------------------
    def kubectl_args(self, cluster: str, binary: str | None = None) -> list[str]:
        return [binary or KUBECTL, f"--server={self.url}/k8s/{cluster}", "--kubeconfig=/dev/null", f"--cache-dir={self.tmp / 'kube-cache'}"]

    def kubectl(self, cluster: str, *args: str, binary: str | None = None, check: bool = True, stdin: str | None = None, timeout: float = 60):
        env = {**os.environ, "HOME": str(self.home)}
        env.pop("KUBECONFIG", None)
        result = subprocess.run(self.kubectl_args(cluster, binary) + list(args), input=stdin, capture_output=True, text=True, timeout=timeout, env=env, cwd=self.tmp)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def popen_kubectl(self, cluster: str, *args: str, binary: str | None = None) -> subprocess.Popen:
        env = {**os.environ, "HOME": str(self.home)}
        env.pop("KUBECONFIG", None)
        return subprocess.Popen(self.kubectl_args(cluster, binary) + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=self.tmp)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = Server("dashboard.asgi:application", tmp_path_factory.mktemp("kube-server"))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def fake_server(tmp_path_factory):
    srv = Server("tests.kubectl.fake_asgi:application", tmp_path_factory.mktemp("kube-fake"))
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _delete_temporary_clusters(request):
    yield
    for fixture in ("server", "fake_server"):
        if fixture in request.fixturenames:
            srv = request.getfixturevalue(fixture)
            while srv.temporary:
                srv.delete(srv.temporary.pop())


class LineReader:
    """Lines from a running process's stdout as they come, with a deadline (no blocking read:
    the process is a watch that does not end by itself)."""

    def __init__(self, process: subprocess.Popen):
        self.process = process
        self.fd = process.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.buffer = b""

    def lines(self, count: int, seconds: float = 20) -> list[str]:
        out: list[str] = []
        deadline = time.monotonic() + seconds
        while len(out) < count:
            while b"\n" in self.buffer and len(out) < count:
                line, self.buffer = self.buffer.split(b"\n", 1)
                out.append(line.decode())
            if len(out) >= count:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(out)} of {count} lines within {seconds}s: {out}")
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                time.sleep(0.02)
                continue
            if not chunk:
                raise AssertionError(f"the stream ended after {out}; stderr: {self.process.stderr.read()!r}")
            self.buffer += chunk
        return out
