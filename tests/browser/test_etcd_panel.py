"""The etcd panel against the real server: a 3-member cluster in the teaching profile at a high
speed. A leader is elected and shown; the leader is crashed through its menu (keyboard) and a
new one is elected; a second crash turns the quorum indicator red and a put through the client
form fails with a clear error; after both restart the acknowledged key is still there; a
partition is drawn and a serializable read from the minority is shown as stale; messages fly
as dots, and with reduced motion nothing moves.

Screenshots (test-artifacts/etcd-<moment>-<width>-<theme>.png) are taken while the cluster is
paused, so every dot stands where the simulation says it is.
"""

import time

import pytest

from .helpers import wait_connected, wait_for

pytestmark = pytest.mark.browser

CLUSTER = "etcd-panel"
SPEED = 8.0  # teaching timing (5-10 s election timeouts, 250 ms latency) at 8x: about a second per election
SIZES = [(1920, 1080), (1366, 768)]
NEXT_FRAMES = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(done))))"


def make_cluster(server, *, paused=False, speed=SPEED, seed=7):
    server.api("DELETE", f"/api/clusters/{CLUSTER}")
    status, body = server.api("POST", "/api/clusters", {"name": CLUSTER, "etcd_members": 3, "profile": "teaching", "seed": seed, "speed": speed, "paused": paused})
    assert status == 201, body


def clock(server, **patch):
    status, body = server.api("PATCH", f"/api/clusters/{CLUSTER}/clock", patch)
    assert status == 200, body


def advance(server, seconds):
    status, body = server.api("POST", f"/api/clusters/{CLUSTER}/advance", {"seconds": round(seconds, 6)})
    assert status == 200, body
    return body["time"]


def unexpected(problems):
    """Console problems, minus the browser's own note of an etcd request that failed as it should (503/504)."""
    return [p for p in problems if not ("/etcd" in p and "status of 50" in p)]


def card(page, name):
    return page.locator(f".etcd-member[data-component='{name}']")


def leader_name(page, other_than=None):
    names = page.eval_on_selector_all(".etcd-member[data-role='leader']", "els => els.map((e) => e.dataset.component)")
    names = [n for n in names if n != other_than]
    return names[0] if names else None


def shots(page, artifacts, moment):
    """The same moment at both sizes, light and dark (the cluster is paused)."""
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        for theme in ("light", "dark"):
            page.evaluate("t => document.documentElement.setAttribute('data-theme', t)", theme)
            page.evaluate(NEXT_FRAMES)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=artifacts / f"etcd-{moment}-{width}-{theme}.png")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.evaluate("document.documentElement.setAttribute('data-theme', 'light')")


def pause_with_raft_dots(page, server, rpcs=("Heartbeat", "HeartbeatResponse", "AppendEntries", "AppendEntriesResponse")):
    """Pause the running cluster at a moment when a Raft message is in flight."""
    selector = ", ".join(f"#dots-layer .msg-dot[data-rpc='{r}']" for r in rpcs)
    for _ in range(8):
        page.wait_for_selector(selector, timeout=10_000)
        clock(server, paused=True)
        page.wait_for_selector("#btn-play[data-paused=true]")
        page.wait_for_timeout(150)
        if page.locator(selector).count():
            return
        clock(server, paused=False)
    raise AssertionError("no Raft message in flight when paused")


MEMBER_FIELDS = ("role", "term", "vote", "commit", "applied", "revision", "election_deadline", "heartbeat_deadline")


def model_matches_server(page, server):
    """The page's member views (kept by events between snapshots) equal the server's views."""
    state = server.api("GET", f"/api/clusters/{CLUSTER}/state")[1]
    want = {m["name"]: [m[f] for f in MEMBER_FIELDS] for m in state["etcd"]["members"]}
    got = page.evaluate(
        "fields => Object.fromEntries([...window.clusterscope.model.components.values()].filter((v) => v.kind === 'etcd').map((v) => [v.name, fields.map((f) => v[f] ?? null)]))",
        list(MEMBER_FIELDS),
    )
    for name, values in want.items():
        for field, a, b in zip(MEMBER_FIELDS, values, got.get(name, [None] * len(MEMBER_FIELDS)), strict=True):
            if isinstance(a, float) and isinstance(b, (int, float)) and abs(a - b) < 1e-5:
                continue
            if a != b:
                return f"{name}.{field}: server {a!r}, page {b!r}"
    return True


def assert_model_matches_server(page, server, timeout=5.0):
    """Paused: the page catches up with the server (a refresh may be on its way), then equals it."""
    deadline = time.monotonic() + timeout
    while (outcome := model_matches_server(page, server)) is not True and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert outcome is True, outcome


