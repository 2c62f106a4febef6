"""The timeline scrubber in the header: scrub back, the whole view shows that moment; play
forward replays it; an action in the past forks, and the old future can be restored."""

import pytest

from .helpers import shown_time, wait_connected, wait_for

pytestmark = pytest.mark.browser


def scrub(page, seconds: float) -> None:
    page.eval_on_selector("#timeline-range", "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input')); el.dispatchEvent(new Event('change')); }", seconds)


def test_scrub_back_replay_and_branch(server, open_page, artifacts):
    name = "scrub"
    server.api("DELETE", f"/api/clusters/{name}")
    assert server.api("POST", "/api/clusters", {"name": name, "seed": 9, "paused": True, "nodes": 1})[0] == 201
    server.api("POST", f"/api/clusters/{name}/advance", {"seconds": 20})
    server.api("POST", f"/api/clusters/{name}/faults", {"action": "crash", "target": "etcd-1"})
    server.api("POST", f"/api/clusters/{name}/advance", {"seconds": 20})
    end = server.api("GET", f"/api/clusters/{name}")[1]["state_hash"]

    page = open_page(f"/clusters/{name}/")
    wait_connected(page)
    page.wait_for_selector("#timeline-status:text('present')")
    assert page.locator("#timeline-range").get_attribute("max") == "40"
    assert page.locator("#timeline-live").is_hidden()

    # Back to 10 s: before the crash. The whole view follows (a fresh snapshot of then).
    scrub(page, 10)
    wait_for(lambda: server.api("GET", f"/api/clusters/{name}")[1]["time"] == 10, message="the server to seek")
    wait_for(lambda: abs(shown_time(page) - 10) < 0.01, message="the page clock to show 10 s", page=page)
    page.wait_for_selector("#timeline-status:text('in the past: 1 recorded action ahead')")
    page.wait_for_selector("#timeline-live:visible")
    assert page.locator("#timeline-time").text_content().strip() == "10.0 s / 40.0 s"
    for theme, size in (("light", (1920, 1080)), ("dark", (1366, 768))):
        page.emulate_media(color_scheme=theme)
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.wait_for_timeout(200)
        page.screenshot(path=artifacts / f"timeline-past-{size[0]}-{theme}.png")

    # "Back to the present" replays the recorded crash: the same state as before.
    page.click("#timeline-live")
    page.wait_for_selector("#timeline-status:text('present')")
    assert server.api("GET", f"/api/clusters/{name}")[1]["state_hash"] == end

    # An action in the past forks: the old future is listed and can be restored.
    scrub(page, 10)
    page.wait_for_selector("#timeline-status:text('in the past')")
    assert server.api("POST", f"/api/clusters/{name}/faults", {"action": "crash", "target": "etcd-2"})[0] == 200
    page.wait_for_selector("#timeline-branch option:text('parts at 10.0 s, ran to 40.0 s')", state="attached")
    page.wait_for_selector("#timeline-status:text('present')")
    page.screenshot(path=artifacts / "timeline-branch-1366-dark.png")
    page.click("#timeline-branch-go")
    page.wait_for_selector("#timeline-status:text('in the past')")
    page.click("#timeline-live")
    wait_for(lambda: server.api("GET", f"/api/clusters/{name}")[1]["state_hash"] == end, message="the old future restored")
    page.wait_for_selector("#timeline-branch option:text('parts at 10.0 s, ran to 10.0 s')", state="attached")
    page.click("#timeline-branch-drop")
    page.wait_for_selector(".timeline-branches", state="hidden")
    assert page.problems == []
    server.api("DELETE", f"/api/clusters/{name}")
