"""Scale-out on a real deployment: three daphne processes on Redis and PostgreSQL behind
nginx (conftest.py). The tests share the deployment and run in order: the second kills a
process with SIGKILL (and starts it again, as systemd would), the third drains one with
SIGTERM."""

import json
import signal
import subprocess
import threading
import time

import pytest
import websocket

from tests.history.conftest import KUBECTL

from .conftest import LEASE_SECONDS, _local_names

pytestmark = pytest.mark.slow


class Watcher(threading.Thread):
    """A viewer that reconnects by itself as static/js/stream.js does: after a close it
    opens again (here through the same address) with ?after=<last seq it handled>."""

    def __init__(self, port: int, name: str, query: str = ""):
        super().__init__(daemon=True)
        self.port, self.name, self.query = port, name, query
        self.classroom: list[dict] = []  # the classroom frames, in order
        self.last_seq = None
        self.time = 0.0
        self.snapshots = 0
        self.connections = 0
        self.summaries: list[str] = []
        self.errors: list[str] = []
        self.gaps: list[tuple[int, int]] = []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            query = "&".join(q for q in (self.query, "" if self.last_seq is None else f"after={self.last_seq}") if q)
            try:
                ws = websocket.create_connection(f"ws://127.0.0.1:{self.port}/ws/clusters/{self.name}/?{query}", timeout=5,
                                                 origin=f"http://127.0.0.1:{self.port}")
            except Exception as exc:  # noqa: BLE001 - down for a moment: try again
                self.errors.append(f"connect: {exc}")
                time.sleep(0.25)
                continue
            self.connections += 1
            try:
                while not self.stopped.is_set():
                    frame = json.loads(ws.recv())
                    self._handle(frame)
                    if frame["type"] in ("snapshot", "events"):
                        ws.send(json.dumps({"type": "ack", "seq": self.last_seq}))
            except Exception as exc:  # noqa: BLE001 - closed: reconnect
                self.errors.append(f"recv: {type(exc).__name__}")
            finally:
                ws.close()
            time.sleep(0.25)

    def _handle(self, frame: dict) -> None:
        if frame["type"] == "snapshot":
            self.snapshots += 1
            self.last_seq, self.time = frame["seq"], frame["state"]["clock"]["time"]
        elif frame["type"] == "events":
            first = frame["events"][0]["seq"]
            if self.last_seq is not None and first != self.last_seq + 1:
                self.gaps.append((self.last_seq, first))
            self.last_seq = frame["events"][-1]["seq"]
            self.time = frame["clock"]["time"]
            self.summaries += [e.get("summary", "") for e in frame["events"]]
        elif frame["type"] == "clock":
            self.time = frame["clock"]["time"]
        elif frame["type"] == "classroom" and frame.get("classroom"):
            self.classroom.append(frame["classroom"])
        elif frame["type"] == "error":
            self.errors.append(frame["error"])

    def wait_until(self, check, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, f"{what}; errors: {self.errors[-5:]}"
            time.sleep(0.1)

    def stop(self) -> None:
        self.stopped.set()
        self.join(10)


def _wait(check, timeout: float, what):
    """check() until it is truthy; past the timeout, fail saying `what` (a text, or a callable
    that makes one then: a diagnostic gathered only on failure)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, what() if callable(what) else what
        time.sleep(0.2)


def test_created_on_one_driven_by_kubectl_through_another_watched_through_a_third(fleet):
    creator = fleet.servers[0]
    creator.rest("POST", "/api/clusters", {"name": "lab", "seed": 5, "profile": "realistic", "speed": 2, "nodes": 1})
    owner = fleet.owner_of("lab")
    driver, watcher_process = [s for s in fleet.servers if s is not owner][:2]
    assert "lab" not in _local_names(driver) and "lab" not in _local_names(watcher_process)

    watcher = Watcher(watcher_process.port, "lab")
    watcher.start()
    try:
        watcher.wait_until(lambda: watcher.snapshots >= 1, 20, "no snapshot through the third process")
        # A kubectl watch streamed through the driving process while kubectl creates there.
        home = fleet.home
        watch = subprocess.Popen([*_kubectl_args(driver, "lab", home), "get", "configmaps", "-w", "--output-watch-events", "-o", "name"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait(lambda: _kubectl_watches(owner, "lab"), 20, "the forwarded watch never reached the owner's API server")
        driver.kubectl("lab", "create", "configmap", "notes", "--from-literal=lesson=scale-out")
        listed = driver.kubectl("lab", "get", "configmap", "notes", "-o", "jsonpath={.data.lesson}").stdout
        assert listed == "scale-out"
        time.sleep(1.5)
        watch.terminate()
        out, _ = watch.communicate(timeout=10)
        assert "configmap/notes" in out, out
        # kubectl gone: the owner's Django saw the disconnect (fwd.cancel) and cancelled the watch
        _wait(lambda: not _kubectl_watches(owner, "lab"), 20, "the watch stayed open in the simulation after kubectl left")
        # The browser-side viewer, on the third process, saw the request go through the API server.
        watcher.wait_until(lambda: any("notes" in s for s in watcher.summaries), 20, "the third process's viewer never saw the configmap's request")
        assert not watcher.gaps, watcher.gaps
        assert watcher.connections == 1, watcher.errors
        # Any process (and nginx) lists it and acts on it.
        assert "lab" in {c["name"] for c in fleet.rest("GET", "/api/clusters")["items"]}
        for server in fleet.servers:
            assert server.rest("GET", "/api/clusters/lab")["name"] == "lab"
    finally:
        watcher.stop()


LESSON = "controllers-reconcile"
COMPARING = "kube-proxy-modes"  # two clusters: main (iptables) and ipvs


def _keyed(server, method: str, path: str, body=None, key: str | None = None) -> tuple[int, dict | None]:
    """A REST call with a classroom key (X-Clusterscope-Key)."""
    headers = {"Content-Type": "application/json", **({"X-Clusterscope-Key": key} if key else {})}
    code, raw = server.request(method, path, None if body is None else json.dumps(body).encode(), headers)
    return code, (json.loads(raw) if raw else None)


def test_classrooms_and_lesson_runs_answer_from_any_process(fleet):
    fleet.servers[0].rest("POST", "/api/clusters", {"name": "room", "seed": 4, "profile": "realistic", "nodes": 1})
    owner = fleet.owner_of("room")
    elsewhere, third = [s for s in fleet.servers if s is not owner]
    made = []
    try:
        # Shared through a process that does not run it (which answered 404 before).
        status, room = _keyed(elsewhere, "POST", "/api/classrooms", {"cluster": "room"})
        assert status == 201, room
        code, presenter = room["code"], room["presenter_key"]
        ann = _keyed(third, "POST", f"/api/classrooms/{code}/viewers", {"name": "Ann"})[1]
        bob = _keyed(elsewhere, "POST", f"/api/classrooms/{code}/viewers", {"name": "Bob"})[1]

        # Ann watches through a process that mirrors the cluster, Bob through the owner: both
        # are counted wherever the classroom is asked, and Ann's socket hears the count.
        ann_ws = Watcher(elsewhere.port, "room", f"key={ann['key']}&viewer={ann['viewer']}")
        bob_ws = Watcher(owner.port, "room", f"key={bob['key']}&viewer={bob['viewer']}")
        ann_ws.start()
        bob_ws.start()
        try:
            _wait(lambda: _keyed(third, "GET", f"/api/classrooms/{code}")[1]["viewers"] == 2, 30, "the owner did not count the viewer on another process")
            ann_ws.wait_until(lambda: ann_ws.classroom and ann_ws.classroom[-1]["viewers"] == 2, 30, "the count did not reach the mirrored socket")
            listed = _keyed(elsewhere, "GET", f"/api/classrooms/{code}/viewers", key=presenter)[1]["viewers"]
            assert {v["name"]: v["connected"] for v in listed} == {"Ann": True, "Bob": True}
            # The presenter locks it through the third process: the frame reaches both sockets.
            assert _keyed(third, "PATCH", f"/api/classrooms/{code}", {"locked": True}, presenter)[0] == 200
            for ws in (ann_ws, bob_ws):
                ws.wait_until(lambda ws=ws: ws.classroom and ws.classroom[-1]["locked"], 30, "the lock's frame did not reach a socket")
            ann_ws.stop()  # Ann leaves: the owner counts her out, and Bob hears it
            _wait(lambda: _keyed(fleet, "GET", f"/api/classrooms/{code}")[1]["viewers"] == 1, 30, "the owner still counts a viewer who left")
            bob_ws.wait_until(lambda: bob_ws.classroom[-1]["viewers"] == 1, 30, "the count after Ann left did not reach Bob")
        finally:
            ann_ws.stop()
            bob_ws.stop()

        # Lesson runs started on two processes (each counts from 1) have ids of their own, and
        # are stepped and read through any process.
        first = elsewhere.rest("POST", f"/api/scenarios/{LESSON}/runs", {"mode": "live", "paused": True})
        second = third.rest("POST", f"/api/scenarios/{LESSON}/runs", {"mode": "live", "paused": True})
        made += [first["clusters"]["main"], second["clusters"]["main"]]
        assert first["run"] != second["run"]
        stepped = owner.rest("POST", f"/api/scenarios/{LESSON}/runs/{first['run']}/next")
        assert stepped["run"] == first["run"] and stepped["state"] in ("running", "ready")
        assert fleet.rest("GET", f"/api/scenarios/{LESSON}/runs/{second['run']}")["run"] == second["run"]
        assert {first["run"], second["run"]} <= {r["run"] for r in owner.rest("GET", f"/api/scenarios/{LESSON}/runs")["items"]}
        # A classroom on a live lesson, made through one process and stepped through another.
        status, lesson = _keyed(elsewhere, "POST", "/api/classrooms", {"scenario": LESSON})
        assert status == 201, lesson
        made.append(lesson["cluster"])
        status, report = _keyed(third, "POST", f"/api/classrooms/{lesson['code']}/step", None, lesson["presenter_key"])
        assert status == 200 and report["state"] in ("running", "ready"), report
        assert _keyed(owner, "GET", f"/api/classrooms/{lesson['code']}")[1]["step"] == 0
    finally:  # the next tests' placement and takeover see only their own clusters
        for name in ["room", *made]:
            fleet.call("DELETE", f"/api/clusters/{name}")


def _kubectl_watches(server, cluster: str) -> list[dict]:
    """The configmap watches kubectl holds open in the cluster's API server (its snapshot)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for watcher in node.get("watchers") or []:
                if isinstance(watcher, dict) and watcher.get("client") == "kubectl" and watcher.get("resource") == "configmaps":
                    found.append(watcher)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(server.rest("GET", f"/api/clusters/{cluster}/state"))
    return found


# Run in the page before its own scripts: every WebSocket it opens, and when each opened and
# closed (with the close code), as [what, ...] rows in window.clusterscopeSockets.
PAGE_SOCKETS = """(() => {
  const Native = window.WebSocket;
  const seen = (window.clusterscopeSockets = []);
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      seen.push(["new", String(args[0]), Math.round(performance.now())]);
      this.addEventListener("open", () => seen.push(["open", Math.round(performance.now())]));
      this.addEventListener("close", (e) => seen.push(["close", e.code, Math.round(performance.now())]));
    }
  };
})()"""


def _page_time(page) -> float:
    return float(page.locator("#clock-number").inner_text())


def _kubectl_args(server, cluster: str, home) -> list[str]:
    return [KUBECTL, f"--server={server.url}/k8s/{cluster}", "--kubeconfig=/dev/null", f"--cache-dir={server.tmp / 'kube-cache'}", "--request-timeout=30s"]


def test_owner_killed_cluster_comes_back_elsewhere_with_every_acknowledged_command(fleet, browser):
    # Through nginx, as users would: a running cluster, and a paused fork of it on the same process.
    fleet.rest("POST", "/api/clusters", {"name": "live", "seed": 8, "profile": "realistic", "speed": 2, "nodes": 1})
    fleet.rest("POST", "/api/clusters/live/fork", {"name": "still"})
    owner = fleet.owner_of("live")
    assert fleet.owner_of("still") is owner
    acked = []
    for i in range(3):
        fleet.kubectl("live", "create", "configmap", f"acked-{i}", f"--from-literal=i={i}")
        acked.append(f"configmap/acked-{i}")
    fleet.rest("POST", "/api/clusters/still/advance", {"seconds": 4})
    fleet.rest("POST", "/api/clusters/still/faults", {"action": "crash", "target": "etcd-1"})
    fleet.rest("POST", "/api/clusters/still/advance", {"seconds": 2.5})
    still_before = fleet.rest("GET", "/api/clusters/still")
    live_before = fleet.rest("GET", "/api/clusters/live")
    # A lesson comparing two clusters, live on the same process: its clusters must come back
    # together, or the run cannot be taken up anywhere (it answered 410 when they parted).
    compared = owner.rest("POST", f"/api/scenarios/{COMPARING}/runs", {"mode": "live", "paused": True})
    compared_path = f"/api/scenarios/{COMPARING}/runs/{compared['run']}"
    assert len(compared["clusters"]) == 2 and all(fleet.owner_of(name) is owner for name in compared["clusters"].values())

    watcher = Watcher(fleet.port, "live")  # through nginx
    watcher.start()
    # And the dashboard in a real browser, through nginx (static/js/stream.js reconnects by itself).
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    exceptions = []
    # The page's sockets as the page saw them. Not Playwright's "websocket" event: it can miss
    # a socket the page opens again on its own (microsoft/playwright#28997), which read here as
    # a page that never reconnected although it had and was following the cluster.
    page.add_init_script(PAGE_SOCKETS)
    page.on("pageerror", lambda e: exceptions.append(str(e)))  # failed requests during the failover are expected; exceptions are not
    page.goto(f"{fleet.url}/clusters/live/")
    try:
        watcher.wait_until(lambda: watcher.snapshots >= 1 and watcher.time > 0, 20, "no stream through nginx")
        page.wait_for_selector("#conn[data-state='connected']", timeout=30_000)
        page_before_kill = _page_time(page)
        seen_before_kill = watcher.time
        killed_at = time.monotonic()
        owner.kill(signal.SIGKILL)

        # The other processes take the leases once they run out (each while it is the least
        # loaded, so the two clusters may part) and rebuild the clusters from their logs.
        assert fleet.owner_of("live") is not owner and fleet.owner_of("still") is not owner
        assert time.monotonic() - killed_at < LEASE_SECONDS + 20
        still = fleet.rest("GET", "/api/clusters/still")
        assert (still["state_hash"], still["time"], still["paused"]) == (still_before["state_hash"], still_before["time"], True)
        assert still["history"]["commands"] == still_before["history"]["commands"]
        live = fleet.rest("GET", "/api/clusters/live")
        assert live["history"]["commands"] == live_before["history"]["commands"]
        assert not live["paused"] and live["speed"] == 2
        listed = fleet.kubectl("live", "get", "configmaps", "-o", "name").stdout.split()
        assert set(acked) <= set(listed), listed
        comes_back = {fleet.owner_of(name) for name in compared["clusters"].values()}  # each waits until one runs it
        assert owner not in comes_back and len(comes_back) == 1, "the lesson's clusters parted"
        # listed (the merged list takes saved runs up where their clusters run now), then stepped
        runs_path = f"/api/scenarios/{COMPARING}/runs"
        _wait(lambda: compared["run"] in {r["run"] for r in fleet.rest("GET", runs_path)["items"]}, 20,
              lambda: f"the merged list lacks run {compared['run']}; each process's own list: "
                      f"{ {s.port: s.request('GET', runs_path, headers={'X-Clusterscope-Forwarded': '1'}) for s in fleet.servers if s.alive} }")
        assert fleet.rest("GET", compared_path)["run"] == compared["run"]
        stepped = fleet.rest("POST", f"{compared_path}/next")
        assert stepped["run"] == compared["run"] and stepped["state"] in ("running", "ready"), stepped

        # The viewer reconnected through nginx by itself and watches it run on.
        watcher.wait_until(lambda: watcher.connections >= 2 and watcher.time > seen_before_kill + 2, 40,
                           f"the viewer did not follow the cluster (time {watcher.time}, before the kill {seen_before_kill})")
        # So did the browser: a new socket, connected, its clock past where it stood.
        def page_follows():
            opened = sum(1 for what in page.evaluate("window.clusterscopeSockets") if what[0] == "open")
            return opened >= 2 and page.locator("#conn").get_attribute("data-state") == "connected" and _page_time(page) > page_before_kill + 2

        try:
            _wait(page_follows, 40, "the page did not follow the cluster")
        finally:
            page.screenshot(path=str(fleet.tmp / "after-failover.png"))
            print("the page's sockets:", page.evaluate("window.clusterscopeSockets"), "clock", _page_time(page), "before the kill", page_before_kill,
                  "conn", page.locator("#conn").get_attribute("data-state"))
        assert not exceptions, exceptions
        for server in fleet.servers:  # daphne closes a moved viewer's socket (it refuses codes outside 1000, 3000-4999)
            assert "invalid close code" not in server.log_tail(200_000), server.port
    finally:
        context.close()
        watcher.stop()
        for name in compared["clusters"].values():  # the next test's placement sees only its own clusters
            fleet.call("DELETE", f"/api/clusters/{name}")
        if not owner.alive:  # as systemd's Restart=always would: the next test has three processes again
            owner.start()
            owner.wait_ready()


def test_sigterm_drains_without_losing_a_command(fleet):
    fleet.rest("POST", "/api/clusters", {"name": "moving", "seed": 9, "profile": "realistic", "speed": 2, "nodes": 1})
    fleet.rest("POST", "/api/clusters/moving/fork", {"name": "moving-still"})
    owner = fleet.owner_of("moving")
    fleet.rest("POST", "/api/clusters/moving-still/advance", {"seconds": 3})
    still_before = fleet.rest("GET", "/api/clusters/moving-still")
    # A live lesson run on the same process, one step played: it goes on after the drain.
    run = owner.rest("POST", f"/api/scenarios/{LESSON}/runs", {"mode": "live", "speed": 50, "profile": "realistic"})
    run_path = f"/api/scenarios/{LESSON}/runs/{run['run']}"
    owner.rest("POST", f"{run_path}/next")
    _wait(lambda: fleet.rest("GET", run_path)["state"] == "ready", 60, "the lesson's first step did not finish")
    run_before = fleet.rest("GET", run_path)

    acked: list[str] = []
    stop = threading.Event()

    def keep_writing():  # commands arriving before, during and after the hand-over
        i = 0
        while not stop.is_set():
            try:
                code, _ = fleet.call("POST", "/api/clusters/moving/etcd", {"op": "put", "key": f"/drain/{i}", "value": str(i), "timeout": 20})
            except (OSError, ValueError):  # cut, or nginx's own error page: not acknowledged
                code = None
            if code == 200:
                acked.append(f"/drain/{i}")
            i += 1

    writer = threading.Thread(target=keep_writing, daemon=True)
    writer.start()
    _wait(lambda: len(acked) >= 3, 30, "no write acknowledged before the drain")
    owner.kill(signal.SIGTERM)
    assert owner.process.returncode == 0, owner.log_tail()
    _wait(lambda: len(acked) >= 6 or None, 30, "writes stopped being acknowledged after the drain")
    stop.set()
    writer.join(30)

    assert fleet.owner_of("moving") is not owner and fleet.owner_of("moving-still") is not owner
    still = fleet.rest("GET", "/api/clusters/moving-still")
    assert (still["state_hash"], still["time"]) == (still_before["state_hash"], still_before["time"])
    for key in acked:
        code, body = fleet.call("POST", "/api/clusters/moving/etcd", {"op": "get", "key": key, "timeout": 20})
        assert code == 200 and body["value"] == key.rsplit("/", 1)[1], (key, code, body)
    assert "handed over (drain)" in owner.log_tail(20000) or "handing" in owner.log_tail(20000)

    # The run's process is gone: its requests reach the new owner of its main cluster, which
    # takes the run up from its saved row, and the presenter steps on.
    assert fleet.owner_of(run["cluster"]) is not owner
    run_after = fleet.rest("GET", run_path)
    assert (run_after["run"], run_after["state"], run_after["steps"], run_after["next"]) == (run["run"], "ready", run_before["steps"], run_before["next"])
    stepped = fleet.rest("POST", f"{run_path}/next")
    assert stepped["state"] in ("running", "ready") and stepped["steps"][0] == run_before["steps"][0]
    _wait(lambda: len(fleet.rest("GET", run_path)["steps"]) == 2, 60, "the step after the drain did not finish")
    for name in run["clusters"].values():
        fleet.call("DELETE", f"/api/clusters/{name}")
