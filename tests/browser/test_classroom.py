"""Classrooms in real browsers: a presenter starts a class ("Teach this cluster", or a lesson), a
SECOND browser context joins as the audience and follows the same lesson step read-only; the
presenter sees the viewer count go up, hands control to the student (whose controls then work)
and takes it back; the student forks a sandbox and acts in it while the shared cluster's state
hash does not move. Keys travel as the contract says (localStorage, header, ?key= on the
stream); the server is asked after every step, so the test checks what happened, not the page's
belief."""

import json
import re

import pytest

from .helpers import screenshots, wait_for

pytestmark = pytest.mark.browser

LESSON = "controllers-reconcile"


def call(server, method: str, path: str, body: dict | None = None, key: str | None = None) -> tuple[int, dict | None]:
    return server.api(method, path, body, key)


def summary(server, cluster: str) -> dict:
    status, body = server.api("GET", f"/api/clusters/{cluster}")
    assert status == 200, body
    return body


def attached(page, selector: str) -> None:
    page.wait_for_selector(selector, state="attached")


def test_teach_this_cluster_opens_the_presenter_view(server, open_page, artifacts):
    status, created = server.api("POST", "/api/clusters", {"name": "teach-me"})
    assert status == 201, created
    page = open_page("/clusters/teach-me/")
    page.locator(".btn-teach").click()
    page.wait_for_url(re.compile(r"/c/[2-9A-HJKMNP-Z]{6}/present$"))  # the #key= fragment is taken and dropped
    code = page.url.split("/c/")[1].split("/")[0]
    keys = json.loads(page.evaluate("() => localStorage.getItem('clusterscope.keys')"))
    assert set(keys) == {code} and len(keys[code]) >= 24
    bar = page.locator("#classroom-bar")
    assert bar.locator(".cr-code").inner_text() == code
    assert bar.locator(".cr-url").inner_text().endswith(f"/c/{code}")
    wait_for(lambda: page.eval_on_selector(".cr-qr", "img => img.complete && img.naturalWidth > 0"), page=page, message="the QR code to load")
    page.locator(".cr-count[data-viewers='0']").wait_for()
    assert bar.locator(".cr-count").inner_text() == "◉ 0 viewers"
    # the presenter's key works: lock destructive actions, as the server sees it
    bar.locator(".cr-lock input").check()
    wait_for(lambda: server.api("GET", f"/api/classrooms/{code}")[1]["locked"] is True, message="the lock to reach the server")
    # the join code large, for the room
    bar.locator(".cr-qr-button").click()
    big = page.locator("dialog.cr-big")
    assert big.is_visible() and big.locator(".cr-big-code").inner_text() == code
    screenshots(page, artifacts, "classroom-join-code")
    page.keyboard.press("Escape")
    # from the cluster list, the join page takes the code typed in any case, with spaces
    join = open_page("/")
    join.locator(".btn-join").click()
    join.wait_for_url(re.compile(r"/join$"))
    join.locator("#join-code").fill(f"{code[:3].lower()} {code[3:].lower()}")
    join.locator("#join-name").fill("Sam")
    join.locator("#join-code").press("Enter")
    join.wait_for_url(re.compile(rf"/c/{code}\?name=Sam$"))
    attached(join, ".cr-me")
    assert join.locator(".cr-me").inner_text() == "you: Sam"
    page.locator(".cr-count[data-viewers='1']").wait_for()
    bad = open_page("/join?code=ZZZZZZ")
    assert bad.locator(".join-error").inner_text() == "✕ No class has the code ZZZZZZ: check the code on the screen."
    status, _ = call(server, "DELETE", f"/api/classrooms/{code}", key=keys[code])
    assert status == 204
    server.api("DELETE", "/api/clusters/teach-me")
    assert page.problems == [] and join.problems == []


