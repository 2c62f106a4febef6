"""The Services and traffic panel against the real server: traffic to the demo `web` Service is
started from the panel's form; as virtual time advances (REST, the cluster paused) the
per-pod counters rise and equal GET /traffic, the bars show each pod's share next to the
expected one, the rule each request took is marked in its node's chain, and requests are drawn
over the stage client -> rules -> pod. Clicking a node card opens that node's rules
(iptables-save). A pod is deleted through the kube API: the panel shows the change travelling
EndpointSlice controller -> API server -> each kube-proxy, node by node, and marks the requests
that still went to the pod through old rules; once every node has the change, no new request
reaches it.

Screenshots: test-artifacts/traffic-<moment>-<width>-<theme>.png (taken while paused).
"""

import threading
import urllib.request

import pytest

from .helpers import wait_connected, wait_for

pytestmark = pytest.mark.browser

SIZES = [(1920, 1080), (1366, 768)]
NEXT_FRAMES = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(done))))"
DEMO = "/api/clusters/demo"
COUNTS = "() => Object.fromEntries([...document.querySelectorAll('.traffic-dist tbody tr')].map((r) => [r.dataset.pod, Number(r.dataset.count)]))"


def advance(server, seconds):
    status, body = server.api("POST", f"{DEMO}/advance", {"seconds": seconds})
    assert status == 200, body
    return body["time"]


def state(server):
    status, body = server.api("GET", f"{DEMO}/state")
    assert status == 200, body
    return body


def web_ready_everywhere(server, pods=3):
    """Advance (paused) until every kube-proxy has `pods` endpoints for default/web."""
    for _ in range(40):
        nodes = state(server)["proxy"]["nodes"]
        if nodes and all(len(n["services"].get("default/web", {}).get("pods", [])) == pods for n in nodes):
            return nodes
        advance(server, 2)
    raise AssertionError("the web Service never got its endpoints on every node")


def rest_pods(server):
    status, body = server.api("GET", f"{DEMO}/traffic")
    assert status == 200, body
    web = [s for s in body["services"] if (s["namespace"], s["name"]) == ("default", "web")]
    return web[0]["pods"] if web else {}


def shots(page, artifacts, moment, scroll_to):
    """The same moment at both sizes, light and dark (the cluster is paused)."""
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        for theme in ("light", "dark"):
            page.evaluate("t => document.documentElement.setAttribute('data-theme', t)", theme)
            page.evaluate("s => document.querySelector(s).scrollIntoView({block: 'start'})", scroll_to)
            page.evaluate(NEXT_FRAMES)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=artifacts / f"traffic-{moment}-{width}-{theme}.png")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.evaluate("document.documentElement.setAttribute('data-theme', 'light')")


