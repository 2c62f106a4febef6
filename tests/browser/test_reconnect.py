"""The connection indicator heals by itself: server killed -> reconnecting, restarted on the
same port -> connected again, showing the new server's cluster. And a deleted cluster is
shown as such instead of being retried forever. (Runs last: it restarts the server.)"""

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from .helpers import shown_time, wait_connected

pytestmark = pytest.mark.browser


def test_deleted_cluster_shows_disconnected(server, open_page):
    assert server.api("POST", "/api/clusters", {"name": "short-lived", "paused": True})[0] == 201
    page = open_page("/clusters/short-lived/")
    wait_connected(page)
    assert server.api("DELETE", "/api/clusters/short-lived")[0] == 204
    page.wait_for_selector("#conn[data-state=disconnected]")
    assert "deleted" in page.locator("#notice").inner_text()
    page.wait_for_selector("#btn-play:disabled")  # the controls follow on the next drawn frame


def test_a_dropped_connection_resumes_where_it_left_off(server, open_page):
    server.reset_demo(paused=False, speed=1.0)
    urls = []
    page = open_page("/clusters/demo/", before=lambda p: p.on("websocket", lambda ws: urls.append(ws.url)))
    wait_connected(page)
    page.wait_for_function("() => window.clusterscope.model.seq >= 1 && window.clusterscope.model.events.length >= 1")  # a function: a bare expression polls through eval, which the CSP forbids
    # read the last seq and drop the connection in one go: a frame in between would move it
    seq = page.evaluate("(() => { const seq = window.clusterscope.model.seq; window.clusterscope.stream.ws.close(); return seq; })()")
    page.wait_for_selector("#conn[data-state=reconnecting]")
    wait_connected(page)
    assert parse_qs(urlsplit(urls[-1]).query) == {"after": [str(seq)], "wire": ["compact"]}  # resumed, not restarted from a snapshot
    page.wait_for_timeout(300)
    assert page.evaluate("window.clusterscope.model.snapshots") == 1
    assert page.locator("#event-log .ev-mark").count() == 0


def test_reconnects_after_a_server_restart(server, open_page, artifacts):
    server.reset_demo(paused=False, speed=1.0)
    page = open_page("/clusters/demo/")
    wait_connected(page)
    page.wait_for_selector("#clock-state:text('running')")
    before_restart = shown_time(page)
    assert before_restart > 1.0

    started = time.monotonic()
    server.kill()
    page.wait_for_selector("#conn[data-state=reconnecting]", timeout=5_000)
    assert page.locator("#conn-text").inner_text() == "reconnecting…"
    frozen = shown_time(page)
    page.wait_for_timeout(400)
    assert shown_time(page) == frozen  # disconnected: the clock holds instead of guessing
    page.screenshot(path=artifacts / "cluster-reconnecting-1920-light.png")

    server.start()
    restarted = time.monotonic()
    wait_connected(page, timeout_ms=10_000)
    # back-off is capped: the page is back within a retry interval of the server
    assert time.monotonic() - restarted < 3.0, (restarted - started, time.monotonic() - restarted)
    assert page.locator("#conn-text").inner_text() == "connected"
    # the restarted server rebuilt the demo cluster from its stored log (dashboard/history): the
    # same cluster goes on from where its position was last saved (at most about a second of
    # virtual time before the kill, at speed 1)
    page.wait_for_timeout(800)
    assert shown_time(page) > before_restart - 1.5, (before_restart, shown_time(page))
    # 1 mark: the page came back before the cluster had caught up and took a fresh snapshot;
    # 0: the rebuilt cluster had already repeated the page's events, so it resumed its history.
    assert page.locator("#event-log .ev-mark").count() in (0, 1)
    # Either way, what the page lists is what the server has: the same seq, the same event.
    mine = page.evaluate("(() => { const m = window.clusterscope.model; return m.events.filter((e) => e.seq && e.seq > m.seq - 300).map((e) => [e.seq, e.time, e.kind, e.summary]); })()")
    assert mine
    status, theirs = server.api("GET", f"/api/clusters/demo/events?after={mine[0][0] - 1}&limit=300")
    assert status == 200
    server_events = {e["seq"]: [e["seq"], e["time"], e["kind"], e["summary"]] for e in theirs["events"]}
    assert mine == [server_events[seq] for seq, *_ in mine]
