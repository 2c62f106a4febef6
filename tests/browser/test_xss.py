"""Strings from a cluster are text, never HTML (issue 14): a pod annotation and a label value that
hold `<img src=x onerror=...>` and `<script>`, sent by the real kubectl, shown by the request
inspector (what the client sent, the object kept) and the event log, render as the characters
typed and run nothing; the page works under its Content-Security-Policy with no console error.
Screenshot: test-artifacts/xss-inspector-1920-light.png."""

import shutil

import pytest

from .helpers import wait_connected, wait_for
from .test_requests import api_server_ready, kubectl, kubectl_request

pytestmark = pytest.mark.browser

if shutil.which("kubectl") is None:
    pytest.skip("kubectl is not installed", allow_module_level=True)

IMG = "<img src=x onerror=\"window.__xss='img'\">"
SCRIPT = "<script>window.__xss='script'</script>"
ANNOTATED = f"""apiVersion: v1
kind: Pod
metadata:
  name: xss-annotated
  annotations:
    note: '{IMG.replace("'", "''")}'
    other: "{SCRIPT}"
spec:
  containers:
  - name: app
    image: nginx
"""
LABELLED = f"""apiVersion: v1
kind: Pod
metadata:
  name: xss-labelled
  labels:
    app: '{IMG.replace("'", "''")}'
spec:
  containers:
  - name: app
    image: nginx
"""
INJECTED = "() => ({xss: window.__xss ?? null, imgs: [...document.querySelectorAll('img')].filter((i) => i.getAttribute('src') === 'x').length, scripts: [...document.querySelectorAll('script')].filter((s) => s.textContent.includes('__xss')).length})"


def open_inspector(page, request_id):
    page.locator(f"#req-list .req-open[data-request='{request_id}']").focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#req-inspector")
    dialog.wait_for()
    page.wait_for_function("() => document.querySelector('#req-inspector .req-kept').textContent.includes('Sent by the client')")
    return dialog


def test_hostile_annotations_and_labels_render_as_text(open_page, server, artifacts, tmp_path):
    api_server_ready(server, tmp_path)
    page = open_page("/clusters/demo/")
    wait_connected(page)
    page.get_by_label("only kubectl (you)").check()
    (tmp_path / "annotated.yaml").write_text(ANNOTATED)
    (tmp_path / "labelled.yaml").write_text(LABELLED)
    kubectl(server, tmp_path, "delete", "pod", "xss-annotated", "--ignore-not-found", "--wait=false")
    kubectl(server, tmp_path, "create", "-f", str(tmp_path / "annotated.yaml"))
    rejected = kubectl(server, tmp_path, "create", "-f", str(tmp_path / "labelled.yaml"), check=False)
    assert rejected.returncode != 0 and "is invalid" in rejected.stderr, rejected.stderr

    created = wait_for(lambda: kubectl_request(page, "pods", 201), page=page, timeout=15, message="the annotated pod's create")
    invalid = wait_for(lambda: kubectl_request(page, "pods", 422), page=page, timeout=15, message="the labelled pod's rejected create")
    server.api("PATCH", "/api/clusters/demo/clock", {"paused": True})

    dialog = open_inspector(page, created["id"])
    text = dialog.inner_text()
    assert IMG.split(" ")[0] in text and "onerror=" in text and SCRIPT in text, text
    page.screenshot(path=artifacts / "xss-inspector-1920-light.png")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    dialog = open_inspector(page, invalid["id"])
    text = dialog.inner_text()
    assert "xss-labelled" in text and "<img src=x" in text, text
    page.keyboard.press("Escape")

    assert page.evaluate(INJECTED) == {"xss": None, "imgs": 0, "scripts": 0}
    assert page.problems == [], page.problems
    server.api("PATCH", "/api/clusters/demo/clock", {"paused": False})
