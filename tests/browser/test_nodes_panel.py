"""The worker-node cards against the real server (issue 7, item 5): a paused 3-node cluster in
the teaching profile, driven by advancing virtual time, so every check is exact.

A pod created through the Kubernetes API is followed through the kubelet's steps to Ready in
its node's card (sandbox, pull with a bar filling in virtual time, create, start, ready), then
shows its container's namespaces and cgroup limits beside its usage and the image's layers; a
crash-looping pod shows its restart count and CrashLoopBackOff, a missing image
ImagePullBackOff, a memory hog OOMKilled; a crashed node goes NotReady (Unknown) after the
node lifecycle controller's grace period and comes back; with six nodes the cards turn compact
and open on "Details".

Screenshots: test-artifacts/nodes-<moment>-<width>-<theme>.png.
"""

import pytest

from .helpers import NEXT_FRAMES, screenshots, wait_connected, wait_for

pytestmark = pytest.mark.browser



def make_cluster(server, name, *, nodes=3, seed=11, warmup=20):
    server.api("DELETE", f"/api/clusters/{name}")
    status, body = server.api("POST", "/api/clusters", {"name": name, "nodes": nodes, "seed": seed, "paused": True})
    assert status == 201, body
    advance(server, name, warmup)  # a leader, every node registered and Ready


def advance(server, name, seconds):
    status, body = server.api("POST", f"/api/clusters/{name}/advance", {"seconds": round(seconds, 6)})
    assert status == 200, body
    return body


def kube_create(server, cluster, body, resource="pods", group_path="api/v1"):
    """A create through the Kubernetes API. The cluster is paused: the call waits 0.2 wall
    seconds (timeout=0.2s), then answers 504 "the simulation is paused" (dashboard/kube/README.md);
    the request is in the cluster and takes effect as virtual time is advanced."""
    status, answer = server.api("POST", f"/k8s/{cluster}/{group_path}/namespaces/default/{resource}?timeout=0.2s", body)
    assert status == 504 and "the simulation is paused" in answer["message"], answer


