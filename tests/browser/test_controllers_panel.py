"""The controller-manager panel against the real server, driven through the real kubectl and
REST faults, on a cluster of its own (teaching profile). Most steps run on a paused cluster
advanced in small virtual steps, so what the page shows is checked at exact moments:

* the Lease: one replica leads, the other stands by; crashing the leader shows the standby's
  countdown to its takeover, then the standby leads;
* `kubectl scale` lights the ReplicaSet loop with its sentence ("want 4, have 2, creating 2
  pods") and the new pods join the owner graph;
* `kubectl delete --cascade=foreground` is drawn over the graph: the Deployment and its
  ReplicaSet wait (Foreground) while their pods go, then they go too;
* a crashed node: its last heartbeat ages, the countdown to NotReady runs down with virtual
  time, the node turns NotReady, the eviction countdown runs, and its pods are evicted;
* an API server restart breaks every watch: the informers re-list, shown as re-lists (↻), apart
  from resyncs (⟲).

Screenshots: test-artifacts/controllers-<moment>-<width>-<theme>.png (taken while paused).
"""

import re
import shutil
import subprocess

import pytest

from .helpers import NEXT_FRAMES, screenshots, wait_connected, wait_for

pytestmark = pytest.mark.browser

if shutil.which("kubectl") is None:
    pytest.skip("kubectl is not installed", allow_module_level=True)

CLUSTER = "cm-panel"


def call(server, method, path, body=None, expect=200):
    status, answer = server.api(method, f"/api/clusters/{CLUSTER}{path}", body)
    assert status == expect, answer
    return answer


def advance(server, seconds):
    return call(server, "POST", "/advance", {"seconds": round(seconds, 6)})


def kubectl(server, tmp_path, *args):
    """Start kubectl (it waits for the simulation's answer, which comes as the clock moves)."""
    cmd = ["kubectl", f"--server={server.url}/k8s/{CLUSTER}", "--kubeconfig=/dev/null", f"--cache-dir={tmp_path / 'kube-cache'}", "--request-timeout=30s", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, server=None, step=0.2, limit=30):
    """kubectl's outcome; with `server` (a paused cluster) advance in small steps until it has its answer."""
    for _ in range(int(limit / step) if server is not None else 0):
        if proc.poll() is not None:
            break
        advance(server, step)
    out, err = proc.communicate(timeout=40)
    assert proc.returncode == 0, err
    return out


def run_kubectl(server, tmp_path, *args):
    return finish(kubectl(server, tmp_path, *args), server)


def caught_up(page, server, views=True):
    """The page has every event (and, with `views`, a views refresh) at the server's present (the clock is paused)."""
    last = call(server, "GET", "")["counts"]["events"]
    wait_for(lambda: page.evaluate("() => (window.clusterscope.model.seq ?? 0)") >= last, timeout=10, message="events", page=page)
    if views:
        wait_for(lambda: page.evaluate("() => (window.clusterscope.model.viewsAppliedSeq ?? -1)") >= last, timeout=10, message="a views refresh", page=page)
    page.evaluate(NEXT_FRAMES)


def advance_until(page, server, check, *, step=0.1, limit=20.0, message="condition", views=True):
    """Advance the paused cluster by `step` until `check()` (on the caught-up page) holds."""
    spent = 0.0
    while spent < limit:
        advance(server, step)
        spent += step
        caught_up(page, server, views)
        result = check()
        if result:
            return result
    raise AssertionError(f"{message}: not within {limit} virtual seconds")


def advance_until_event(server, predicate, *, step=0.1, limit=30.0, message="event"):
    """Advance the paused cluster by `step` until an event after now satisfies `predicate` (checked on the server)."""
    after = call(server, "GET", "")["counts"]["events"]
    spent = 0.0
    while spent < limit:
        advance(server, step)
        spent += step
        page_ = call(server, "GET", f"/events?after={after}&limit=5000")
        found = [e for e in page_["events"] if predicate(e)]
        if found:
            return found[0]
        after = page_["last_seq"]
    raise AssertionError(f"{message}: not within {limit} virtual seconds")


def shots(page, artifacts, moment, part="#panel-controllers"):
    """Both sizes, both themes, with `part` of the panel scrolled to the top (the cluster is paused)."""
    show = lambda p: p.evaluate("s => document.querySelector(s).scrollIntoView({block: 'start'})", part)  # noqa: E731
    screenshots(page, artifacts, f"controllers-{moment}", show=show)


def loop_row(page, loop):
    return page.locator(f".cm-loop[data-loop='{loop}']")


def graph_names(page, kind):
    return sorted(page.eval_on_selector_all(f".og-node[data-kind='{kind}']", "els => els.map((e) => e.dataset.name)"))


def node_row(page, node):
    return page.locator(f".cm-node[data-node='{node}']")


def leader_card(page):
    return page.locator(".cm-replica[data-role='leader']")


