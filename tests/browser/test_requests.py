"""API requests made visible, against the real server with the real kubectl: a Deployment
created by kubectl moves through the pipeline strip (authn → authz → admission → validation →
etcd) as "you"; a Pod with an invalid name stops at validation with a red ✕; the inspector
(opened from a token with the mouse, from the requests list and from an event-log row with the
keyboard) shows verb, path, code, etcd key, revision, the body sent and the object at the revision
the request produced (and, on demand, the object now); watches stand as lines; with reduced motion
no token moves and the stage is highlighted instead; a request already in flight when the page
loads is drawn where it stands.

Screenshots: test-artifacts/requests-<moment>-<width>-<theme>.png (taken while paused).
"""

import shutil
import subprocess
import uuid

import pytest

from .helpers import wait_connected, wait_for

pytestmark = pytest.mark.browser

SIZES = [(1920, 1080), (1366, 768)]
NEXT_FRAMES = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(done))))"
# Every stage each kubectl token is seen in, in order, recorded by the page on every frame.
TRAIL = """() => {
  window.__trail = {};
  const tick = () => {
    for (const b of document.querySelectorAll('.req-token.is-kubectl')) {
      const seen = (window.__trail[b.dataset.request] ??= []);
      const s = b.dataset.stage + (b.classList.contains('rejected') ? ' rejected' : '');
      if (seen[seen.length - 1] !== s) seen.push(s);
    }
    requestAnimationFrame(tick);
  };
  tick();
}"""
KUBECTL_REQUESTS = "() => [...window.clusterscope.model.requests.values()].filter((r) => r.client === 'kubectl').map((r) => ({id: r.id, resource: r.resource, code: r.code, rv: r.rv ?? null, key: r.key ?? null}))"

if shutil.which("kubectl") is None:
    pytest.skip("kubectl is not installed", allow_module_level=True)


def kubectl(server, tmp_path, *args, check=True):
    cmd = ["kubectl", f"--server={server.url}/k8s/demo", "--kubeconfig=/dev/null", f"--cache-dir={tmp_path / 'kube-cache'}", "--request-timeout=20s", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=40)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def kubectl_request(page, resource, code):
    found = [r for r in page.evaluate(KUBECTL_REQUESTS) if r["resource"] == resource and r["code"] == code]
    return found[-1] if found else None


def shots(page, artifacts, moment):
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        for theme in ("light", "dark"):
            page.evaluate("t => document.documentElement.setAttribute('data-theme', t)", theme)
            page.evaluate(NEXT_FRAMES)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=artifacts / f"requests-{moment}-{width}-{theme}.png")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.evaluate("document.documentElement.setAttribute('data-theme', 'light')")


def api_server_ready(server, tmp_path):
    """A fresh demo cluster's API server first fills its watch cache (about 17 virtual seconds): run through that fast."""
    server.reset_demo(paused=False, speed=10.0)
    kubectl(server, tmp_path, "get", "namespaces")
    server.reset_demo(paused=False, speed=1.0)


