"""The worker-nodes area at scale (issue 12, item 3) against a real server: a paused cluster of
130 nodes plus three in their own zone, one of them crashed, so every count is exact.

The area becomes a heat map (render/nodemap/): the summary and the canvas's words give the
counts, the table a row per group; zooming into a group (keyboard) shows its nodes as cells,
clicking a node's cell opens its card with its whole view (GET /state?detail=), Esc and the
breadcrumb go back, and a group of three nodes opens as cards at once. The page keeps
animating while a burst of events arrives, and what it holds stays bounded: the event log's
rows, the kept events, the messages, the kubelets' steps.

The server is this module's own (the default limit is 50 nodes a cluster).
Screenshots: test-artifacts/scale-<moment>-<width>-<theme>.png.
"""

import json
import shutil

import pytest

from .conftest import Server, free_port
from .helpers import NEXT_FRAMES, screenshots, wait_connected, wait_for

pytestmark = pytest.mark.browser

NAME = "big"
NODES = 130  # over the heat map's threshold (61): groups node-1 … node-100 and node-101 … node-130
ZONE = "topology.kubernetes.io/zone"


@pytest.fixture(scope="module")
def big_server(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("clusterscope-scale-var")
    srv = Server(var_dir, free_port())
    srv.env["CLUSTERSCOPE_LIMITS"] = json.dumps({"nodes_per_cluster": 300})
    srv.migrate()
    srv.start()
    status, body = srv.api("POST", "/api/clusters", {"name": NAME, "nodes": NODES, "etcd_members": 1, "seed": 5, "paused": True, "profile": "realistic"})
    assert status == 201, body
    for i in (1, 2, 3):
        status, body = srv.api("POST", f"/api/clusters/{NAME}/nodes", {"name": f"edge-{i}", "labels": {ZONE: "edge"}})
        assert status == 201, body
    advance(srv, 15)  # every node registered and Ready
    status, body = srv.api("POST", f"/api/clusters/{NAME}/faults", {"action": "crash", "target": "node-7"})
    assert status == 200, body
    advance(srv, 60)  # no heartbeat for 40 s: the node lifecycle controller marks it Unknown
    yield srv
    srv.stop()
    shutil.rmtree(var_dir, ignore_errors=True)


def advance(server, seconds):
    status, body = server.api("POST", f"/api/clusters/{NAME}/advance", {"seconds": seconds})
    assert status == 200, body
    return body


def open_big(browser, server, *, width=1920, height=1080):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.goto(f"{server.url}/clusters/{NAME}/")
    wait_connected(page, 20_000)
    page.wait_for_selector(".nodemap:not([hidden]) .nodemap-canvas")
    wait_for(lambda: summary(page).startswith("133 nodes"), 20, message="the map's summary (the views come by GET /state)", page=page)
    return page


def summary(page):
    return page.locator(".nodemap-summary").inner_text()


def table_rows(page):
    page.evaluate("document.querySelector('.nodemap-table').open = true")
    page.evaluate(NEXT_FRAMES)
    page.wait_for_timeout(1100)  # the table is redrawn at most once a second
    return page.locator(".nodemap-table tr").evaluate_all("rows => rows.slice(1).map((r) => [...r.cells].map((c) => c.textContent))")


def test_a_large_cluster_is_a_heat_map_with_its_counts(browser, big_server, artifacts):
    page = open_big(browser, big_server)
    assert page.locator("#nodes-body .node-card").count() == 0
    text = summary(page)
    assert "133 nodes" in text and "✓ 132 Ready" in text and "✕ 1 not ready" in text and "0 pods" in text, text
    label = page.locator(".nodemap-canvas").get_attribute("aria-label")
    assert "133 nodes in 3 groups, by zone, the rest in blocks of 100 by name" in label and "✕ 1 not ready" in label, label
    assert page.locator(".nodemap-crumb[aria-current]").inner_text() == "All nodes (3 groups)"
    # the area's note follows the node views, which may land a refresh after the map's summary
    wait_for(lambda: "132 of 133 Ready" in page.locator("#nodes-note").inner_text(), timeout=20, page=page, message="the nodes note")
    rows = table_rows(page)
    assert [r[:4] for r in rows] == [["edge", "3", "3", "0"], ["node-1 … node-100", "100", "99", "✕ 1"], ["node-101 … node-130", "30", "30", "0"]]
    # the large cluster's views are compact: no kubelet carries its pods
    assert page.evaluate("window.clusterscope.model.extra.scale.compact") is True
    assert page.evaluate("[...window.clusterscope.model.components.values()].filter((v) => v.kind === 'kubelet' && v.pods).length") == 0
    screenshots(page, artifacts, "scale-map", show=lambda p: p.evaluate("document.querySelector('.nodes').scrollIntoView()"))
    assert not page.problems, page.problems
    page.context.close()


def test_the_node_lifecycle_table_lists_the_nodes_in_trouble_and_counts_them_all(browser, big_server, artifacts):
    # a row per node (1,000 rows ticking every second) laid the whole page out each frame: at heat
    # map scale the controller manager's table keeps 20 rows, the Unknown node first, and a line counts all
    page = open_big(browser, big_server)
    line = page.locator(".cm-node-summary")
    wait_for(lambda: line.is_visible() and line.inner_text().startswith("133 nodes"), 20, message="the node lifecycle summary", page=page)
    text = line.inner_text()
    assert text.startswith("133 nodes · ✓ 132 Ready · ✕ 1 NotReady · 0 evicting. The table lists 20 of them"), text
    rows = page.locator(".cm-node-table tbody tr")
    assert rows.count() == 20
    names = rows.evaluate_all("rs => rs.map((r) => r.dataset.node)")
    assert names[0] == "node-7" and len(set(names)) == 20, names
    first = rows.nth(0)
    assert first.get_attribute("data-ready") == "Unknown" and "NotReady" in first.locator(".cm-status").inner_text()
    assert first.locator(".cm-fault").inner_text() == "↻ Restart"  # its host is down: the row still offers the restart
    assert rows.evaluate_all("rs => rs.slice(1).every((r) => r.dataset.ready === 'True')")
    screenshots(page, artifacts, "scale-node-lifecycle", show=lambda p: p.evaluate("document.querySelector('.cm-nodes').scrollIntoView()"))
    assert not page.problems, page.problems
    page.context.close()

def test_zoom_into_a_group_then_a_node_and_back(browser, big_server, artifacts):
    page = open_big(browser, big_server)
    canvas = page.locator(".nodemap-canvas")
    canvas.focus()
    page.keyboard.press("ArrowRight")  # the cells: edge, node-1 … node-100, node-101 … node-130
    wait_for(lambda: page.locator(".nodemap-focus").inner_text().startswith("node-1 … node-100: 100 nodes"), 15, message="the focused cell's words", page=page)
    page.keyboard.press("Enter")
    wait_for(lambda: summary(page).startswith("node-1 … node-100: 100 nodes"), 15, message="the group's summary", page=page)
    assert "✕ 1 not ready" in summary(page)
    assert "nodes of node-1 … node-100" in canvas.get_attribute("aria-label")
    assert page.locator(".nodemap-crumb").all_inner_texts() == ["All nodes (3 groups)", "node-1 … node-100"]
    rows = table_rows(page)
    assert len(rows) == 100 and rows[6][0] == "node-7" and rows[6][3] == "✕ 1" and rows[0][2] == "1"
    screenshots(page, artifacts, "scale-group", show=lambda p: p.evaluate("document.querySelector('.nodes').scrollIntoView()"))
    # a node's cell (the first: node-1) opens its card, with its whole view from GET /state?detail=
    box = canvas.bounding_box()
    canvas.click(position={"x": 6, "y": 6})
    page.wait_for_selector('.node-card[data-node="node-1"] [data-component="node-1/kubelet"]')
    assert page.locator(".nodemap-canvas-wrap").is_hidden() and box["height"] > 0
    wait_for(lambda: page.evaluate("window.clusterscope.model.extra.scale.detail.join()") == "node-1", 20, message="node-1 in full detail", page=page)
    wait_for(lambda: page.locator('.node-card[data-node="node-1"] .node-pods-title').text_content() == "no pods", 15, message="the whole view", page=page)
    assert page.locator(".node-card").count() == 1 and summary(page).startswith("node-1: 1 node · ✓ 1 Ready")
    assert page.locator(".nodemap-crumb").all_inner_texts() == ["All nodes (3 groups)", "node-1 … node-100", "node-1"]
    screenshots(page, artifacts, "scale-node")
    # Esc goes back to the group's cells, the breadcrumb to the top
    page.locator(".nodemap-up").focus()
    page.keyboard.press("Escape")
    page.wait_for_selector(".nodemap-canvas-wrap:not([hidden])")
    assert page.locator(".node-card").count() == 0 and summary(page).startswith("node-1 … node-100")
    page.locator(".nodemap-crumb", has_text="All nodes").click()
    wait_for(lambda: summary(page).startswith("133 nodes"), 15, message="the top level", page=page)
    # a group of three nodes opens as cards at once (the table's zoom button)
    table_rows(page)
    page.get_by_role("button", name="Zoom into edge").click()
    page.wait_for_selector('.node-card[data-node="edge-3"]')
    assert sorted(page.locator(".node-card").evaluate_all("cs => cs.map((c) => c.dataset.node)")) == ["edge-1", "edge-2", "edge-3"]
    assert summary(page).startswith("edge: 3 nodes · ✓ 3 Ready")
    page.get_by_role("button", name="↑ Back").click()
    wait_for(lambda: summary(page).startswith("133 nodes"), 15, message="back at the top", page=page)
    assert not page.problems, page.problems
    page.context.close()


def test_a_burst_of_events_keeps_the_page_moving_and_bounded(browser, big_server):
    page = open_big(browser, big_server, width=1366, height=768)
    before = page.evaluate("window.clusterscope.model.eventsTotal")
    big_server.api("PATCH", f"/api/clusters/{NAME}/clock", {"paused": False, "speed": 2})
    try:
        # 133 kubelets renewing Leases and writing status, through Raft: thousands of events
        wait_for(lambda: page.evaluate("window.clusterscope.model.eventsTotal") - before > 5000, 60, interval=0.5, message="5,000 events", page=page)
        frames = page.evaluate("() => new Promise((done) => { let n = 0; const tick = () => { n += 1; if (n < 10) requestAnimationFrame(tick); else done(n); }; requestAnimationFrame(tick); })")
        assert frames == 10  # the animation loop still turns
        page.locator(".nodemap-canvas").focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("Enter")
        wait_for(lambda: summary(page).startswith("node-1 … node-100"), 20, message="a zoom while events pour in", page=page)
    finally:
        big_server.api("PATCH", f"/api/clusters/{NAME}/clock", {"paused": True})
    held = page.evaluate("""() => {
      const m = window.clusterscope.model;
      return { rows: document.querySelectorAll('#event-log > li').length, events: m.events.length, total: m.eventsTotal,
               messages: m.messages.size, steps: m.nodes ? m.nodes.steps.size : 0, requests: m.requests ? m.requests.size : 0 };
    }""")
    assert held["total"] - before > 5000
    assert held["rows"] <= 500, held  # eventlog.js MAX_ROWS
    assert held["events"] <= 3000, held  # model.js MAX_EVENTS_KEPT × 1.5
    assert held["messages"] <= 20000 and held["requests"] <= 300, held
    assert not page.problems, page.problems
    page.context.close()
