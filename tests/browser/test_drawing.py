"""The drawing, from a scripted stream (tests/browser/scene.py): components, messages in flight
placed by virtual time, drops, crashes, partitions, the event log, reduced motion, resync."""

import pytest

from .helpers import wait_connected, wait_for
from .scene import T0, FakeStream, event, snapshot, story

pytestmark = pytest.mark.browser


def clock(time, *, paused=False, speed=1.0):
    return {"time": time, "paused": paused, "speed": speed, "lagging": False}


def open_scene(open_page, first_frame, **kwargs):
    holder = {}

    def route(page):
        holder["stream"] = FakeStream(page, first_frame).install()

    page = open_page("/clusters/demo/", before=route, **kwargs)
    wait_connected(page)
    page.wait_for_selector(".comp[data-component='etcd-0']")
    return page, holder["stream"]


def dot_position(page, msg_id):
    return page.locator(f".msg-dot[data-msg='{msg_id}']").get_attribute("transform")


def test_components_messages_crash_and_partition(open_page, artifacts):
    page, stream = open_scene(open_page, snapshot(paused=True))
    # every component drawn once, in its area
    assert page.locator("#cp-etcd .comp").count() == 3
    assert page.locator("#cp-k8s .comp").count() == 4
    assert page.locator("#nodes-body .node-card").count() == 3
    assert page.locator("#nodes-body .comp").count() == 9
    leader = page.locator(".comp[data-component='etcd-0']")
    assert "role-leader" in leader.get_attribute("class")
    assert "term 3" in leader.inner_text()

    # paused: every dot holds still where virtual time puts it
    assert page.locator(".msg-dot").count() == 8
    held = dot_position(page, 103)
    page.wait_for_timeout(300)
    assert dot_position(page, 103) == held

    # virtual time moves on (a step, say): the dot is further along its flight, not animated there
    stream.send({"type": "clock", "clock": clock(T0 + 0.15, paused=True)})
    page.wait_for_selector("#clock-time:text('42.150 s')")
    assert dot_position(page, 103) != held
    # apiserver -> etcd-0, sent 41.90, arrives 42.25: at 42.15 it is 5/7 of the way
    x = page.evaluate("""() => {
        const box = (n) => document.querySelector(`.comp[data-component='${n}']`).getBoundingClientRect();
        const dot = document.querySelector(".msg-dot[data-msg='103']").getBoundingClientRect();
        const a = box("apiserver"), b = box("etcd-0");
        return [a.right, b.left, dot.left + dot.width / 2];
    }""")
    assert x[0] < x[2] < x[1]
    assert (x[2] - x[0]) / (x[1] - x[0]) == pytest.approx(5 / 7, abs=0.08)

    # a batch with a crash and a dropped message, in contiguous seq order
    stream.send({"type": "events", "events": story(), "clock": clock(T0 + 0.15, paused=True)})
    page.wait_for_selector(".comp[data-component='etcd-2'].is-crashed")
    assert "crashed" in page.locator(".comp[data-component='etcd-2']").inner_text()
    page.wait_for_selector(".msg-dot.msg-drop[data-msg='202']")
    assert page.locator(".msg-drop .cross").count() >= 1
    assert page.locator("#event-log .ev").filter(has_text="etcd-2 crashed").count() == 1
    assert stream.received[-1] == {"type": "ack", "seq": 510}

    # a partition: sides labelled, links between the sides cut
    stream.send(
        {
            "type": "events",
            "events": [
                event(511, T0 + 0.15, "net.partition", "network", "network partitioned into etcd-0, etcd-1 | etcd-2", groups=[["etcd-0", "etcd-1"], ["etcd-2"]])
            ],
        }
    )
    page.wait_for_selector(".comp[data-component='etcd-2'] .badge-side:text('side B')")
    assert page.locator(".cut-link").count() == 2
    page.screenshot(path=artifacts / "scene-1920-light-paused-faults.png")
    stream.send({"type": "events", "events": [event(512, T0 + 0.15, "net.heal", "network", "network healed: every link restored", groups=[])]})
    wait_for(lambda: page.locator(".cut-link").count() == 0, message="cut links gone after heal", page=page)

    # raft events keep the members' boxes current between snapshots
    stream.send(
        {
            "type": "events",
            "events": [
                event(513, T0 + 0.15, "raft.role", "etcd-1", "etcd-1 becomes leader (term 4)", role="leader", term=4, leader="etcd-1"),
                event(514, T0 + 0.15, "raft.commit", "etcd-1", "etcd-1 learns that entries up to 45 are committed", commit=45, term=4),
            ],
        }
    )
    page.wait_for_selector(".comp[data-component='etcd-1'].role-leader")
    assert "term 4" in page.locator(".comp[data-component='etcd-1']").inner_text()
    assert "commit 45" in page.locator(".comp[data-component='etcd-1']").inner_text()
    assert page.problems == []