def start(server, open_page, tmp_path, deployment, replicas):
    """A fresh cluster of our own, a Deployment created by kubectl while it runs fast, then paused
    once its pods are in the owner graph. Returns the page."""
    server.api("DELETE", f"/api/clusters/{CLUSTER}")
    status, body = server.api("POST", "/api/clusters", {"name": CLUSTER, "profile": "teaching", "seed": 5, "speed": 10, "nodes": 3})
    assert status == 201, body
    page = open_page(f"/clusters/{CLUSTER}/")
    wait_connected(page)
    page.wait_for_selector(".cm-replica[data-role='leader']", timeout=20_000)
    finish(kubectl(server, tmp_path, "create", "deployment", deployment, "--image=nginx", f"--replicas={replicas}"))
    call(server, "PATCH", "/clock", {"paused": True})
    advance_until(page, server, lambda: len(graph_names(page, "Pod")) == replicas and graph_names(page, "Deployment") == [deployment], step=1, limit=40,
                  message="the Deployment's ReplicaSet and pods in the owner graph")
    return page


def test_the_lease_a_scale_and_a_foreground_deletion(server, open_page, artifacts, tmp_path):
    page = start(server, open_page, tmp_path, "web", 2)
    # --- the Lease: one replica leads, the other stands by ------------------------------------------
    page.wait_for_selector(".cm-replica[data-role='standby']")
    assert "holds the Lease" in leader_card(page).inner_text()
    assert "watches the Lease" in page.locator(".cm-replica[data-role='standby']").inner_text()
    assert len(page.locator(".cm-loop").all()) == 11
    # the controller manager's box in the control plane has its live line
    first_leader = leader_card(page).get_attribute("data-replica")
    page.wait_for_selector(f".comp[data-component='{first_leader}'] .cm-live")

    [rs] = graph_names(page, "ReplicaSet")
    assert rs.startswith("web-")
    # calm when nothing happens: let everything settle, then nothing is lit. A paused page keeps a
    # reconcile of the last 1.5 virtual s lit, and periodic ones (resyncs, the Lease) may land
    # there depending on when the start paused the clock: step on until the newest is older.
    advance(server, 20)
    for _ in range(20):
        summary = call(server, "GET", "")
        recent = call(server, "GET", f"/events?after={max(0, summary['counts']['events'] - 2000)}&limit=5000")["events"]
        if not any(e["kind"] == "controller.reconcile" and e["time"] > summary["time"] - 1.6 for e in recent):
            break
        advance(server, 0.5)
    caught_up(page, server)
    page.wait_for_timeout(2600)
    page.evaluate(NEXT_FRAMES)
    assert page.locator(".cm-loop[data-lit='true']").count() == 0
    shots(page, artifacts, "calm")

    # --- kubectl scale lights the ReplicaSet loop with its sentence -----------------------------------
    proc = kubectl(server, tmp_path, "scale", "deployment", "web", "--replicas=4")
    wanted = re.compile(rf"ReplicaSet default/{re.escape(rs)}: want 4, have 2, creating 2 pods")

    event = advance_until_event(server, lambda e: e["kind"] == "controller.reconcile" and wanted.search(e["summary"]), message="the ReplicaSet's reconcile")
    caught_up(page, server, views=False)  # the clock is paused within 0.1 s of it: the row is lit and stays lit
    row = loop_row(page, "replicaset")
    assert row.get_attribute("data-lit") == "true"
    assert event["summary"] in row.inner_text()
    assert loop_row(page, "replicaset").locator(".cm-lit-word").is_visible()  # "⟳ reconciling", not colour alone
    live = page.locator(".comp[data-cm-role='leader'] .cm-live").inner_text()
    assert "⟳" in live
    shots(page, artifacts, "scale")
    finish(proc, server)
    advance_until(page, server, lambda: len(graph_names(page, "Pod")) == 4, step=0.5, limit=10, message="four pods in the owner graph")

    # --- foreground deletion drawn over the owner graph ------------------------------------------------
    run_kubectl(server, tmp_path, "delete", "deployment", "web", "--cascade=foreground", "--wait=false")

    def waiting_in_the_foreground():
        deploy = page.locator(".og-node[data-kind='Deployment'][data-name='web']")
        return deploy.count() and deploy.get_attribute("data-state") == "foreground" and page.locator(".og-node[data-kind='Pod'][data-state='deleting']").count()

    advance_until(page, server, waiting_in_the_foreground, step=0.25, limit=10, message="the Deployment waiting in the foreground for its dependents")
    deploy = page.locator(".og-node[data-kind='Deployment'][data-name='web']")
    assert "waits until its dependents are gone" in deploy.inner_text()
    assert "Foreground" in page.locator(".cm-cascade").inner_text()
    shots(page, artifacts, "foreground")
    advance_until(page, server, lambda: not graph_names(page, "Deployment") and not graph_names(page, "Pod"), step=1, limit=60,
                  message="the Deployment, its ReplicaSet and pods all gone")
    assert "removing its foregroundDeletion finalizer" in page.locator(".cm-cascade").inner_text()

    assert not page.problems, page.problems