def pod_body(name, image, container=None):
    main = {"name": "main", "image": image, **(container or {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [main]}}


def caught_up(page, last_seq):
    """The page has applied every event up to last_seq."""
    wait_for(lambda: page.evaluate("window.clusterscope.model.seq") >= last_seq, 10, message=f"events up to {last_seq}", page=page)
    page.evaluate(NEXT_FRAMES)


def kubelet_view(server, cluster, node):
    status, state = server.api("GET", f"/api/clusters/{cluster}/state")
    assert status == 200
    return next(n for n in state["nodes"] if n["node"] == node)


def shots(page, artifacts, moment):
    """The page as it opens, then with the stage scrolled to the worker nodes (both sizes, both themes)."""
    screenshots(page, artifacts, f"nodes-{moment}")
    screenshots(page, artifacts, f"nodes-{moment}-area", show=lambda p: p.locator(".area.nodes").scroll_into_view_if_needed())
    page.evaluate("document.getElementById('stage').scrollTop = 0")


def open_cluster(open_page, server, cluster, seed, **page_options):
    """A fresh paused cluster, 20 s in, and a page on it."""
    make_cluster(server, cluster, seed=seed)
    page = open_page(f"/clusters/{cluster}/", **page_options)
    wait_connected(page)
    return page


def test_a_pod_follows_the_kubelet_steps_to_ready_in_its_node_card(open_page, server, artifacts):
    cluster = "nodes-steps"
    page = open_cluster(open_page, server, cluster, seed=11)
    cards = page.locator(".node-card")
    wait_for(lambda: cards.count() == 3, page=page, message="three node cards")
    for node in ("node-1", "node-2", "node-3"):
        card = page.locator(f".node-card[data-node='{node}']")
        assert card.get_attribute("data-ready") == "True" and "✓ Ready" in card.locator(".node-ready").inner_text()
        # the compact boxes messages leave from stay in the card
        for part in ("kubelet", "containerd", "kube-proxy"):
            assert card.locator(f"[data-component='{node}/{part}']").count() == 1
        assert "lease" in card.locator(".node-pulse").inner_text() and "s ago" in card.locator(".node-pulse").inner_text()
        assert "0 / 4 requested" in card.locator(".res-cpu").inner_text()
    assert page.locator("#nodes-note").inner_text() == "3 of 3 Ready"

    resources = {"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}
    kube_create(server, cluster, pod_body("web", "nginx:1.27", {"resources": resources}))
    pod = page.locator(".pod[data-pod='default/web']")
    seen = []
    pull_checked = False
    for _ in range(100):  # 0.2 s at a time: every step lasts at least 0.4 s in the teaching profile
        caught_up(page, advance(server, cluster, 0.2)["last_seq"])
        if not pod.count():
            continue
        step = pod.get_attribute("data-step")
        if not seen or seen[-1] != step:
            seen.append(step)
        if step == "pull" and not pull_checked and page.locator(".pull[data-image='nginx:1.27'] .pull-value").count():
            node = pod.get_attribute("data-node")
            text = page.locator(f".node-card[data-node='{node}'] .pull[data-image='nginx:1.27'] .pull-value").inner_text()
            if "of 67.7 MB" in text:
                # the bar fills in virtual time: the page's figure is the server's at this instant
                pull = kubelet_view(server, cluster, node)["runtime"]["pulls"][0]
                percent = int(text.rsplit("·", 1)[1].strip().rstrip("%"))
                assert abs(percent - pull["fraction"] * 100) <= 1, (text, pull)
                assert 0 < percent < 100
                pull_checked = True
                shots(page, artifacts, "pulling")
        if step == "ready":
            break
    assert pull_checked, "saw the nginx pull bar with its bytes"
    steps = [s for s in seen if s not in ("bound", "admission")]
    assert steps == ["sandbox", "pull", "create", "start", "ready"], seen
    node = pod.get_attribute("data-node")
    card = page.locator(f".node-card[data-node='{node}']")
    assert card.locator(".pod[data-pod='default/web']").count() == 1
    assert pod.get_attribute("data-phase") in ("Pending", "Running")  # the phase comes with the next view refresh
    # the views refresher brings the container's namespaces, cgroup and usage
    wait_for(lambda: pod.locator(".ns-chip").count() == 5, 10, page=page, message="five namespaces")
    # Running comes with the kubelet's status update through the API server, which may land a
    # refresh after the runtime's namespaces
    wait_for(lambda: pod.get_attribute("data-phase") == "Running", 15, page=page, message="phase Running")
    assert "▶ Running" in pod.locator(".pod-phase").inner_text()
    assert pod.locator(".pod-restarts").inner_text() == "↻ 0"
    assert pod.locator(".step[data-step='ready']").get_attribute("aria-current") == "step"
    assert [c.inner_text().split()[0] for c in pod.locator(".ns-chip").all()] == ["net", "ipc", "uts", "pid", "mnt"]
    runtime = kubelet_view(server, cluster, node)["runtime"]
    container = next(c for c in runtime["containers"] if c["pod"] == "default/web")
    assert pod.locator(".ns-chip").first.inner_text().endswith(container["namespaces"]["net"].strip("net:[]")[-4:])
    usage = pod.locator(".usage").all_inner_texts()
    assert "of 500m limit" in usage[0] and "of 128Mi limit" in usage[1]
    assert "250m / 4 requested" in card.locator(".res-cpu").inner_text() and "64Mi / 7.9Gi requested" in card.locator(".res-mem").inner_text()
    nginx = card.locator(".image[data-image='nginx:1.27']")
    assert nginx.locator(".layer").count() == 3 and "67.7 MB" in nginx.inner_text()
    assert page.locator(".pull[data-image='nginx:1.27']").count() == 0
    shots(page, artifacts, "ready")
    assert page.problems == []


def test_restarts_and_their_reasons_crash_loop_image_pull_oom(open_page, server, artifacts):
    cluster = "nodes-trouble"
    page = open_cluster(open_page, server, cluster, seed=12)
    kube_create(server, cluster, pod_body("crash", "clusterscope/crasher", {"args": ["--after=1"]}))
    kube_create(server, cluster, pod_body("typo", "ngnix:1.27"))
    kube_create(server, cluster, pod_body("hog", "clusterscope/memhog", {"args": ["--rate=40Mi"], "resources": {"limits": {"memory": "64Mi"}}}))
    for _ in range(8):
        caught_up(page, advance(server, cluster, 5)["last_seq"])
    crash = page.locator(".pod[data-pod='default/crash']")
    typo = page.locator(".pod[data-pod='default/typo']")
    hog = page.locator(".pod[data-pod='default/hog']")
    # the views refresher brings the restart counts: compare with the kubelet's own view
    views = {}
    for n in range(1, 4):
        for p in kubelet_view(server, cluster, f"node-{n}")["pods"]:
            views[p["name"]] = p
    assert views["crash"]["restarts"] >= 2 and views["crash"]["reason"] == "CrashLoopBackOff"
    wait_for(lambda: crash.locator(".pod-restarts").inner_text() == f"↻ {views['crash']['restarts']}", 10, page=page, message="crash restarts")
    assert "✕ CrashLoopBackOff" in crash.locator(".pod-reasons").inner_text()
    assert crash.get_attribute("data-step") == "backoff" and "is-trouble" in crash.get_attribute("class")
    assert crash.locator(".step.is-failed").get_attribute("data-step") == "start"
    wait_for(lambda: "ImagePullBackOff" in typo.locator(".pod-reasons").inner_text() or "ErrImagePull" in typo.locator(".pod-reasons").inner_text(), 10, page=page)
    assert typo.locator(".step.is-failed").get_attribute("data-step") == "pull"
    assert "◔ Pending" in typo.locator(".pod-phase").inner_text()
    wait_for(lambda: "last: OOMKilled" in hog.locator(".pod-reasons").inner_text(), 10, page=page, message="OOMKilled")
    assert hog.locator(".pod-restarts").inner_text() == f"↻ {views['hog']['restarts']}" and views["hog"]["restarts"] >= 1
    shots(page, artifacts, "trouble")
    assert page.problems == []


def test_a_crashed_node_goes_not_ready_and_comes_back(open_page, server, artifacts):
    cluster = "nodes-crash"
    page = open_cluster(open_page, server, cluster, seed=13)
    card = page.locator(".node-card[data-node='node-2']")
    wait_for(lambda: card.get_attribute("data-ready") == "True", page=page)
    status, body = server.api("POST", f"/api/clusters/{cluster}/faults", {"action": "crash", "target": "node-2"})
    assert status == 200, body
    caught_up(page, advance(server, cluster, 2)["last_seq"])
    # (a views refresh fetched before the crash may land after it for a moment: wait for the next)
    wait_for(lambda: "is-down" in card.get_attribute("class"), 10, page=page, message="the node's boxes crashed")
    assert card.locator("[data-component='node-2/kubelet']").get_attribute("data-alive") == "false"
    # the API server still says Ready: only the missing heartbeats will change that
    wait_for(lambda: "marks it Unknown in" in card.locator(".node-why").inner_text(), 10, page=page, message="countdown to Unknown")
    assert "kubelet down: no heartbeat since" in card.locator(".node-why").inner_text()
    shots(page, artifacts, "crashed")
    caught_up(page, advance(server, cluster, 45)["last_seq"])
    wait_for(lambda: card.get_attribute("data-ready") == "Unknown", 10, page=page, message="Ready Unknown")
    assert card.locator(".node-ready").inner_text() == "? NotReady (Unknown)"
    assert "is-notready" in card.get_attribute("class")
    assert page.locator("#nodes-note").inner_text() == "2 of 3 Ready"
    wait_for(lambda: "node.kubernetes.io/unreachable" in card.locator(".node-why").inner_text(), 10, page=page, message="taint")
    shots(page, artifacts, "notready")
    status, body = server.api("POST", f"/api/clusters/{cluster}/faults", {"action": "restart", "target": "node-2"})
    assert status == 200, body
    caught_up(page, advance(server, cluster, 15)["last_seq"])
    wait_for(lambda: card.get_attribute("data-ready") == "True", 10, page=page, message="Ready again")
    assert card.locator(".node-why").is_hidden()
    assert page.problems == []


def test_many_nodes_turn_compact_and_open_on_details(open_page, server, artifacts):
    cluster = "nodes-many"
    make_cluster(server, cluster, seed=14)
    for n in (4, 5, 6):
        status, body = server.api("POST", f"/api/clusters/{cluster}/nodes", {"name": f"node-{n}", "cpu": "2", "memory": "4Gi"})
        assert status == 201, body
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
        "replicas": 8, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}}
    kube_create(server, cluster, deployment, resource="deployments", group_path="apis/apps/v1")
    advance(server, cluster, 30)
    page = open_page(f"/clusters/{cluster}/", width=1366, height=768)
    wait_connected(page)
    wait_for(lambda: page.locator(".node-card").count() == 6, page=page, message="six cards")
    assert page.locator("#nodes-body").get_attribute("data-density") == "compact"
    wait_for(lambda: page.locator(".pod[data-node]").count() == 8, 10, page=page, message="eight pods")
    assert page.locator(".ctr").count() == 0  # compact: no container rows until a card is opened
    card = page.locator(".node-card[data-node='node-5']")
    toggle = card.locator(".node-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    wait_for(lambda: "is-expanded" in card.get_attribute("class"), page=page)
    assert toggle.get_attribute("aria-expanded") == "true" and toggle.inner_text() == "Less"
    assert card.locator(".ctr").count() == card.locator(".pod").count()
    assert card.locator(".image").count() >= 1
    for pod in page.locator(".pod").all():
        assert pod.get_attribute("data-pod").startswith("default/web-") and pod.get_attribute("data-node")
    shots(page, artifacts, "compact")
    assert page.problems == []


def test_reduced_motion_keeps_the_words_and_stills_the_track(open_page, server):
    cluster = "nodes-still"
    make_cluster(server, cluster, seed=15)
    kube_create(server, cluster, pod_body("slow", "postgres:17", {"env": [{"name": "POSTGRES_PASSWORD", "value": "x"}]}))
    advance(server, cluster, 8)  # scheduled, bound, pulling postgres (141 MB: 7 s at 20 MB/s)
    page = open_page(f"/clusters/{cluster}/", reduced_motion="reduce")
    wait_connected(page)
    pod = page.locator(".pod[data-pod='default/slow']")
    wait_for(lambda: pod.count() == 1, page=page, message="the pod")
    assert pod.get_attribute("data-step") == "pull" and pod.locator(".pod-step-label").inner_text() == "pull"
    current = pod.locator(".step.is-current")
    assert current.get_attribute("data-step") == "pull"
    assert current.evaluate("e => getComputedStyle(e).animationName") == "none"
    assert "of 140.7 MB" in page.locator(".pull[data-image='postgres:17']").inner_text()
    assert page.problems == []
