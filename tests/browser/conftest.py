"""Real-browser tests: a real server (daphne, as in production) and Debian's Chromium driven
through Playwright's sync API.

The server runs as a subprocess on a free port with its own var directory (so its SQLite
file and clusters are its own) and the `demo` cluster; tests may stop and restart it on the
same port (the reconnect test does). Screenshots go to test-artifacts/ (gitignored).
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Server:
    """One daphne process serving dashboard.asgi:application."""

    def __init__(self, var_dir: Path, port: int):
        self.var_dir = var_dir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None
        self.log_path = var_dir / "daphne.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "CLUSTERSCOPE_VAR": str(var_dir),
            "CLUSTERSCOPE_DEMO": "demo",
            "PYTHONUNBUFFERED": "1",
        }

    def migrate(self) -> None:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=self.env, check=True, timeout=120)

    def _command(self) -> list[str]:
        script = Path(sys.executable).with_name("daphne")
        program = [str(script)] if script.exists() else [sys.executable, "-m", "daphne"]
        return [*program, "-b", "127.0.0.1", "-p", str(self.port), "dashboard.asgi:application"]

    def start(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while port_open(self.port) and time.monotonic() < deadline:  # the old process is still closing
            time.sleep(0.05)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.proc = subprocess.Popen(self._command(), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.proc.returncode}:\n{self.log_path.read_text(errors='replace')[-3000:]}")
            if port_open(self.port):
                try:
                    self.api("GET", "/api/clusters")
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"daphne did not start on port {self.port}:\n{self.log_path.read_text(errors='replace')[-3000:]}")

    def kill(self) -> None:
        """Die like a crashed server: no goodbye to the browsers."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def api(self, method: str, path: str, body: dict | None = None, key: str | None = None) -> tuple[int, dict | None]:
        """A REST call; `key` goes as X-Clusterscope-Key (a classroom's roles)."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", **({"X-Clusterscope-Key": key} if key else {})}
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                return response.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, (json.loads(raw) if raw else None)

    def reset_demo(self, *, paused: bool = False, speed: float = 1.0) -> dict:
        status, summary = self.api("PATCH", "/api/clusters/demo/clock", {"paused": paused, "speed": speed})
        assert status == 200, summary
        return summary


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("clusterscope-var")
    srv = Server(var_dir, free_port())
    srv.migrate()
    srv.start()
    yield srv
    srv.stop()
    shutil.rmtree(var_dir, ignore_errors=True)


# Module scope, not session: Playwright's sync API keeps an event loop running while it is
# open, and async tests collected after the browser tests (Channels, pytest-asyncio) would
# then find "a running event loop" and fail.
@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, server):
    """open_page(path, width=, height=, color_scheme=, reduced_motion=, before=) -> page.

    Every page records console errors and uncaught exceptions in `page.problems`.
    `before(page)` runs before navigation (e.g. to route the WebSocket).
    """
    contexts = []

    def _open(path="/", *, width=1920, height=1080, color_scheme="light", reduced_motion="no-preference", before=None):
        context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=color_scheme, reduced_motion=reduced_motion)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.problems = []
        page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text} @ {m.location.get('url')}"))
        page.on("pageerror", lambda e: page.problems.append(f"exception: {e}"))
        if before is not None:
            before(page)
        page.goto(server.url + path)
        return page

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