def test_traffic_spreads_shows_rules_and_follows_a_deleted_pod(open_page, server, artifacts):
    server.reset_demo(paused=True)
    nodes = web_ready_everywhere(server)
    pods_by_node = {p["name"]: n["node"] for n in state(server)["nodes"] for p in n["pods"] if p["phase"] == "Running"}
    web_pods = sorted(nodes[0]["services"]["default/web"]["pods"])
    client = web_pods[0]
    client_node = pods_by_node[client]

    page = open_page("/clusters/demo/")
    wait_connected(page)
    page.wait_for_selector("#traffic-body .traffic-node")
    assert page.eval_on_selector_all(".traffic-node", "els => els.map((e) => e.dataset.node)") == sorted(n["node"] for n in nodes)
    # the chain for web on every node: three jumps, 1/3, 1/2, then always (each 33 %)
    chain = page.locator(f".traffic-node[data-node='{client_node}'] .chain-rule")
    wait_for(lambda: chain.count() == 3, page=page, message="web's three KUBE-SEP jumps")
    assert [t.split("→")[0].strip() for t in chain.locator(".rule-p").all_inner_texts()] == ["p 0.333", "p 0.500", "always"]

    # start traffic from the form: a web pod as the client (its node's rules decide)
    page.select_option("#traffic-service", "default/web")
    page.select_option("#traffic-source", f"default/{client}")
    page.fill("#traffic-rate", "20")
    page.fill("#traffic-seconds", "120")
    page.click("#traffic-send")
    wait_for(lambda: "traffic-" in page.inner_text("#traffic-form-note"), page=page, message="the generator's name")
    assert f"decided by {client_node}'s rules" in page.inner_text("#traffic-form-note")

    advance(server, 5.0)
    # requests in flight are drawn over the stage, and the rule each took is marked
    page.wait_for_selector(".traffic-layer polyline.traffic-path", timeout=10_000)
    page.wait_for_selector(f".traffic-node[data-node='{client_node}'] .chain-rule.is-last")
    wait_for(lambda: page.evaluate(COUNTS) == rest_pods(server) and sum(rest_pods(server).values()) > 0, timeout=10, page=page, message="counters equal to GET /traffic")
    first = page.evaluate(COUNTS)
    assert set(first) == set(web_pods)

    advance(server, 10.0)
    wait_for(lambda: page.evaluate(COUNTS) == rest_pods(server), timeout=10, page=page, message="counters equal to GET /traffic after 10 s more")
    counts = page.evaluate(COUNTS)
    assert all(counts[p] > first[p] for p in web_pods), (first, counts)
    total = sum(counts.values())
    assert total >= 250
    bars = page.evaluate("() => Object.fromEntries([...document.querySelectorAll('.traffic-dist tbody tr')].map((r) => [r.dataset.pod, parseFloat(r.querySelector('.dist-fill').style.width)]))")
    for pod, n in counts.items():
        assert bars[pod] == pytest.approx(100 * n / total, abs=0.01)
    texts = page.locator(".traffic-dist .dist-text").all_inner_texts()
    assert all("(expected 33 %)" in t for t in texts), texts
    shots(page, artifacts, "spread", "#panel-traffic")
    shots(page, artifacts, "stage", ".nodes")

    # a node's rules: click its card on the stage
    other_node = next(n["node"] for n in nodes if n["node"] != client_node)
    page.click(f".node-card[data-node='{other_node}'] .node-head")
    page.wait_for_selector("#traffic-viewer:not([hidden])")
    wait_for(lambda: "*nat" in page.inner_text(".traffic-rules-text"), page=page, message="iptables-save text")
    text = page.inner_text(".traffic-rules-text")
    assert text == server_rules(server, other_node)
    assert page.locator(".traffic-rules-text .is-service").count() >= 6  # KUBE-SERVICES, KUBE-SVC, KUBE-SEP lines for web
    assert f"Rules on {other_node} (iptables-save" in page.text_content(".traffic-viewer-head h3")

    # delete a pod on another node than the client's: the change travels, node by node
    victim = next(p for p in web_pods if pods_by_node[p] != client_node)
    answers = []
    deleter = threading.Thread(target=lambda: answers.append(server.api("DELETE", f"/k8s/demo/api/v1/namespaces/default/pods/{victim}")))
    deleter.start()
    window_shot = False
    for _ in range(30):
        advance(server, 0.5)
        if not window_shot and answers and page.locator(".traffic-change .change-node").count():  # (screenshots hold the clock: not before the DELETE is answered)
            page.wait_for_timeout(300)  # the events of this half second reach the page
            if page.locator(".traffic-layer .traffic-path.is-stale").count():
                window_shot = True  # a request on its way to the victim through old rules, drawn dashed with ⚠
                shots(page, artifacts, "window", ".nodes")
        nodes_now = state(server)["proxy"]["nodes"]
        if all(victim not in n["services"]["default/web"]["pods"] for n in nodes_now):
            break
    deleter.join(timeout=15)
    assert answers and answers[0][0] == 200, answers
    page.wait_for_selector(".traffic-change .change-node")
    wait_for(lambda: page.eval_on_selector_all(".change-node", "els => els.every((e) => e.dataset.settled === 'true')"), timeout=10, page=page, message="every node has the change")
    steps = page.locator(".change-step .step-text").all_inner_texts()
    assert any(f"deletes pod {victim}" in s for s in steps), steps
    assert any(s.startswith("EndpointSlice controller") for s in steps), steps
    assert any(s.startswith("API server stores EndpointSlice") for s in steps), steps
    rows = page.locator(".change-node").all_inner_texts()
    assert all(f"− {victim}" in r and "watch event" in r for r in rows), rows
    # the times at which each node's rules took the change differ: one by one
    sync_times = [n["programmed_at"] for n in state(server)["proxy"]["nodes"]]
    assert len(set(sync_times)) == len(sync_times)
    shots(page, artifacts, "change", ".traffic-change")

    # the window's requests to the victim through old rules are marked, and counted as the panel says
    stale = int(page.get_attribute(".change-stale", "data-stale"))
    marked = page.evaluate("() => [...window.clusterscope.model.traffic.requests.values()].filter((r) => r.stale).map((r) => r.pod)")
    assert set(marked) <= {victim}
    assert stale == len(marked) > 0  # 20 requests a second, a third of them to the victim until the client's node has the change
    assert f"still went to {victim}" in page.inner_text(".change-stale")

    # once every kube-proxy has the removal, no request is decided for the victim; its counter stops
    done_at = page.evaluate("() => window.clusterscope.model.traffic.episodes.get('default/web').doneAt")
    advance(server, 3.0)  # the requests in flight when the last node took the change are answered (or reset)
    before = rest_pods(server).get(victim, 0)
    advance(server, 5.0)
    wait_for(lambda: page.evaluate(COUNTS) == rest_pods(server), timeout=10, page=page, message="counters after the change")
    after = page.evaluate(COUNTS)
    assert after[victim] == before
    late = page.evaluate("t => [...window.clusterscope.model.traffic.requests.values()].filter((r) => r.t > t).map((r) => r.pod)", done_at)
    assert len(late) >= 100 and victim not in late
    row = page.inner_text(f".traffic-dist tr[data-pod='{victim}']")  # read once: it may turn from terminating to gone between reads
    assert "✕ gone" in row or "terminating" in row, row
    texts = {r: page.inner_text(f".traffic-dist tr[data-pod='{r}'] .dist-text") for r in web_pods if r != victim}
    assert all("(expected 50 %)" in t for t in texts.values()), texts
    assert page.problems == []


