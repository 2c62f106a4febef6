"""A real scale-out deployment on loopback: Redis (Debian's redis-server), PostgreSQL (the
session's private instance, tests/conftest.py), three daphne processes and nginx in front,
configured as docs/deploy.md says.

    def test_x(fleet):
        fleet.rest("POST", "/api/clusters", {...})          # through nginx
        fleet.servers[1].rest("GET", "/api/clusters/a")      # straight to one process
        fleet.servers[0].kill()                              # SIGKILL
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.browser.conftest import browser  # noqa: F401 - Debian's chromium through Playwright, module-scoped
from tests.history.conftest import Server, port_free

ROOT = Path(__file__).resolve().parents[2]
DAPHNE = Path(sys.executable).with_name("daphne")
PORTS = range(8180, 8200)  # this suite's servers, nginx and Redis
LEASE_SECONDS = 3  # short, so a takeover happens within the test's patience


def _free_ports(count: int, taken: set[int]) -> list[int]:
    found = [p for p in PORTS if p not in taken and port_free(p)][:count]
    if len(found) < count:
        pytest.skip(f"not enough free ports in {PORTS}")
    taken.update(found)
    return found


class Http:
    """JSON over HTTP and kubectl to one address (a process, or nginx): tests/history's
    Server methods, which need only these attributes."""

    request, call, rest, kubectl = Server.request, Server.call, Server.rest, Server.kubectl

    def __init__(self, port: int, tmp: Path):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.tmp, self.home = tmp, tmp / "home"  # kubectl's HOME and its cache, shared


class Daphne(Http):
    def __init__(self, port: int, tmp: Path, env: dict, log: Path):
        super().__init__(port, tmp)
        self.env, self.log = env, log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([str(DAPHNE), "-b", "127.0.0.1", "-p", str(self.port), "dashboard.asgi:application"],
                                            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.request("GET", "/k8s/-/version", timeout=5)  # any answer: it serves
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"daphne on {self.port} did not start: {self.log_tail()}") from None
                time.sleep(0.2)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self, sig=signal.SIGKILL, wait: float = 30) -> None:
        if self.alive:
            self.process.send_signal(sig)
            self.process.wait(wait)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


NGINX_CONF = """
{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;  # as Debian's nginx.conf does: ES modules load only as text/javascript
    default_type application/octet-stream;
    access_log {dir}/nginx-access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
{site}
}}
"""


class Nginx(Http):
    def __init__(self, port: int, tmp: Path, upstream_ports: list[int]):
        super().__init__(port, tmp)
        self.dir = Path(tempfile.mkdtemp(prefix="clusterscope-nginx-"))
        os.chmod(self.dir, 0o755)
        site = (ROOT / "docs" / "deploy" / "nginx.conf").read_text()
        # The recipe's site as it is, on our ports: upstream servers, listen, static root.
        servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in upstream_ports)
        site = site.replace("    server 127.0.0.1:8001;\n    server 127.0.0.1:8002;\n    server 127.0.0.1:8003;", servers)
        site = site.replace("listen 80;", f"listen 127.0.0.1:{port};").replace("/srv/clusterscope/var/staticfiles/", f"{ROOT}/static/")
        assert f"listen 127.0.0.1:{port};" in site and servers in site, "docs/deploy/nginx.conf changed shape: update this fixture"
        conf = NGINX_CONF.format(user="user root;" if os.geteuid() == 0 else "", dir=self.dir, site=site)
        (self.dir / "nginx.conf").write_text(conf)
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        subprocess.run([binary, "-c", str(self.dir / "nginx.conf"), "-p", str(self.dir), "-t"], check=True, capture_output=True, timeout=30)
        self.process = subprocess.Popen([binary, "-c", str(self.dir / "nginx.conf"), "-p", str(self.dir), "-g", "daemon off;"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20  # a test's first request must not race nginx's listen
        while port_free(port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("nginx did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    def __init__(self, port: int):
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="clusterscope-redis-"))
        self.process = subprocess.Popen([shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no", "--dir", str(self.dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while port_free(port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Fleet(Http):
    """nginx in front of three daphne processes sharing Redis and PostgreSQL."""

    def __init__(self, tmp: Path, database_url: str, count: int = 3):
        taken: set[int] = set()
        redis_port, nginx_port, *ports = _free_ports(count + 2, taken)
        super().__init__(nginx_port, tmp)
        self.home.mkdir()
        self.redis = Redis(redis_port)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", "CLUSTERSCOPE_VAR": str(tmp / "var"), "CLUSTERSCOPE_DEMO": "",
               "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "DATABASE_URL": database_url, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
               "CLUSTERSCOPE_LEASE_SECONDS": str(LEASE_SECONDS), "CLUSTERSCOPE_DB_TIMEOUT": "2"}
        subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True, timeout=120)
        self.servers = [Daphne(p, tmp, env, tmp / f"daphne-{p}.log") for p in ports]
        for server in self.servers:
            server.start()
        for server in self.servers:
            server.wait_ready()
        self.nginx = Nginx(nginx_port, tmp, ports)

    def owner_of(self, name: str) -> "Daphne":
        """The process running a cluster: the one whose channel holds its lease (asked of
        each process: only the owner lists it among its own clusters)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for server in self.servers:
                if server.alive and name in _local_names(server):
                    return server
            time.sleep(0.2)
        raise AssertionError(f"no process runs {name}")

    def stop(self) -> None:
        for server in self.servers:
            server.kill()
        self.nginx.stop()
        self.redis.stop()


def _local_names(server: Daphne) -> set[str]:
    """What one process runs itself (a forwarded, unmerged list)."""
    code, raw = server.request("GET", "/api/clusters", headers={"X-Clusterscope-Forwarded": "1"})
    return {item["name"] for item in json.loads(raw)["items"]} if code == 200 else set()


@pytest.fixture(scope="module")
def fleet(postgres, tmp_path_factory):
    for tool in ("redis-server", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            pytest.skip(f"{tool} is not installed (make test installs Debian's redis-server and nginx)")
    tmp = tmp_path_factory.mktemp("scaleout")
    database = f"scaleout_{os.getpid()}_{int(time.time())}"
    fleet = Fleet(tmp, postgres.url(database))
    yield fleet
    fleet.stop()