def menu_action(page, label):
    page.wait_for_selector(".etcd-menu:not([hidden])")
    page.get_by_role("menuitem", name=label).click()
    page.wait_for_selector(".etcd-menu", state="hidden")


def client_request(page, *, op, key, value=None, member="", consistency="linearizable", wait="10"):
    """Fill the client form as a user would (only the fields that need changing), send, and
    return the result box once the answer (or the error) is shown."""
    current = page.evaluate(
        """() => ({op: document.querySelector('#etcd-op').value, key: document.querySelector('#etcd-key').value,
                   value: document.querySelector('#etcd-value').value, member: document.querySelector('#etcd-member').value,
                   consistency: document.querySelector('input[name=consistency]:checked').value,
                   wait: document.querySelector('#etcd-timeout').value})"""
    )
    if current["op"] != op:
        page.select_option("#etcd-op", op)
    if current["key"] != key:
        page.fill("#etcd-key", key)
    if value is not None and current["value"] != value:
        page.fill("#etcd-value", value)
    if current["member"] != member:
        page.select_option("#etcd-member", member)
    if op == "get" and current["consistency"] != consistency:
        page.check(f"input[name=consistency][value={consistency}]")
    if current["wait"] != wait:
        page.fill("#etcd-timeout", wait)
    page.locator("#etcd-send").click()
    page.wait_for_selector("#etcd-result:not([data-state=pending])", timeout=int(float(wait) * 1000) + 5_000)
    return page.locator("#etcd-result")


def test_election_crashes_quorum_recovery_and_partition(server, open_page, artifacts):
    make_cluster(server)
    page = open_page(f"/clusters/{CLUSTER}/")
    wait_connected(page)

    # a leader is elected and shown as leader: in words, in form, in the quorum line
    page.wait_for_selector(".etcd-member[data-role='leader']", timeout=15_000)
    first_leader = leader_name(page)
    assert "leader" in card(page, first_leader).inner_text().lower()
    assert "role-leader" in card(page, first_leader).get_attribute("class")
    quorum = page.locator("#etcd-quorum")
    assert quorum.get_attribute("data-ok") == "true"
    assert "3 of 3 alive, quorum 2: writes can commit" in quorum.inner_text()

    # messages in flight are dots on the links between members
    pause_with_raft_dots(page, server)
    # between snapshots, events keep every member exact: timers (the dial), commit, revision
    assert_model_matches_server(page, server)
    shots(page, artifacts, "healthy")
    clock(server, paused=False)

    # an acknowledged write through the client form
    page.get_by_role("button", name="Keys & client").click()
    result = client_request(page, op="put", key="/lesson/x", value="1")
    assert result.get_attribute("data-state") == "ok", result.inner_text()
    assert "put /lesson/x = 1" in result.inner_text()
    page.wait_for_selector("#etcd-keys tr[data-key='/lesson/x']")
    page.locator("#etcd-drawer-close").click()

    # crash the leader through its menu, by keyboard; pause to catch the election that follows
    current = leader_name(page)
    card(page, current).focus()
    page.keyboard.press("Enter")
    menu_action(page, f"Crash {current}")
    clock(server, paused=True)
    page.wait_for_selector(f".etcd-member[data-component='{current}'][data-role='down']")
    assert "crashed" in card(page, current).inner_text()
    state = server.api("GET", f"/api/clusters/{CLUSTER}/state")[1]
    deadlines = [m["election_deadline"] for m in state["etcd"]["members"] if m["alive"] and m["election_deadline"] is not None]
    advance(server, max(0.001, min(deadlines) - state["time"] - 0.05))
    for _ in range(100):  # step to a moment with a (pre-)candidate and its vote requests in flight
        advance(server, 0.1)
        state = server.api("GET", f"/api/clusters/{CLUSTER}/state")[1]
        campaigning = any(m["role"] in ("pre-candidate", "candidate") for m in state["etcd"]["members"])
        if campaigning and any("Vote" in m["kind"] for m in state["network"]["in_flight"]):
            break
    page.wait_for_selector(".etcd-member[data-role$='candidate']")
    page.wait_for_selector("#dots-layer .msg-dot[data-rpc*='Vote']")
    shots(page, artifacts, "election")
    clock(server, paused=False)

    # a new leader is elected and shown
    wait_for(lambda: leader_name(page, other_than=current), timeout=15, message="a new leader", page=page)
    second = leader_name(page, other_than=current)
    assert card(page, current).get_attribute("data-role") == "down"
    clock(server, paused=True)
    assert_model_matches_server(page, server)
    shots(page, artifacts, "crashed-leader")
    clock(server, paused=False)

    # a second crash (by mouse): no quorum, and the quorum line says so
    card(page, second).click()
    menu_action(page, f"Crash {second}")
    page.wait_for_selector("#etcd-quorum[data-ok='false']")
    assert "1 of 3 alive, quorum 2: writes cannot commit" in quorum.inner_text()
    survivor = next(n for n in ("etcd-0", "etcd-1", "etcd-2") if n not in (current, second))

    # a write now fails with a clear error, said in words
    page.get_by_role("button", name="Keys & client").click()
    result = client_request(page, op="put", key="/lesson/y", value="2", member=survivor, wait="3")
    assert result.get_attribute("data-state") == "error"
    text = result.inner_text()
    assert "no leader" in text or "timed out" in text, text
    assert "No quorum" in text
    clock(server, paused=True)
    shots(page, artifacts, "no-quorum")
    clock(server, paused=False)
    page.locator("#etcd-drawer-close").click()

    # restart both: quorum is back, and the acknowledged write is still there
    for name in (current, second):
        card(page, name).click()
        menu_action(page, f"Restart {name}")
    wait_for(lambda: "3 of 3 alive, quorum 2: writes can commit" in quorum.inner_text(), message="quorum back", page=page)
    assert quorum.get_attribute("data-ok") == "true"
    page.wait_for_selector(".etcd-member[data-role='leader']", timeout=15_000)
    page.get_by_role("button", name="Keys & client").click()
    result = client_request(page, op="get", key="/lesson/x")
    assert result.get_attribute("data-state") == "ok", result.inner_text()
    assert "/lesson/x = 1" in result.inner_text()

    # a partition: a follower alone on side B; the majority still commits, the minority is stale
    leader = leader_name(page)
    minority = next(n for n in ("etcd-0", "etcd-1", "etcd-2") if n != leader)
    page.get_by_role("button", name="Partition…").click()
    page.wait_for_selector("#etcd-partition-dialog[open]")
    for name in ("etcd-0", "etcd-1", "etcd-2"):
        page.check(f"#etcd-partition-dialog input[name='side-{name}'][value='{1 if name == minority else 0}']")
    page.get_by_role("button", name="Apply partition").click()
    page.wait_for_selector("#etcd-partition-dialog", state="hidden")
    wait_for(lambda: page.locator(".cut-link").count() == 2, message="two cut links", page=page)
    assert "side B" in card(page, minority).inner_text()
    assert "cut off" in quorum.inner_text()
    result = client_request(page, op="put", key="/lesson/x", value="2", member=leader)
    assert result.get_attribute("data-state") == "ok", result.inner_text()
    result = client_request(page, op="get", key="/lesson/x", member=minority, consistency="serializable")
    assert result.get_attribute("data-state") == "stale", result.inner_text()
    assert "/lesson/x = 1" in result.inner_text()
    clock(server, paused=True)
    shots(page, artifacts, "partition")
    clock(server, paused=False)

    page.get_by_role("button", name="Heal network").click()
    wait_for(lambda: page.locator(".cut-link").count() == 0, message="links restored", page=page)
    assert unexpected(page.problems) == []


