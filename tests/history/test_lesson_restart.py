"""A live lesson and an uploaded scenario outlive a SIGKILLed server (dashboard/scenarios.py:
UploadedScenario and LessonRun rows): after the restart the presenter finds the run, reads
the same report so far and steps on."""

import json
import sqlite3
import time

from tests.dashboard.test_scenarios_api import SMALL


def _until(server, path: str, ready, seconds: float = 30.0) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        report = server.rest("GET", path)
        if ready(report) or time.monotonic() > deadline:
            return report
        time.sleep(0.1)


def _saved_between_steps(server, run_id: str, steps: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with sqlite3.connect(server.sqlite_path) as db:
            row = db.execute("SELECT state FROM dashboard_lessonrun WHERE id = ?", (run_id,)).fetchone()
        state = json.loads(row[0]) if row else None
        if state and state["current"] is None and len(state["results"]) == steps:
            return
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} was not saved after step {steps}")


def test_a_live_lesson_goes_on_after_sigkill(server):
    code, _ = server.request("POST", "/api/scenarios", SMALL.encode(), {"Content-Type": "application/yaml"})
    assert code == 201
    run = server.rest("POST", "/api/scenarios/tiny-upload/runs", {"mode": "live", "name": "room", "speed": 100})
    path = f"/api/scenarios/tiny-upload/runs/{run['run']}"
    server.rest("POST", f"{path}/next", {"choice": 1})
    before = _until(server, path, lambda r: r["state"] == "ready")
    assert len(before["steps"]) == 1 and before["steps"][0]["passed"]
    _saved_between_steps(server, run["run"], 1)  # the step's end is queued on the database thread: written a moment later
    server.kill()
    server.start()
    [listed] = server.rest("GET", "/api/scenarios/tiny-upload/runs")["items"]
    assert (listed["run"], listed["state"], listed["steps"]) == (run["run"], "ready", 1)
    after = server.rest("GET", path)
    assert (after["steps"], after["next"]) == (before["steps"], before["next"])
    server.rest("POST", f"{path}/next", {})
    done = _until(server, path, lambda r: r["state"] == "done")
    assert done["passed"] is True and [s["title"] for s in done["steps"]] == ["Leader", "Later"]
    assert server.rest("GET", "/api/clusters/room")["speed"] == 50