def test_a_crashed_node_counts_down_to_notready_and_eviction(server, open_page, artifacts, tmp_path):
    page = start(server, open_page, tmp_path, "api", 3)
    # --- a node crashes: heartbeats stop, NotReady, then eviction ------------------------------------------
    advance(server, 10)
    node = "node-2"
    call(server, "POST", "/faults", {"action": "crash", "target": node})
    advance(server, 3)  # a heartbeat already on its way when the node crashed still lands
    caught_up(page, server)
    before = float(node_row(page, node).locator(".cm-countdown").first.get_attribute("data-left"))
    advance(server, 10)
    caught_up(page, server)
    after = float(node_row(page, node).locator(".cm-countdown").first.get_attribute("data-left"))
    assert 9 <= before - after <= 11, (before, after)  # the countdown runs with virtual time
    assert "✓ Ready" in node_row(page, node).inner_text()
    assert int(re.search(r"(\d+) s ago", node_row(page, node).locator(".cm-beat").inner_text()).group(1)) >= 10
    shots(page, artifacts, "node-silent")
    advance_until(page, server, lambda: node_row(page, node).get_attribute("data-ready") == "Unknown", step=1, limit=45, message="node NotReady")
    status = node_row(page, node).locator(".cm-status").inner_text()
    assert "NotReady" in status and "(Unknown)" in status
    assert "NodeLifecycle" in loop_row(page, "nodelifecycle").inner_text() or "Node node-2" in loop_row(page, "nodelifecycle").inner_text()
    evict = node_row(page, node).locator(".cm-evict")
    advance_until(page, server, lambda: evict.get_attribute("data-left") is not None, step=1, limit=15, message="the eviction countdown")
    assert re.search(r"evicts \d+ pods? in [45]:\d\d", evict.inner_text()), evict.inner_text()
    shots(page, artifacts, "node-notready", part=".cm-graph")
    left = float(evict.get_attribute("data-left"))
    advance(server, left + 2)
    advance_until(page, server, lambda: "evicted" in evict.inner_text(), step=1, limit=10, message="the pods evicted")
    # the node comes back through its button: Ready again, its taints go, the countdown runs again
    page.get_by_role("button", name=f"Restart {node}").click()
    advance_until(page, server, lambda: node_row(page, node).get_attribute("data-ready") == "True", step=1, limit=30, message="the node Ready again")
    assert node_row(page, node).get_by_role("button", name=f"Crash {node}").is_visible()

    assert not page.problems, page.problems


def test_the_standby_takes_over_and_broken_watches_are_relisted(server, open_page, artifacts, tmp_path):
    page = start(server, open_page, tmp_path, "api", 2)
    # --- the leader fails: the standby counts down to its takeover, then leads ---------------------------------
    leader = leader_card(page).get_attribute("data-replica")
    page.get_by_role("button", name=f"Crash {leader}").click()  # the replica card's button: POST /faults
    wait_for(lambda: page.locator(f".cm-replica[data-replica='{leader}'] .cm-fault").get_attribute("data-action") == "restart", timeout=10,
             message="the crashed replica offers a restart", page=page)
    advance(server, 6)
    caught_up(page, server)
    standby = page.locator(".cm-replica[data-role='standby']")
    assert re.search(r"leader silent: takes over in \d+ s", standby.inner_text()), standby.inner_text()
    assert page.locator(f".cm-replica[data-replica='{leader}']").get_attribute("data-role") == "down"
    shots(page, artifacts, "takeover")
    advance_until(page, server, lambda: leader_card(page).count() and leader_card(page).get_attribute("data-replica") != leader, step=1, limit=30,
                  message="the standby leads")

    # --- the API server restarts: every watch died with it, so every informer re-lists ------------------------
    # (Injected loss between the leader and the API server breaks its watches too, but it also loses
    # a lease renewal, and a leader that cannot renew for 10 s steps down: a hand-over, not a re-list.)
    new_leader = leader_card(page).get_attribute("data-replica")
    call(server, "POST", "/faults", {"action": "crash", "target": "kube-apiserver"})
    advance(server, 1)
    call(server, "POST", "/faults", {"action": "restart", "target": "kube-apiserver"})
    advance_until(page, server, lambda: page.locator(".cm-act[data-kind='relisted']").count(), step=1, limit=30, message="re-lists after the API server restarted")
    assert leader_card(page).get_attribute("data-replica") == new_leader
    assert "re-list" in page.locator(".cm-activity").inner_text()
    assert page.locator(".cm-chip-relist").count() >= 1
    shots(page, artifacts, "relist", part=".cm-informers")
    assert not page.problems, page.problems
    server.api("DELETE", f"/api/clusters/{CLUSTER}")