def test_force_an_election_timeout_from_the_menu(server, open_page):
    make_cluster(server, seed=5)
    page = open_page(f"/clusters/{CLUSTER}/")
    wait_connected(page)
    page.wait_for_selector(".etcd-member[data-role='leader']", timeout=15_000)
    clock(server, paused=True)  # paused, the (pre-)vote that follows stays on screen
    follower = page.eval_on_selector(".etcd-member[data-role='follower']", "e => e.dataset.component")
    card(page, follower).focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".etcd-menu:not([hidden])")
    page.keyboard.press("ArrowDown")  # Crash, then the timeout
    assert page.evaluate("document.activeElement.textContent").startswith("Force an election timeout")
    page.keyboard.press("Enter")
    page.wait_for_selector(".etcd-menu", state="hidden")
    page.wait_for_function(
        "name => document.querySelector(`.etcd-member[data-component='${name}']`).dataset.role.endsWith('candidate') || !document.getElementById('notice').hidden",
        arg=follower,
    )
    if page.locator("#notice").is_visible():
        assert "cannot force an election timeout" in page.locator("#notice").inner_text()
        pytest.skip("this server has no timeout fault action")
    assert "candidate" in card(page, follower).inner_text().lower()
    page.wait_for_selector("#dots-layer .msg-dot[data-rpc*='Vote']")  # its (pre-)vote requests fly
    server.api("DELETE", f"/api/clusters/{CLUSTER}")
    assert unexpected(page.problems) == []