def test_kubectl_requests_move_through_the_pipeline(open_page, server, artifacts, tmp_path):
    api_server_ready(server, tmp_path)
    page = open_page("/clusters/demo/")
    wait_connected(page)
    page.wait_for_selector(".comp[data-component='kube-apiserver'] .api-pipeline")
    assert page.eval_on_selector_all(".api-stage", "els => els.map((e) => e.dataset.stage)") == ["authn", "authz", "admission", "validation", "etcd"]
    page.evaluate(TRAIL)
    page.get_by_label("only kubectl (you)").check()

    deployment = f"web-{uuid.uuid4().hex[:6]}"
    kubectl(server, tmp_path, "create", "deployment", deployment, "--image=nginx")
    bad = kubectl(server, tmp_path, "run", "Bad_Name", "--image=nginx", check=False)
    assert bad.returncode != 0 and "is invalid" in bad.stderr, bad.stderr

    created = wait_for(lambda: kubectl_request(page, "deployments", 201), page=page, message="kubectl's create deployment in the model")
    rejected = wait_for(lambda: kubectl_request(page, "pods", 422), page=page, message="kubectl's invalid pod in the model")
    # the rejected token stops at validation, red, with ✕ (it stays there a few seconds)
    token = page.locator(f".req-token[data-request='{rejected['id']}'].rejected")
    token.wait_for()
    assert token.get_attribute("data-stage") == "validation"
    assert "rejected" in token.get_attribute("class")
    assert "✕" in token.inner_text() and "you" in token.inner_text()
    assert "kubectl (you)" in token.get_attribute("aria-label")
    server.api("PATCH", "/api/clusters/demo/clock", {"paused": True})
    page.wait_for_selector("#btn-play[data-paused=true]")

    trail = page.evaluate("window.__trail")
    # the deployment passed every stage in order, the invalid pod stopped at validation
    assert [s for s in trail.get(created["id"], []) if not s.endswith("rejected")] == ["authn", "authz", "admission", "validation", "etcd"], trail
    assert trail[rejected["id"]] == ["authn", "authz", "admission", "validation rejected"], trail
    assert page.locator(".api-stage[data-stage='validation'].has-rejected").count() == 1

    # the list shows both, "kubectl (you)" first in each row
    rows = page.locator("#req-list .req-row")
    wait_for(lambda: rows.count() >= 2, page=page, message="two kubectl rows")
    texts = rows.all_inner_texts()
    assert all("kubectl (you)" in t for t in texts), texts
    assert any("422" in t and "rejected by validation" in t for t in texts), texts

    # watch connections stand as lines from each watcher to the API server
    assert page.locator("#links-layer .watch-line").count() >= 3
    assert page.locator("#req-watches").inner_text().startswith("Watches open:")
    shots(page, artifacts, "rejected")

    # the inspector from the token (mouse): verb, path, code
    token.click()
    dialog = page.locator("#req-inspector")
    dialog.wait_for()
    text = dialog.inner_text()
    assert "create (POST)" in text and "/api/v1/namespaces/default/pods" in text and "422 Invalid" in text and "rejected by validation" in text, text
    assert "✕ validation" in text and "etcd at" not in text
    # what was sent and the Status returned, as the API server kept them
    page.wait_for_function("() => document.querySelector('#req-inspector .req-kept').textContent.includes('Answer: Status 422')")
    text = dialog.inner_text()
    assert "Nothing was written" in text and "Sent by the client" in text and "name: Bad_Name" in text and "kind: Status" in text, text
    page.screenshot(path=artifacts / "requests-inspector-rejected-1920-light.png")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    # ... from an api.* row of the event log (keyboard; the newest such row, whoever sent it)
    ev = page.locator("#event-log li.ev-inspectable").last
    request_id = ev.get_attribute("data-request")
    ev.focus()
    page.keyboard.press("Enter")
    dialog.wait_for()
    assert request_id in dialog.inner_text()
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    # the inspector from the list (keyboard): the created Deployment, its key, what kubectl sent and
    # the object at the revision the create produced (kept by the API server: read while paused)
    row = page.locator(f"#req-list .req-open[data-request='{created['id']}']")
    row.focus()
    page.keyboard.press("Enter")
    dialog.wait_for()
    page.wait_for_function(f"() => document.querySelector('#req-inspector .req-kept').textContent.includes('Object at revision {created['rv']}')")
    text = dialog.inner_text()
    assert "/apis/apps/v1/namespaces/default/deployments" in text and "201" in text, text
    assert f"/registry/deployments/default/{deployment}" in text and created["rv"] in text, text
    assert "Sent by the client" in text and "kind: Deployment" in text and f"name: {deployment}" in text
    assert f'resourceVersion: "{created["rv"]}"' in text, text
    page.screenshot(path=artifacts / "requests-inspector-created-1920-light.png")
    page.evaluate("document.documentElement.setAttribute('data-theme', 'dark')")
    page.screenshot(path=artifacts / "requests-inspector-created-1920-dark.png")
    page.evaluate("document.documentElement.setAttribute('data-theme', 'light')")
    # "the object now": the page's own GET, through the simulated API server (which answers only
    # while the clock runs), labelled as the inspector's by its header, not as "you"
    server.reset_demo(paused=False, speed=1.0)
    page.get_by_role("button", name="Show the object now").click()
    page.wait_for_function("() => document.querySelector('#req-inspector .req-now').textContent.includes('Object now (resourceVersion')")
    page.wait_for_function("() => [...window.clusterscope.model.requests.values()].some((r) => r.client === 'inspector' && r.verb === 'get')")
    assert not [t for t in page.locator("#req-list .req-row").all_inner_texts() if "get deployments" in t]
    page.set_viewport_size({"width": 1366, "height": 768})
    page.screenshot(path=artifacts / "requests-inspector-now-1366-light.png")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    server.reset_demo(paused=False, speed=1.0)
    assert page.problems == []


