"""Presentation mode in a real browser: entered with `p` (and left with Esc), by the header's
button and by `?present=1`; the chrome is hidden and the type larger; a clicker's keys run the
lesson's next step (PageDown), pause and resume (PageUp, b, .), change the speed (arrows); `?`
shows the keys. Checked against the server's clock and the lesson run, not just the page."""

import pytest

from dashboard.capture.browser import View

from .helpers import screenshots, wait_connected, wait_for

pytestmark = pytest.mark.browser

LESSON = "controllers-reconcile"
CHROME = ["#timeline", "#advance-form", "#btn-play", ".log-panel", ".legend", ".etcd-tools", "#btn-lesson", "#btn-export-svg"]


def clock(server, cluster: str) -> dict:
    status, summary = server.api("GET", f"/api/clusters/{cluster}")
    assert status == 200, summary
    return summary


def root_font_px(page) -> float:
    return page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")


def test_keys_hide_the_chrome_and_drive_the_clock(server, open_page):
    status, created = server.api("POST", "/api/clusters", {"name": "present-keys", "speed": 1, "paused": False})
    assert status == 201, created
    page = open_page("/clusters/present-keys/")
    wait_connected(page)
    normal_font = root_font_px(page)
    assert all(page.locator(sel).is_visible() for sel in CHROME)
    assert page.locator("#btn-present .present-word").inner_text() == "Present"

    page.keyboard.press("p")
    assert page.evaluate("() => document.documentElement.classList.contains('present-mode')")
    assert page.url.endswith("/clusters/present-keys/?present=1")  # a reload keeps the mode
    assert [sel for sel in CHROME if page.locator(sel).is_visible()] == []
    assert page.locator("#clock-time").is_visible() and page.locator("#clock-state").is_visible()
    assert root_font_px(page) > normal_font * 1.1
    assert page.locator("#btn-present").get_attribute("aria-pressed") == "true"

    # `?`: the keys, in words; Esc closes the help first, not the mode
    page.keyboard.press("?")
    help_ = page.locator("#present-help")
    assert help_.is_visible()
    rows = help_.locator("dd").all_inner_texts()
    assert rows == ["Run the next lesson step", "Pause or resume the clock", "Faster", "Slower", "Show or hide these keys", "Leave presentation mode"]
    assert help_.locator("dt").first.inner_text() == "PgDn → N"
    page.keyboard.press("Escape")
    assert not help_.is_visible()
    assert page.evaluate("() => document.documentElement.classList.contains('present-mode')")

    # a clicker's back and blank-screen buttons pause and resume; the arrows change the speed
    page.keyboard.press("PageUp")
    wait_for(lambda: clock(server, "present-keys")["paused"], message="PageUp to pause the cluster")
    page.locator("#clock-state:text('paused')").wait_for()
    page.keyboard.press("b")
    wait_for(lambda: not clock(server, "present-keys")["paused"], message="b to resume it")
    page.locator("#clock-state:text('running')").wait_for()  # the page toggles what it shows
    page.keyboard.press(".")
    wait_for(lambda: clock(server, "present-keys")["paused"], message=". to pause it again")
    page.locator("#clock-state:text('paused')").wait_for()
    page.keyboard.press("ArrowUp")
    wait_for(lambda: clock(server, "present-keys")["speed"] == 2, message="ArrowUp: 2x")
    page.keyboard.press("ArrowUp")
    wait_for(lambda: clock(server, "present-keys")["speed"] == 5, message="ArrowUp again: 5x")
    page.keyboard.press("ArrowDown")
    wait_for(lambda: clock(server, "present-keys")["speed"] == 2, message="ArrowDown: back to 2x")

    # no lesson here: PageDown says so instead of doing nothing silently
    page.keyboard.press("PageDown")
    page.locator("#notice:text('No lesson step to run here')").wait_for()

    page.keyboard.press("Escape")
    assert not page.evaluate("() => document.documentElement.classList.contains('present-mode')")
    assert page.url.endswith("/clusters/present-keys/")
    assert all(page.locator(sel).is_visible() for sel in CHROME)
    assert abs(root_font_px(page) - normal_font) < 0.01

    # the header's button does the same
    page.locator("#btn-present").click()
    assert page.locator(".log-panel").is_hidden()
    page.locator("#btn-present").click()
    assert page.locator(".log-panel").is_visible()
    server.api("DELETE", "/api/clusters/present-keys")
    assert page.problems == []


def test_a_clicker_steps_a_lesson_in_presentation_mode(server, open_page, artifacts):
    status, report = server.api("POST", f"/api/scenarios/{LESSON}/runs", {"mode": "live", "lang": "en", "profile": "teaching"})
    assert status == 201, report
    cluster, run = report["clusters"]["main"], report["run"]
    page = open_page(f"/clusters/{cluster}/?lesson={LESSON}&run={run}&present=1")
    page.wait_for_selector("#conn[data-state=connected]", state="attached")  # presenting hides "connected" (a problem still shows)
    page.locator(".lesson-now[data-step='0'] .lesson-next").wait_for()
    assert page.evaluate("() => document.documentElement.classList.contains('present-mode')")  # from the address, before the first paint
    assert page.locator(".log-panel").is_hidden() and page.locator("#lesson-panel").is_visible()
    screenshots(page, artifacts, "present-lesson")

    page.keyboard.press("PageDown")
    wait_for(lambda: (lambda r: r["state"] == "running" or len(r["steps"]) > 0)(server.api("GET", f"/api/scenarios/{LESSON}/runs/{run}")[1]),
             message="PageDown to start step 1")
    server.api("PATCH", f"/api/clusters/{cluster}/clock", {"paused": False, "speed": 20})
    page.locator(".lesson-done[data-step='0']").wait_for(timeout=60_000)
    server.api("PATCH", f"/api/clusters/{cluster}/clock", {"paused": True})
    assert page.locator(".lesson-now[data-step='1'] .lesson-step-title").inner_text() == "Delete a pod"
    screenshots(page, artifacts, "present-lesson-step2")

    # the class's prediction is a radio button: with it focused, its arrows stay its own, but the
    # clicker's PageDown still runs the step, and the prediction goes with it
    page.locator("label.lesson-choice").nth(1).click()
    page.keyboard.press("ArrowRight")  # the radio's: the next choice, not a lesson step
    assert page.locator("input[name=lesson-choice-1][value='2']").is_checked()
    assert len(server.api("GET", f"/api/scenarios/{LESSON}/runs/{run}")[1]["steps"]) == 1
    page.keyboard.press("PageDown")
    server.api("PATCH", f"/api/clusters/{cluster}/clock", {"paused": False})
    page.locator(".lesson-done[data-step='1']").wait_for(timeout=60_000)
    server.api("PATCH", f"/api/clusters/{cluster}/clock", {"paused": True})
    assert server.api("GET", f"/api/scenarios/{LESSON}/runs/{run}")[1]["steps"][1]["choice"] == 2
    for name in report["clusters"].values():
        server.api("DELETE", f"/api/clusters/{name}")
    assert page.problems == []


def test_pictures_ask_for_presentation_mode():
    """manage.py screenshot --present and ?present=1 on the picture API open the page with the kiosk option."""
    assert "present=1" in View(present=True).query().split("&")
    assert "present" not in View().query()
