"""The scheduler panel against the real server: a pod too big for every node (6 cpu; nodes
have 4) waits in the unschedulable queue with Kubernetes' FailedScheduling message and a
decision table whose every cell matches the decision record from REST; its history lists the
attempt; a node added through REST (8 cpu) lets it through: the table of the new attempt has
the score columns, the totals and the chosen node of the record, and the binding goes to the
API server as a "bind" pill; the history then holds both attempts, and "Show its table" holds
an older table while new pods are scheduled. The scheduler's box counts the queue.

Screenshots: test-artifacts/scheduler-<moment>-<width>-<theme>.png, taken while paused.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest

from .helpers import screenshots, wait_connected, wait_for

pytestmark = pytest.mark.browser

CLUSTER = "sched-panel"
# What the page's table says: columns by point, and every row's cells
TABLE = """() => {
  const t = document.querySelector('.sched-table');
  const cols = (point) => [...t.querySelectorAll(`thead th[data-point='${point}']`)].map((th) => [th.dataset.plugin, th.dataset.weight ?? null]);
  const rows = [...t.querySelectorAll('tbody tr')].map((tr) => ({
    node: tr.dataset.node, outcome: tr.dataset.outcome,
    tag: tr.querySelector('.tag')?.textContent ?? null,
    filters: Object.fromEntries([...tr.querySelectorAll('td.f-cell')].map((td) => [td.dataset.plugin, [td.dataset.status, td.textContent.trim()]])),
    scores: Object.fromEntries([...tr.querySelectorAll('td.s-cell[data-plugin]')].map((td) => [td.dataset.plugin, [Number(td.dataset.raw), Number(td.dataset.normalized)]])),
    total: tr.querySelector('td.total').textContent.trim(),
  }));
  const d = document.querySelector('.sched-decision');
  return {pod: d.dataset.pod, attempt: Number(d.dataset.attempt), filters: cols('filter'), scores: cols('score'), rows};
}"""


def kube_pod(name, cpu):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": cpu}}}]}}


def create_pod(server, name, cpu):
    status, body = server.api("POST", f"/k8s/{CLUSTER}/api/v1/namespaces/default/pods", kube_pod(name, cpu))
    assert status == 201, body


def clock(server, **patch):
    status, body = server.api("PATCH", f"/api/clusters/{CLUSTER}/clock", patch)
    assert status == 200, body


def record(server, pod):
    status, body = server.api("GET", f"/api/clusters/{CLUSTER}/scheduler/pods/default/{pod}")
    assert status == 200, body
    return body["attempts"]


def scheduler_view(server):
    status, state = server.api("GET", f"/api/clusters/{CLUSTER}/state")
    assert status == 200
    return next(c for c in state["components"] if c["name"] == "kube-scheduler")


def binding_in_flight(server):
    status, state = server.api("GET", f"/api/clusters/{CLUSTER}/state")
    return any(m["source"] == "kube-scheduler" and m["target"] == "kube-apiserver" for m in state["network"]["in_flight"])


def expected_table(attempt, profile):
    """The table the page should draw from a decision record (the README's rules)."""
    skipped = set(attempt["skipped"]["filter"])
    filters = [name for name, _ in profile["points"]["filter"] if name not in skipped]
    rows = {}
    for row in attempt["nodes"]:
        verdicts = {f["plugin"]: f for f in row["filters"]}
        cells = {}
        for plugin in filters:
            f = verdicts.get(plugin)
            cells[plugin] = ("not-run", "—") if f is None else ("pass", "✓ pass") if f["status"] == "Success" else ("fail", f"✕ {f['reason']}")
        rows[row["name"]] = {
            "filters": cells,
            "scores": {s["plugin"]: [s["raw"], s["normalized"]] for s in row["scores"]},
            "total": "—" if row["total"] is None else str(row["total"]),
            "outcome": "chosen" if row["name"] == attempt["node"] else "feasible" if row["total"] is not None else "rejected",
        }
    return filters, rows


def assert_table_matches(page, attempt, profile, pod):
    filters, rows = expected_table(attempt, profile)
    # the panel names the attempt at once and draws its full table when the record's fetch returns
    page.wait_for_function("([pod, attempt, n]) => { const d = document.querySelector('.sched-decision');"
                           " return d.dataset.pod === pod && d.dataset.attempt === attempt && d.querySelectorAll('.sched-table thead th[data-point=filter]').length === n; }",
                           arg=[f"default/{pod}", str(attempt["attempt"]), len(filters)])
    shown = page.evaluate(TABLE)
    assert (shown["pod"], shown["attempt"]) == (f"default/{pod}", attempt["attempt"])
    assert [name for name, _ in shown["filters"]] == filters
    weights = attempt["weights"]
    assert shown["scores"] == [[plugin, str(weights[plugin])] for plugin in weights if any(s["plugin"] == plugin for r in attempt["nodes"] for s in r["scores"])]
    assert {r["node"] for r in shown["rows"]} == set(rows)
    for r in shown["rows"]:
        want = rows[r["node"]]
        assert r["filters"] == {k: list(v) for k, v in want["filters"].items()}, r["node"]
        assert r["scores"] == want["scores"] and r["total"] == want["total"] and r["outcome"] == want["outcome"], r["node"]
    if attempt["node"]:
        first = shown["rows"][0]
        assert first["node"] == attempt["node"] and first["tag"] == "★ chosen"  # the winner in words, first
    return shown


def shots(page, artifacts, moment):
    def show(p):
        p.locator("#panel-scheduler").scroll_into_view_if_needed()

    screenshots(page, artifacts, f"scheduler-{moment}", show=show)


@pytest.fixture
def cluster(server):
    server.api("DELETE", f"/api/clusters/{CLUSTER}")
    status, body = server.api("POST", "/api/clusters", {"name": CLUSTER, "etcd_members": 1, "nodes": 2, "profile": "teaching", "seed": 3, "speed": 10, "paused": False})
    assert status == 201, body
    wait_for(lambda: scheduler_view(server)["phase"] == "ready" and scheduler_view(server)["cache"]["nodes"] == 2, timeout=30, message="the scheduler has listed both nodes")
    yield
    server.api("DELETE", f"/api/clusters/{CLUSTER}")


def test_queue_table_history_and_binding(server, open_page, artifacts, cluster):
    page = open_page(f"/clusters/{CLUSTER}/")
    wait_connected(page, 30_000)
    profile = scheduler_view(server)["profile"]

    # --- unschedulable for cpu: the queue, the table, Kubernetes' words -----------------------
    create_pod(server, "big", "6")
    unschedulable = page.locator(".sched-q[data-queue='unschedulable'] .sched-pod[data-pod='default/big']")
    unschedulable.wait_for(timeout=20_000)
    clock(server, paused=True)
    page.wait_for_selector("#btn-play[data-paused=true]")
    [first] = record(server, "big")
    assert first["result"] == "unschedulable"
    page.wait_for_function("() => document.querySelector('.sched-decision')?.dataset.pod === 'default/big' && document.querySelector('.sched-table thead th[data-point]')")
    shown = assert_table_matches(page, first, profile, "big")
    assert {r["filters"]["NodeResourcesFit"][1] for r in shown["rows"]} == {"✕ Insufficient cpu"}
    assert page.locator(".sched-failed .k8s-text").inner_text() == first["message"]
    assert first["message"].startswith("0/2 nodes are available: 2 Insufficient cpu. preemption: ")
    assert "rejected by NodeResourcesFit" in page.locator(".sched-q[data-queue='unschedulable'] li").first.inner_text()
    assert page.locator(".sched-subset").inner_text() == "Examined 2 of 2 node(s), 0 feasible. Why: 2 node(s): below 100, every node is examined."
    live = page.locator("[data-component='kube-scheduler'] .comp-live[data-panel='scheduler'] .live-text")
    assert live.inner_text() == "queue: 0 active · 0 back-off · ⊘ 1 unschedulable"
    # the table of the latest attempt stays while paused
    page.wait_for_timeout(600)
    assert page.evaluate(TABLE)["attempt"] == 1 and "paused" in page.locator(".sched-mode").inner_text()

    # its history, from the queue
    unschedulable.click()
    attempts = page.locator(".sched-history .sched-attempt")
    attempts.first.wait_for()
    assert attempts.count() == 1 and attempts.first.get_attribute("data-result") == "unschedulable"
    assert first["message"] in attempts.first.locator(".k8s-message").inner_text()
    shots(page, artifacts, "unschedulable")

    # --- a bigger node arrives: the pod is scheduled there ------------------------------------
    status, body = server.api("POST", f"/api/clusters/{CLUSTER}/nodes", {"name": "node-big", "cpu": "8", "memory": "16Gi"})
    assert status in (200, 201), body
    # advance the paused clock in small steps until the Binding request is on the wire
    for _ in range(1500):
        status, body = server.api("POST", f"/api/clusters/{CLUSTER}/advance", {"seconds": 0.04})
        assert status == 200, body
        latest = record(server, "big")[-1]
        if latest["attempt"] == 2 and latest["binding"] == "pending" and binding_in_flight(server):
            break
    else:
        raise AssertionError("the second attempt never sent its Binding")
    page.wait_for_selector(".sched-decision[data-pod='default/big'][data-attempt='2'] .sched-binding[data-state='sent']", timeout=20_000)
    # the binding request flies as a "bind" pill from the scheduler to the API server
    assert "binding → kube-apiserver: POST pods/big/binding {target: node-big}, in flight" in page.locator(".sched-binding").inner_text()
    page.wait_for_selector("#dots-layer .msg-dot.is-binding")
    assert page.locator("#dots-layer .msg-dot.is-binding").count() == 1
    assert page.locator("[data-component='kube-scheduler'] .live-bind").inner_text() == "⇢ binding default/big → kube-apiserver"
    shots(page, artifacts, "binding")
    clock(server, paused=False, speed=10)
    page.wait_for_selector(".sched-binding[data-state='bound']", timeout=20_000)
    clock(server, paused=True)
    page.wait_for_selector("#btn-play[data-paused=true]")
    second = record(server, "big")[-1]
    assert second["attempt"] == 2 and second["result"] == "scheduled" and second["node"] == "node-big"
    shown = assert_table_matches(page, second, profile, "big")
    assert [r["outcome"] for r in shown["rows"]].count("chosen") == 1
    assert "✓ bound" in page.locator(".sched-binding").inner_text()
    assert page.locator(".sched-outcome").inner_text().startswith(f"★ node-big chosen at {second['time']:.3f} s: {second['why']}")
    # the history followed: both attempts
    wait_for(lambda: attempts.count() == 2, page=page, message="the history shows the second attempt")
    assert [attempts.nth(i).get_attribute("data-result") for i in range(2)] == ["unschedulable", "scheduled"]
    assert "binding: bound" in attempts.nth(1).inner_text()
    shots(page, artifacts, "scheduled")

    # --- hold an older table while the clock runs ---------------------------------------------
    attempts.first.get_by_role("button", name="Show its table").click()
    page.wait_for_selector(".sched-decision[data-attempt='1']")
    hold = page.locator(".sched-hold")
    assert hold.get_attribute("aria-pressed") == "true" and page.locator(".sched-mode").inner_text() == "held"
    assert_table_matches(page, first, profile, "big")
    clock(server, paused=False, speed=10)
    create_pod(server, "web", "1")
    wait_for(lambda: any(a["result"] == "scheduled" for a in (server.api("GET", f"/api/clusters/{CLUSTER}/scheduler/pods/default/web")[1] or {}).get("attempts", [])),
             timeout=20, message="web scheduled")
    page.wait_for_timeout(300)
    assert page.evaluate(TABLE)["pod"] == "default/big" and page.evaluate(TABLE)["attempt"] == 1  # held
    clock(server, paused=True)
    page.wait_for_selector("#btn-play[data-paused=true]")
    hold.click()  # follow the newest again
    page.wait_for_selector(".sched-decision[data-pod='default/web']")
    assert hold.get_attribute("aria-pressed") == "false"
    assert_table_matches(page, record(server, "web")[-1], profile, "web")
    # the pod of the table opens its history
    page.locator(".sched-decision-head .sched-pod").click()
    page.wait_for_selector(".sched-history .sched-h code:text('default/web')")
    page.locator(".sched-history .sched-attempt").first.wait_for()  # the history's rows come with its fetch, after its head
    assert page.locator(".sched-history .sched-attempt").count() == 1
    # so does a pod in a node card (data-pod, drawn by the nodes area), when the cards draw pods
    in_card = page.locator("#nodes-body [data-pod='default/big']")
    if in_card.count():
        in_card.first.click()
        page.wait_for_selector(".sched-history .sched-h code:text('default/big')")
    assert page.problems == []


def test_preemption_shows_the_nominated_node_and_its_victims(server, open_page, artifacts, cluster):
    page = open_page(f"/clusters/{CLUSTER}/", width=1366, height=768)
    wait_connected(page, 30_000)
    for name in ("low-1", "low-2"):
        create_pod(server, name, "3")
    wait_for(lambda: all([a["binding"] for a in record(server, n)][-1:] == ["bound"] for n in ("low-1", "low-2")), timeout=30, message="both low pods bound")
    clock(server, paused=True)
    vip = kube_pod("vip", "3")
    vip["spec"]["priority"] = 1000
    # the create needs the clock: run it, then stop at the first attempt of vip
    clock(server, paused=False, speed=1)
    status, body = server.api("POST", f"/k8s/{CLUSTER}/api/v1/namespaces/default/pods", vip)
    assert status == 201, body
    clock(server, paused=True)
    for _ in range(400):
        status, body = server.api("GET", f"/api/clusters/{CLUSTER}/scheduler/pods/default/vip")
        if status == 200 and body["attempts"]:
            break
        assert server.api("POST", f"/api/clusters/{CLUSTER}/advance", {"seconds": 0.05})[0] == 200
    [first] = record(server, "vip")
    assert first["result"] == "unschedulable" and first["nominated_node"] in ("node-1", "node-2") and len(first["victims"]) == 1
    page.wait_for_selector(".sched-decision[data-pod='default/vip'][data-attempt='1'] .sched-table thead th[data-point]")
    assert_table_matches(page, first, scheduler_view(server)["profile"], "vip")
    nominated = page.locator(f".sched-table tbody tr[data-node='{first['nominated_node']}'] .tag-nominated")
    assert nominated.inner_text() == "⚑ nominated"
    line = page.locator(".sched-preemption")
    assert f"DefaultPreemption nominated {first['nominated_node']}" in line.inner_text()
    victims = line.locator(".sched-pod")
    assert [victims.nth(i).get_attribute("data-pod") for i in range(victims.count())] == first["victims"]
    assert page.locator(".sched-failed .k8s-text").inner_text() == first["message"]
    # a victim's own history: it was scheduled once
    victims.first.click()
    page.wait_for_selector(f".sched-history .sched-h code:text('{first['victims'][0]}')")
    page.locator(".sched-history .sched-attempt").first.wait_for()
    assert page.locator(".sched-history .sched-attempt").first.get_attribute("data-result") == "scheduled"
    shots(page, artifacts, "preemption")
    assert page.problems == []


def test_a_large_cluster_shows_the_examined_subset_and_why(server, open_page, artifacts):
    """260 Node objects (no kubelets: they are tainted unreachable, so the pod tolerates every
    taint): the adaptive percentageOfNodesToScore is 50 − 260/125 = 48%, 124 feasible nodes end
    the search, and the record keeps 100 of those rows."""
    name = "sched-large"
    server.api("DELETE", f"/api/clusters/{name}")
    status, body = server.api("POST", "/api/clusters", {"name": name, "etcd_members": 1, "nodes": 0, "profile": "realistic", "seed": 2, "speed": 1, "paused": False})
    assert status == 201, body

    def create_node(i):
        node = f"n-{i:03}"
        resources = {"cpu": "4", "memory": "8Gi", "pods": "110"}
        body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node, "labels": {"kubernetes.io/hostname": node}},
                "status": {"allocatable": resources, "capacity": resources}}
        return server.api("POST", f"/k8s/{name}/api/v1/nodes", body)[0]

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(create_node, range(260))) == {201}
    page = open_page(f"/clusters/{name}/")
    wait_connected(page, 30_000)
    pod = kube_pod("wide", "1")
    pod["spec"]["tolerations"] = [{"operator": "Exists"}]
    status, body = server.api("POST", f"/k8s/{name}/api/v1/namespaces/default/pods", pod)
    assert status == 201, body
    page.wait_for_selector(".sched-decision[data-pod='default/wide'] .sched-table thead th[data-point='score']", timeout=20_000)
    server.api("PATCH", f"/api/clusters/{name}/clock", {"paused": True})
    page.wait_for_selector("#btn-play[data-paused=true]")
    status, body = server.api("GET", f"/api/clusters/{name}/scheduler/pods/default/wide")
    attempt = body["attempts"][-1]
    assert (attempt["result"], attempt["examined"], attempt["feasible"], attempt["rows_omitted"], len(attempt["nodes"])) == ("scheduled", 124, 124, 24, 100)
    why = attempt["percentage"]["why"]
    assert why.startswith("260 nodes: percentageOfNodesToScore adaptive 48% = 50 − 260/125 → the search stops after 124 feasible node(s)")
    assert page.locator(".sched-subset").inner_text() == f"Examined 124 of 260 node(s), 124 feasible. Why: {why}."
    assert page.locator(".sched-omitted").inner_text().startswith("24 more examined node(s) are not listed")
    assert page.locator(".sched-table tbody tr").count() == 100
    assert page.locator(".sched-table tbody tr").first.get_attribute("data-node") == attempt["node"]
    page.locator("#panel-scheduler").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "scheduler-large-1920-light.png")
    assert page.problems == []
    server.api("DELETE", f"/api/clusters/{name}")