def test_event_log_filters_holds_still_and_stays_bounded(open_page):
    page, stream = open_scene(open_page, snapshot(paused=True))
    stream.send({"type": "events", "events": story(), "clock": clock(T0, paused=True)})
    page.wait_for_selector("#event-log .ev[data-seq='510']")
    net_rows = page.locator("#event-log .ev[data-group='net']")
    assert net_rows.count() == 4
    page.locator("#log-filters .chip[data-group='net']").click()
    assert page.locator("#log-filters .chip[data-group='net']").get_attribute("aria-pressed") == "false"
    assert net_rows.count() == 0
    page.locator("#log-filters .chip-all").click()
    assert net_rows.count() == 4

    # 700 more events: the DOM keeps at most 500 rows and follows the newest
    many = [event(510 + i, T0 + i / 1000, "raft.heartbeat", "etcd-0", f"heartbeat number {i}") for i in range(1, 701)]
    stream.send({"type": "events", "events": many, "clock": clock(T0 + 0.7, paused=True)})
    page.wait_for_selector("#event-log .ev[data-seq='1210']")
    assert page.locator("#event-log li").count() <= 500
    assert page.evaluate("(() => { const l = document.getElementById('event-log'); return l.scrollHeight - l.scrollTop - l.clientHeight; })()") < 30

    # scrolled up, the log holds still and offers the latest
    page.evaluate("document.getElementById('event-log').scrollTop = 0")
    page.wait_for_selector("#jump-latest:visible")
    first_row = page.locator("#event-log li").first.inner_text()
    stream.send({"type": "events", "events": [event(1211, T0 + 0.8, "raft.heartbeat", "etcd-0", "one more heartbeat")]})
    page.wait_for_selector("#jump-latest:text('1 new event')")
    assert page.locator("#event-log li").first.inner_text() == first_row
    assert page.locator("#event-log .ev[data-seq='1211']").count() == 0
    page.locator("#jump-latest").click()
    page.wait_for_selector("#event-log .ev[data-seq='1211']")
    assert page.locator("#jump-latest").is_hidden()
    assert page.problems == []


def test_gap_and_clock_regression_ask_for_a_fresh_snapshot(open_page):
    page, stream = open_scene(open_page, snapshot(paused=True))
    stream.send({"type": "events", "events": [event(505, T0, "raft.heartbeat", "etcd-0", "after a gap")]})
    wait_for(lambda: {"type": "resync"} in stream.received, message="resync after a seq gap", page=page)
    assert page.locator("#event-log .ev[data-seq='505']").count() == 0
    stream.received.clear()
    stream.send(snapshot(paused=True, time=T0 + 1, seq=600))
    page.wait_for_selector("#clock-time:text('43.000 s')")
    stream.send({"type": "clock", "clock": clock(3.0, paused=True)})  # time went backwards: a different history
    wait_for(lambda: {"type": "resync"} in stream.received, message="resync after time went backwards", page=page)
    assert page.problems == []


def test_reduced_motion_draws_static_links_not_moving_dots(open_page, artifacts):
    page, stream = open_scene(open_page, snapshot(paused=False, faults=True), reduced_motion="reduce", width=1366, height=768, color_scheme="dark")
    stream.run_clock(start=T0, speed=1.0, seconds=0.3)
    assert page.locator(".msg-dot").count() == 0
    assert page.locator(".msg-static").count() >= 5
    labels = page.eval_on_selector_all(".msg-link-label", "els => els.map((e) => e.textContent)")
    assert "Txn" in labels
    assert page.locator("#in-flight").get_attribute("open") is not None
    assert page.locator("#in-flight-list li").count() >= 5
    assert page.locator(".comp[data-component='etcd-2'].is-crashed").count() == 1
    page.screenshot(path=artifacts / "scene-1366-dark-reduced-motion.png")
    assert page.problems == []


@pytest.mark.parametrize(
    "width,height,theme,faults",
    [(1920, 1080, "light", False), (1920, 1080, "dark", True), (1366, 768, "light", True), (1366, 768, "dark", False)],
)
def test_scene_screenshots(open_page, artifacts, width, height, theme, faults):
    page, stream = open_scene(open_page, snapshot(paused=False, faults=faults), width=width, height=height, color_scheme=theme)
    stream.send({"type": "events", "events": story(), "clock": clock(T0 + 0.1)})
    stream.run_clock(start=T0 + 0.1, speed=1.0, seconds=0.2)
    # nothing spills out of its area: the stage and the log fit the screen
    assert page.evaluate("document.documentElement.scrollHeight") <= height + 1
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=artifacts / f"scene-{width}-{theme}{'-faults' if faults else ''}.png")
    assert page.problems == []
