"""The screenshot command's own server: daphne in a child process on a free loopback port,
with a fresh SQLite database in a temporary folder (so the clusters it builds never land in
the project's own history) and no demo cluster."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnServer:
    def __init__(self):
        self.var_dir = Path(tempfile.mkdtemp(prefix="clusterscope-shot-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.migrating: subprocess.Popen | None = None
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        self.env = {**env, "DJANGO_SETTINGS_MODULE": "dashboard.settings", "CLUSTERSCOPE_VAR": str(self.var_dir), "CLUSTERSCOPE_DEMO": "",
                    "PYTHONUNBUFFERED": "1"}

    def prepare(self) -> "OwnServer":
        """Start creating the database now (slow on a busy machine): the caller builds its cluster meanwhile."""
        if self.migrating is None:
            self.migrating = subprocess.Popen([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=self.env)
        return self

    def discard(self) -> None:
        """Never used after all (the options made no cluster): stop creating its database."""
        if self.migrating is not None and self.migrating.poll() is None:
            self.migrating.kill()
            self.migrating.wait(timeout=10)
        shutil.rmtree(self.var_dir, ignore_errors=True)

    def __enter__(self) -> "OwnServer":
        self.prepare()
        if self.migrating.wait(timeout=180) != 0:
            raise RuntimeError("manage.py migrate failed for the screenshot server's database")
        daphne = Path(sys.executable).with_name("daphne")
        program = [str(daphne)] if daphne.exists() else [sys.executable, "-m", "daphne"]
        log = open(self.var_dir / "daphne.log", "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen([*program, "-b", "127.0.0.1", "-p", str(self.port), "dashboard.asgi:application"], cwd=ROOT, env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/api/clusters", timeout=2):
                    return self
            except OSError:
                time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError(f"daphne did not start on port {self.port}: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return (self.var_dir / "daphne.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def __exit__(self, *exc) -> None:
        for stop in (() if self.proc is None else (self.proc.terminate, self.proc.kill)):
            stop()  # politely first, then for good
            try:
                self.proc.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue
        self.proc = None
        shutil.rmtree(self.var_dir, ignore_errors=True)
