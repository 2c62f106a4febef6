"""A real server that can be killed: daphne on a port of its own, its database kept across
restarts, on SQLite (a file in its var directory) or on PostgreSQL (a private instance of
Debian's postgresql, started here).

    def test_x(db_server):              # parametrized: sqlite, postgresql
        db_server.rest("POST", "/api/clusters", {...})
        db_server.kill()                # SIGKILL: no goodbye, nothing flushed
        db_server.start()               # the same database: every cluster comes back
"""

import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAPHNE = Path(sys.executable).with_name("daphne")
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
PORTS = range(8821, 8829)  # this suite's servers; 8829 is its PostgreSQL
POSTGRES_PORT = 8829


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT does not count
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Server:
    def __init__(self, tmp: Path, database_url: str | None):
        self.tmp = tmp
        self.var = tmp / "var"
        self.var.mkdir()
        self.home = tmp / "home"
        self.home.mkdir()
        self.port = next((p for p in PORTS if port_free(p)), None)
        if self.port is None:
            raise RuntimeError(f"no free port in {PORTS}")
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", "CLUSTERSCOPE_VAR": str(self.var), "CLUSTERSCOPE_DEMO": "",
                    "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "CLUSTERSCOPE_DB_TIMEOUT": "1"}
        self.env.pop("REDIS_URL", None)
        self.env.pop("DATABASE_URL", None)
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.process: subprocess.Popen | None = None
        subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=self.env, check=True, timeout=120)

    @property
    def sqlite_path(self) -> Path:
        return self.var / "clusterscope.sqlite3"

    def start(self, timeout: float = 60) -> None:
        log = open(self.tmp / "daphne.log", "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen([str(DAPHNE), "-b", "127.0.0.1", "-p", str(self.port), "dashboard.asgi:application"], cwd=ROOT, env=self.env,
                                        stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.rest("GET", "/api/clusters")  # the first request rebuilds every stored cluster
                return
            except (OSError, AssertionError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"daphne did not start: {self.log_tail()}") from None
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL, as a crash or an operator's kill -9 would."""
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            self.process = None
        deadline = time.monotonic() + 10
        while not port_free(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def log_tail(self) -> str:
        return (self.tmp / "daphne.log").read_text(errors="replace")[-3000:]

    # --- HTTP ----------------------------------------------------------------------------
    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 60):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def call(self, method: str, path: str, body=None) -> tuple[int, dict | None]:
        data = None if body is None else json.dumps(body).encode()
        code, raw = self.request(method, path, data, {"Content-Type": "application/json"})
        return code, (json.loads(raw) if raw else None)

    def rest(self, method: str, path: str, body=None):
        code, data = self.call(method, path, body)
        if code >= 400:
            raise AssertionError(f"{method} {path} -> {code} {data}")
        return data

    def summary(self, name: str) -> dict:
        return self.rest("GET", f"/api/clusters/{name}")

    def events(self, name: str, after: int, limit: int = 5000) -> list[dict]:
        return self.rest("GET", f"/api/clusters/{name}/events?after={after}&limit={limit}")["events"]

    def all_events(self, name: str) -> list[dict]:
        found: list[dict] = []
        while page := self.events(name, found[-1]["seq"] if found else 0):
            found += page
        return found

    def kubectl(self, cluster: str, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        env = {**os.environ, "HOME": str(self.home)}
        env.pop("KUBECONFIG", None)
        command = [KUBECTL, f"--server={self.url}/k8s/{cluster}", "--kubeconfig=/dev/null", f"--cache-dir={self.tmp / 'kube-cache'}", "--request-timeout=30s", *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=self.tmp)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result


class Postgres:
    """A private PostgreSQL instance (Debian's binaries) in a temporary directory."""

    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            pytest.skip("PostgreSQL is not installed (make test installs Debian's postgresql)")
        self.bin = Path(found[-1]).parent
        # Not under pytest's tmp_path: the server runs as the postgres user, who cannot enter it.
        self.data = Path(tempfile.mkdtemp(prefix="clusterscope-pg-"))
        self.user = "postgres"
        self._run_as = [] if os.geteuid() != 0 else ["runuser", "-u", self.user, "--"]  # initdb refuses to run as root
        if self._run_as:
            shutil.chown(self.data, self.user)
        self._pg([str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", self.user, "--no-sync"], timeout=120)
        self._pg([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.data / "server.log"), "-w", "-o",
                  f"-p {POSTGRES_PORT} -k {self.data} -c listen_addresses=127.0.0.1", "start"], timeout=60)

    def _pg(self, command: list[str], timeout: float) -> None:
        subprocess.run(self._run_as + command, check=True, timeout=timeout, capture_output=True)

    def url(self, database: str) -> str:
        subprocess.run(self._run_as + [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(POSTGRES_PORT), "-U", self.user, database], check=True, capture_output=True, timeout=30)
        return f"postgres://{self.user}@127.0.0.1:{POSTGRES_PORT}/{database}"

    def stop(self) -> None:
        subprocess.run(self._run_as + [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.data, ignore_errors=True)


# The `postgres` fixture (a Postgres above, one per test session) is in tests/conftest.py:
# tests/scaleout runs on the same instance.


_databases = iter(range(1, 10_000))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_server(request, tmp_path):
    """A fresh server on SQLite, then the same test on PostgreSQL."""
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").url(f"clusterscope_{next(_databases)}")
    srv = Server(tmp_path, url)
    srv.start()
    yield srv
    srv.kill()


@pytest.fixture
def server(tmp_path):
    """A fresh server on SQLite only."""
    srv = Server(tmp_path, None)
    srv.start()
    yield srv
    srv.kill()