def test_reduced_motion_shows_no_moving_tokens(open_page, server, artifacts, tmp_path):
    api_server_ready(server, tmp_path)
    page = open_page("/clusters/demo/", reduced_motion="reduce", color_scheme="dark")
    wait_connected(page)
    page.wait_for_selector(".api-pipeline")
    page.evaluate("() => { window.__tokens = 0; const tick = () => { window.__tokens += document.querySelectorAll('.req-token').length; requestAnimationFrame(tick); }; tick(); }")
    bad = kubectl(server, tmp_path, "run", "Also_Bad", "--image=nginx", check=False)
    assert bad.returncode != 0 and "is invalid" in bad.stderr
    wait_for(lambda: kubectl_request(page, "pods", 422), page=page, message="the invalid pod in the model")
    page.wait_for_selector(".api-stage[data-stage='validation'].has-rejected")
    assert "✕" in page.locator(".api-stage[data-stage='validation'] .api-stage-count").inner_text()
    server.api("PATCH", "/api/clusters/demo/clock", {"paused": True})
    page.wait_for_selector("#btn-play[data-paused=true]")
    assert page.evaluate("window.__tokens") == 0
    assert page.locator("#dots-layer .msg-dot").count() == 0
    page.screenshot(path=artifacts / "requests-reduced-1920-dark.png")
    server.reset_demo(paused=False, speed=1.0)
    assert page.problems == []


def test_a_request_in_flight_when_the_page_loads_is_drawn_where_it_stands(open_page, server, artifacts, tmp_path):
    status, _ = server.api("POST", "/api/clusters", {"name": "inflight", "etcd_members": 1, "nodes": 0, "paused": True, "profile": "realistic"})
    assert status == 201
    follower = None
    try:
        status, _ = server.api("POST", "/api/clusters/inflight/advance", {"seconds": 20})  # the API server fills its cache, bootstraps
        assert status == 200
        cmd = ["kubectl", f"--server={server.url}/k8s/inflight", "--kubeconfig=/dev/null", f"--cache-dir={tmp_path / 'kube-cache'}", "--request-timeout=30s",
               "create", "configmap", "waiting", "--from-literal=a=b"]
        follower = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def at_etcd():
            # one action at a time, until kubectl's create waits for etcd's answer (Raft)
            server.api("POST", "/api/clusters/inflight/step")
            _, state = server.api("GET", "/api/clusters/inflight/state")
            api = next(c for c in state["components"] if c["name"] == "kube-apiserver")
            return next((r for r in api["requests"] if r["client"] == "kubectl" and r["verb"] == "create" and r["stage"] == "etcd"), None)

        flying = wait_for(at_etcd, timeout=30, interval=0, message="kubectl's create waiting for etcd")
        assert [s["stage"] for s in flying["stages"]][-1] == "etcd"
        page = open_page("/clusters/inflight/")
        wait_connected(page)
        token = page.locator(f".req-token[data-request='{flying['request']}'][data-stage='etcd']")
        token.wait_for()
        label = token.get_attribute("aria-label")
        assert "kubectl (you)" in label and "create configmaps" in label and "at etcd" in label, label
        assert page.locator(f"#req-list .req-open[data-request='{flying['request']}']").inner_text().endswith("in progress")
        page.screenshot(path=artifacts / "requests-in-flight-at-load-1920-light.png")
        token.focus()  # it is moving (a pulse): the keyboard opens it
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.querySelector('#req-inspector .req-kept').textContent.includes('In flight')")
        assert "name: waiting" in page.locator("#req-inspector").inner_text()  # what kubectl sent, before any answer
        assert page.problems == []
    finally:
        if follower is not None:
            follower.kill()
            follower.wait()
        server.api("DELETE", "/api/clusters/inflight")