def server_rules(server, node):
    with urllib.request.urlopen(f"{server.url}{DEMO}/proxy/{node}/rules", timeout=10) as response:
        return response.read().decode()


IPVS = "traffic-ipvs"


def kube(server, cluster, method, path, body=None):
    """A kube API call to a paused cluster: sent from a thread while virtual time advances."""
    answers = []
    call = threading.Thread(target=lambda: answers.append(server.api(method, f"/k8s/{cluster}{path}", body)))
    call.start()
    for _ in range(60):
        if answers:
            break
        server.api("POST", f"/api/clusters/{cluster}/advance", {"seconds": 1.0})
        call.join(timeout=0.05)
    call.join(timeout=15)
    assert answers and answers[0][0] in (200, 201), answers
    return answers[0][1]


def web_app(server, cluster, replicas):
    """The Deployment "web" (nginx on port 80) and its Service, created as kubectl would."""
    kube(server, cluster, "POST", "/apis/apps/v1/namespaces/default/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
                 "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}}})
    kube(server, cluster, "POST", "/api/v1/namespaces/default/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]}})


def test_ipvs_round_robin_shows_the_virtual_server_and_exact_shares(open_page, server, artifacts):
    server.api("DELETE", f"/api/clusters/{IPVS}")
    status, body = server.api("POST", "/api/clusters", {"name": IPVS, "nodes": 3, "seed": 11, "paused": True, "proxy_mode": "ipvs", "ipvs_scheduler": "rr"})
    assert status == 201, body
    web_app(server, IPVS, replicas=3)
    for _ in range(40):
        nodes = server.api("GET", f"/api/clusters/{IPVS}/state")[1]["proxy"]["nodes"]
        if nodes and all(len(n["services"].get("default/web", {}).get("pods", [])) == 3 for n in nodes):
            break
        server.api("POST", f"/api/clusters/{IPVS}/advance", {"seconds": 2.0})
    else:
        raise AssertionError("web never got three endpoints on every node in ipvs mode")
    client = sorted(nodes[0]["services"]["default/web"]["pods"])[0]

    page = open_page(f"/clusters/{IPVS}/")
    wait_connected(page, 60_000)
    page.wait_for_selector(".traffic-node .chain-head")
    wait_for(lambda: page.locator(".traffic-node .chain-rule").count() == 9, page=page, message="three real servers on each node")
    heads = page.locator(".traffic-node .chain-head").all_inner_texts()
    assert all(h.startswith("IPVS TCP ") and h.endswith(" rr") for h in heads), heads
    assert page.locator(".traffic-node").first.locator(".chain-rule").count() == 3

    status, started = server.api("POST", f"/api/clusters/{IPVS}/traffic", {"service": "web", "rate": 30, "seconds": 10, "source": client})
    assert status == 202, started
    server.api("POST", f"/api/clusters/{IPVS}/advance", {"seconds": 13.0})
    wait_for(lambda: sum(page.evaluate(COUNTS).values()) == 300, timeout=10, page=page, message="all 300 requests counted")
    counts = page.evaluate(COUNTS)
    assert sorted(counts.values()) == [100, 100, 100]  # rr from one client node: exact
    _, rest = server.api("GET", f"/api/clusters/{IPVS}/traffic")
    assert counts == rest["services"][0]["pods"]
    node = started["source_node"]
    page.wait_for_selector(f".traffic-node[data-node='{node}'] .chain-rule.is-last")
    assert page.get_attribute(".traffic-client", "data-state") == "done"
    page.click(f".traffic-node[data-node='{node}'] [data-show-rules]")
    wait_for(lambda: "IP Virtual Server" in page.inner_text(".traffic-rules-text"), page=page, message="ipvsadm text")
    assert page.locator(".traffic-rules-text .is-service").count() == 4  # the virtual server and its three real servers
    shots(page, artifacts, "ipvs", "#panel-traffic")
    assert page.problems == []
    server.api("DELETE", f"/api/clusters/{IPVS}")


def test_reduced_motion_draws_the_paths_still_and_no_dots(open_page, server, artifacts):
    server.reset_demo(paused=True)
    nodes = web_ready_everywhere(server)
    page = open_page("/clusters/demo/", reduced_motion="reduce")
    wait_connected(page, 60_000)
    page.wait_for_selector("#traffic-body .traffic-node")
    source = sorted(nodes[0]["services"]["default/web"]["pods"])[0]
    status, body = server.api("POST", f"{DEMO}/traffic", {"service": "web", "rate": 10, "seconds": 20, "source": source})
    assert status == 202, body
    advance(server, 1.55)
    page.wait_for_selector(".traffic-layer polyline.traffic-path")
    page.wait_for_selector(".traffic-layer .traffic-label")
    page.evaluate(NEXT_FRAMES)
    assert page.locator(".traffic-layer .traffic-dot").count() == 0
    assert page.locator(".traffic-node .chain-rule.is-last").count() >= 1
    page.evaluate("document.querySelector('.nodes').scrollIntoView()")
    page.evaluate(NEXT_FRAMES)
    page.screenshot(path=artifacts / "traffic-reduced-1920-light.png")
    assert page.problems == []



def test_session_affinity_rules_and_one_client_kept_on_one_pod(open_page, server, artifacts):
    server.reset_demo(paused=True)
    nodes = web_ready_everywhere(server)
    if "default/sticky" not in nodes[0]["services"]:
        kube(server, "demo", "POST", "/api/v1/namespaces/default/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "sticky"},
            "spec": {"selector": {"app": "web"}, "sessionAffinity": "ClientIP", "ports": [{"port": 80, "targetPort": 80}]}})
    for _ in range(20):
        nodes = state(server)["proxy"]["nodes"]
        if all(len(n["services"].get("default/sticky", {}).get("pods", [])) == 3 for n in nodes):
            break
        advance(server, 1.0)
    client = sorted(nodes[0]["services"]["default/sticky"]["pods"])[0]
    page = open_page("/clusters/demo/")
    wait_connected(page, 60_000)
    page.wait_for_selector("#traffic-service option[value='default/sticky']", state="attached")
    page.select_option("#traffic-service", "default/sticky")
    node = page.locator(".traffic-node").first
    wait_for(lambda: node.locator(".chain-rule").count() == 6, page=page, message="three affinity checks and three dice rules")
    assert "sessionAffinity ClientIP: a client IP seen in the last 10800 s" in node.inner_text()
    assert node.locator(".chain-rule.is-affinity").count() == 3
    assert [t.split("→")[-1].strip() for t in node.locator(".chain-rule:not(.is-affinity) .rule-p").all_inner_texts()] == ["33 %"] * 3
    page.select_option("#traffic-source", f"default/{client}")
    page.fill("#traffic-rate", "10")
    page.fill("#traffic-seconds", "3")
    page.click("#traffic-send")
    wait_for(lambda: "traffic-" in page.inner_text("#traffic-form-note"), page=page, message="the generator's name")
    advance(server, 5.0)
    rest = next(s for s in server.api("GET", f"{DEMO}/traffic")[1]["services"] if s["name"] == "sticky")
    assert rest["requests"] == 30 and len(rest["pods"]) == 1  # one client IP, one pod
    wait_for(lambda: {k: v for k, v in page.evaluate(COUNTS).items() if v} == rest["pods"], timeout=10, page=page, message="the sticky counts")
    assert "with session affinity one client IP stays on one pod" in page.inner_text(".traffic-summary")
    shots(page, artifacts, "affinity", "#panel-traffic")
    assert page.problems == []