def test_reduced_motion_shows_no_moving_dots(server, open_page, artifacts):
    make_cluster(server, seed=3)
    page = open_page(f"/clusters/{CLUSTER}/", reduced_motion="reduce", width=1366, height=768, color_scheme="dark")
    wait_connected(page)
    page.wait_for_selector(".etcd-member[data-role='leader']", timeout=15_000)
    # messages are drawn as static arrows with their names, never as moving dots
    page.wait_for_selector(".msg-static", timeout=10_000)
    for _ in range(10):
        assert page.locator(".msg-dot").count() == 0
        page.wait_for_timeout(50)
    # the arrows say what is on them, and the list says it in words
    page.wait_for_function("() => [...document.querySelectorAll('.msg-link-label')].some((e) => /♥|append|vote/.test(e.textContent))")
    assert page.locator("#in-flight").get_attribute("open") is not None
    page.wait_for_function("() => [...document.querySelectorAll('#in-flight-list li')].some((e) => /heartbeat|AppendEntries|vote/.test(e.textContent))")
    page.screenshot(path=artifacts / "etcd-reduced-motion-1366-dark.png")
    server.api("DELETE", f"/api/clusters/{CLUSTER}")
    assert unexpected(page.problems) == []


def test_a_follower_back_after_compaction_is_sent_the_snapshot(server, open_page, artifacts):
    """The teaching profile snapshots every 100 entries, keeping 50: a follower down for a few
    virtual minutes comes back behind the leader's log and gets an InstallSnapshot, drawn as
    its own mark; afterwards every card says "snapshot @ N" and the logs hatch what is gone."""
    make_cluster(server, paused=True, speed=1.0, seed=7)
    advance(server, 200)  # past the first snapshot (100 entries)
    state = server.api("GET", f"/api/clusters/{CLUSTER}/state")[1]
    leader = state["etcd"]["leader"]
    follower = next(m["name"] for m in state["etcd"]["members"] if m["name"] != leader)
    status, body = server.api("POST", f"/api/clusters/{CLUSTER}/faults", {"action": "crash", "target": follower})
    assert status == 200, body
    behind = next(m["log_length"] for m in server.api("GET", f"/api/clusters/{CLUSTER}/state")[1]["etcd"]["members"] if m["name"] == follower)
    for _ in range(20):  # until the leader has compacted past the follower's last entry
        advance(server, 30)
        members = server.api("GET", f"/api/clusters/{CLUSTER}/state")[1]["etcd"]["members"]
        if next(m for m in members if m["name"] == leader)["log_offset"] > behind:
            break
    assert next(m for m in members if m["name"] == leader)["log_offset"] > behind
    status, body = server.api("POST", f"/api/clusters/{CLUSTER}/faults", {"action": "restart", "target": follower})
    assert status == 200, body

    page = open_page(f"/clusters/{CLUSTER}/")
    wait_connected(page)
    # a tenth of a virtual second at a time until the snapshot is on its way (it flies 250-350 ms)
    after = server.api("GET", f"/api/clusters/{CLUSTER}/events?after=0&limit=1")[1]["last_seq"]
    for _ in range(100):
        advance(server, 0.1)
        page_ = server.api("GET", f"/api/clusters/{CLUSTER}/events?after={after}&limit=1000")[1]
        after = page_["last_seq"]
        if any(e["kind"] == "net.send" and e["data"].get("kind") == "raft.InstallSnapshot" for e in page_["events"]):
            break
    page.wait_for_selector("#dots-layer .msg-dot[data-rpc='InstallSnapshot']", timeout=10_000)
    dot = page.locator("#dots-layer .msg-dot[data-rpc='InstallSnapshot']").first
    assert "snapshot" in (dot.get_attribute("class") or "")  # its own mark: a thick-edged square "S"
    assert dot.locator("text").text_content() == "S"
    shots(page, artifacts, "install-snapshot")

    advance(server, 5)
    state = server.api("GET", f"/api/clusters/{CLUSTER}/state")[1]
    views = {m["name"]: m for m in state["etcd"]["members"]}
    assert views[follower]["snapshot_index"] > behind and views[follower]["revision"] == state["etcd"]["revision"]
    for name, view in views.items():
        assert view["snapshot_index"] > 0
        page.wait_for_function(
            "([name, n]) => document.querySelector(`.etcd-member[data-component='${name}'] .fact.snapshot`)?.textContent.includes(`@${n}`)",
            arg=[name, view["snapshot_index"]],
        )
    assert page.locator(".log-cell.compacted").count() > 0 and page.locator(".log-cell.snapshot-edge").count() >= 1
    assert_model_matches_server(page, server)
    shots(page, artifacts, "after-snapshot")
    server.api("DELETE", f"/api/clusters/{CLUSTER}")
    assert unexpected(page.problems) == []