def test_a_class_follows_a_lesson_hands_control_and_forks(server, open_page, browser, artifacts):
    status, created = server.api("POST", "/api/classrooms", {"scenario": LESSON, "lang": "en"})
    assert status == 201, created
    code, cluster, key = created["code"], created["cluster"], created["presenter_key"]
    run = server.api("GET", f"/api/classrooms/{code}")[1]["run"]
    presenter = open_page(created["presenter_url"].split(server.url)[1])
    presenter.locator(".lesson-now[data-step='0'] .lesson-next").wait_for()
    assert presenter.locator(".lesson-role").inner_text() == "presenter"
    presenter.locator(".cr-count[data-viewers='0']").wait_for()

    # the audience: a second browser context (its own localStorage), a laptop, the dark theme
    audience = open_page(f"/c/{code}?name=Ada", width=1366, height=768, color_scheme="dark")
    attached(audience, "#conn[data-state=connected]")
    presenter.locator(".cr-count[data-viewers='1']").wait_for()
    assert presenter.locator(".cr-count").inner_text() == "◉ 1 viewer"
    seat = json.loads(audience.evaluate("() => localStorage.getItem('clusterscope.viewers')"))[code]
    assert seat["name"] == "Ada"
    audience.locator(".lesson-now[data-step='0']").wait_for()
    assert audience.locator(".lesson-role").inner_text() == "audience: follows the presenter"
    assert audience.locator(".cr-mode").inner_text() == "◉ Watching, read-only: the presenter drives this cluster."
    assert audience.locator("#btn-play").is_hidden() and audience.locator("#etcd-partition").is_hidden()
    # a shortcut is refused by the page itself, with the reason; the clock does not change
    paused_before = summary(server, cluster)["paused"]
    audience.keyboard.press("Space")
    audience.locator("#notice:text('Read-only: the presenter drives this cluster')").wait_for()
    assert summary(server, cluster)["paused"] == paused_before
    # an etcd member's menu shows what a teacher could do, each item disabled with the reason
    audience.locator(".etcd-member").first.click()
    items = audience.locator(".etcd-menu-item")
    items.first.wait_for()
    assert items.count() >= 2 and all(items.nth(i).get_attribute("aria-disabled") == "true" for i in range(items.count()))
    assert "Read-only: the presenter drives this cluster" in items.first.inner_text()
    audience.locator(".etcd-menu").screenshot(path=str(artifacts / "classroom-audience-etcd-menu-1366-dark.png"))
    audience.keyboard.press("Escape")
    # the key space can be read; its etcdctl form is disabled, with the reason above it
    audience.locator("#etcd-data-toggle").click()
    assert audience.locator("#etcd-send").is_disabled() and audience.locator("#etcd-key").is_disabled()
    assert audience.locator(".etcd-readonly-note").inner_text().startswith("Read-only: the presenter drives this cluster")
    audience.locator("#etcd-drawer-close").click()

    # the presenter runs step 1 (paused, then the clock runs only while it plays, as in the lesson test)
    presenter.locator(".lesson-next").click()
    wait_for(lambda: server.api("GET", f"/api/classrooms/{code}")[1]["step"] == 0, message="the class to start step 1")
    assert call(server, "PATCH", f"/api/clusters/{cluster}/clock", {"paused": False, "speed": 20}, key=key)[0] == 200  # the presenter's key
    presenter.locator(".lesson-done[data-step='0']").wait_for(timeout=60_000)
    assert call(server, "PATCH", f"/api/clusters/{cluster}/clock", {"paused": True}, key=key)[0] == 200
    assert server.api("PATCH", f"/api/clusters/{cluster}/clock", {"paused": False})[0] in (401, 403)  # no key: no change to a shared cluster
    audience.locator(".lesson-done[data-step='0']").wait_for(timeout=10_000)
    assert audience.locator(".lesson-now[data-step='1'] .lesson-step-title").inner_text() == presenter.locator(".lesson-now[data-step='1'] .lesson-step-title").inner_text() == "Delete a pod"
    assert audience.locator(".cr-step").inner_text() == "Lesson: step 1 started"
    report = server.api("GET", f"/api/scenarios/{LESSON}/runs/{run}")[1]
    assert [s["passed"] for s in report["steps"]] == [True]
    screenshots(presenter, artifacts, "classroom-presenter")
    screenshots(audience, artifacts, "classroom-audience")
    # presenting: the class's bar stays (the code is what the room needs), the chrome goes
    presenter.keyboard.press("p")
    assert presenter.locator(".cr-code").is_visible() and presenter.locator(".log-panel").is_hidden()
    screenshots(presenter, artifacts, "classroom-presenter-present")
    presenter.keyboard.press("Escape")

    # hand control: the student's controls appear and work; take back: read-only again
    presenter.locator(".cr-list summary").click()
    row = presenter.locator(f".cr-viewer[data-viewer='{seat['viewer']}']")
    assert row.locator(".cr-who").inner_text() == "● here Ada"
    row.locator(".cr-hand").click()
    audience.locator(".classroom-bar[data-mode='control']").wait_for()
    assert audience.locator(".cr-mode").inner_text() == "☛ You have control: what you do changes the class's cluster."
    assert presenter.locator(".cr-control .cr-has").inner_text() == f"☛ Ada ({seat['viewer']}) has control"
    play = audience.locator("#btn-play")
    play.wait_for()
    assert audience.locator("#etcd-send").is_enabled() and audience.locator(".etcd-readonly-note").is_hidden()
    assert audience.locator(".cr-next").is_visible()  # the lesson's next step is theirs too
    play.click()  # resume the class's clock, as the student
    wait_for(lambda: not summary(server, cluster)["paused"], message="the student's click to resume the shared cluster")
    audience.locator("#btn-play[data-paused='false']").wait_for()
    play.click()
    wait_for(lambda: summary(server, cluster)["paused"], message="the student's click to pause it again")
    screenshots(audience, artifacts, "classroom-audience-control")
    presenter.locator(".cr-control .cr-take").click()
    audience.locator(".classroom-bar[data-mode='watching']").wait_for()
    assert audience.locator("#btn-play").is_hidden()
    assert server.api("GET", f"/api/classrooms/{code}")[1]["controller"] is None

    # fork: the student's own copy opens in a new tab and acts there; the class's cluster does not move
    shared_hash = summary(server, cluster)["state_hash"]
    with audience.context.expect_page() as opened:
        audience.locator(".cr-fork").click()
    sandbox_page = opened.value
    sandbox_page.wait_for_url(re.compile(r"/clusters/[^/]+/$"))
    sandbox = sandbox_page.url.split("/clusters/")[1].rstrip("/")
    assert sandbox != cluster
    attached(sandbox_page, "#conn[data-state=connected]")
    assert sandbox_page.locator(".sandbox-line").inner_text().startswith(f"⎇ Your own copy of class {code}")
    forked = summary(server, sandbox)
    assert forked["time"] == summary(server, cluster)["time"] and forked["paused"]  # the class's moment, paused as the class was
    sandbox_page.locator("#advance-seconds").fill("5")
    sandbox_page.locator("#btn-advance").click()
    wait_for(lambda: summary(server, sandbox)["time"] >= summary(server, cluster)["time"] + 5 - 1e-9, message="the sandbox to advance 5 s")
    assert summary(server, sandbox)["state_hash"] != forked["state_hash"]
    assert summary(server, cluster)["state_hash"] == shared_hash
    # the sandbox is the student's: the presenter's key (or none) cannot change it
    assert call(server, "POST", f"/api/clusters/{sandbox}/advance", {"seconds": 1}, key=key)[0] == 403
    presenter.locator(f".cr-viewer[data-viewer='{seat['viewer']}'] .cr-sandbox:text('{sandbox}')").wait_for(timeout=10_000)
    assert audience.locator(".cr-fork").inner_text() == f"⎇ Open my copy ({sandbox})"

    assert presenter.problems == [] and audience.problems == []
    assert call(server, "DELETE", f"/api/classrooms/{code}", key=key)[0] == 204
    audience.locator(".classroom-bar[data-mode='ended']").wait_for()
    for name in (cluster, sandbox):
        call(server, "DELETE", f"/api/clusters/{name}", key=seat_key(audience, code) if name == sandbox else None)


def seat_key(page, code: str) -> str:
    return json.loads(page.evaluate("() => localStorage.getItem('clusterscope.keys')"))[code]
