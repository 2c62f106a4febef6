"""The cluster page against the real server: time, clock controls, speed, step, advance, theme."""

import pytest

from .helpers import blur, shown_time, wait_connected, wait_for

pytestmark = pytest.mark.browser


def test_page_loads_without_console_errors_and_time_moves(server, open_page, artifacts):
    server.reset_demo(paused=False, speed=1.0)
    page = open_page("/clusters/demo/")
    wait_connected(page)
    page.wait_for_selector("#clock-state:text('running')")
    first = shown_time(page)
    page.wait_for_timeout(1200)
    second = shown_time(page)
    assert second - first > 0.6, (first, second)
    # never more than about a frame ahead of the server
    assert second <= server.api("GET", "/api/clusters/demo")[1]["time"] + 0.5
    assert page.locator("#event-log .ev").count() >= 1  # history fetched with the snapshot
    page.screenshot(path=artifacts / "cluster-live-1920-light.png")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.wait_for_timeout(150)
    page.screenshot(path=artifacts / "cluster-live-1366-light.png")
    assert page.problems == []


def test_pause_and_play_by_click_and_keyboard(server, open_page):
    server.reset_demo(paused=False, speed=1.0)
    page = open_page("/clusters/demo/")
    wait_connected(page)
    play = page.locator("#btn-play")

    play.click()
    page.wait_for_selector("#btn-play[data-paused=true]")
    assert server.api("GET", "/api/clusters/demo")[1]["paused"] is True
    held = shown_time(page)
    page.wait_for_timeout(1000)
    assert shown_time(page) == held
    assert held == pytest.approx(server.api("GET", "/api/clusters/demo")[1]["time"], abs=0.0006)

    play.click()
    page.wait_for_selector("#btn-play[data-paused=false]")
    wait_for(lambda: shown_time(page) > held + 0.3, message="time to move after play")

    blur(page)
    page.keyboard.press("Space")
    page.wait_for_selector("#btn-play[data-paused=true]")
    held = shown_time(page)
    page.wait_for_timeout(600)
    assert shown_time(page) == held
    page.keyboard.press("Space")
    page.wait_for_selector("#btn-play[data-paused=false]")
    wait_for(lambda: shown_time(page) > held + 0.3, message="time to move after Space")

    page.keyboard.press("?")
    page.wait_for_selector("#help-dialog[open]")
    page.keyboard.press("Escape")
    page.wait_for_selector("#help-dialog:not([open])", state="attached")
    assert page.problems == []


def test_speed_slider_is_logarithmic_and_reaches_the_server(server, open_page):
    server.reset_demo(paused=False, speed=1.0)
    page = open_page("/clusters/demo/")
    wait_connected(page)
    speed_of_demo = lambda: server.api("GET", "/api/clusters/demo")[1]["speed"]  # noqa: E731
    slider = page.locator("#speed")

    slider.focus()
    page.keyboard.press("End")
    wait_for(lambda: speed_of_demo() == 100, message="speed 100")
    assert page.locator("#speed-value").inner_text() == "100×"
    page.keyboard.press("Home")
    wait_for(lambda: speed_of_demo() == 0.01, message="speed 0.01")
    assert slider.input_value() == "-2"

    slider.fill("1")  # log10: the middle of the right half is 10x, not 50x
    wait_for(lambda: speed_of_demo() == 10, message="speed 10")

    blur(page)
    page.keyboard.press("+")
    wait_for(lambda: speed_of_demo() == 20, message="speed 20 after +")
    page.keyboard.press("-")
    page.keyboard.press("-")
    wait_for(lambda: speed_of_demo() == 5, message="speed 5 after - -")
    page.wait_for_selector("#clock-state:text('running at 5×')")
    server.reset_demo(paused=False, speed=1.0)
    page.wait_for_selector("#speed-value:text('1×')")
    assert page.problems == []


def test_step_and_advance_move_a_paused_cluster(server, open_page):
    server.reset_demo(paused=True, speed=1.0)
    page = open_page("/clusters/demo/")
    wait_connected(page)
    page.wait_for_selector("#btn-step:enabled")
    before = server.api("GET", "/api/clusters/demo")[1]

    page.locator("#btn-step").click()
    summary = lambda: server.api("GET", "/api/clusters/demo")[1]  # noqa: E731
    moved = lambda s: (s["last_seq"], s["time"]) != (before["last_seq"], before["time"])  # noqa: E731
    nothing_to_step = page.locator("#notice").filter(has_text="Nothing to step")
    wait_for(lambda: moved(summary()) or nothing_to_step.is_visible(), message="a step or its explanation")
    after = summary()
    if moved(after):
        # the step executed an action: the page shows where it left the clock
        wait_for(lambda: shown_time(page) == pytest.approx(after["time"], abs=0.0006), message="stepped time")

    start = summary()["time"]
    page.locator("#advance-seconds").fill("2.5")
    page.locator("#btn-advance").click()
    wait_for(lambda: shown_time(page) == pytest.approx(start + 2.5, abs=0.0006), message="advanced time")
    assert summary()["time"] == pytest.approx(start + 2.5, abs=1e-6)

    blur(page)
    page.keyboard.press(".")  # step shortcut: a request, and no error
    page.wait_for_timeout(200)
    server.reset_demo(paused=False, speed=1.0)
    page.wait_for_selector("#btn-step:disabled")
    assert page.locator("#btn-advance").is_disabled()
    assert page.problems == []


def test_dark_theme_toggles_and_is_remembered(server, open_page, artifacts):
    server.reset_demo(paused=False, speed=1.0)
    page = open_page("/clusters/demo/")
    wait_connected(page)
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    light_bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.locator("#btn-theme").click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.locator("#btn-theme").get_attribute("aria-pressed") == "true"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != light_bg
    page.reload()
    wait_connected(page)
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.screenshot(path=artifacts / "cluster-live-1920-dark.png")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.wait_for_timeout(150)
    page.screenshot(path=artifacts / "cluster-live-1366-dark.png")
    page.locator("#btn-theme").click()
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    assert page.problems == []


def test_system_dark_preference_is_the_default(server, open_page):
    page = open_page("/clusters/demo/", color_scheme="dark")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"


def test_controls_are_labelled_for_screen_readers(server, open_page):
    server.reset_demo(paused=False, speed=1.0)  # the clock button says "Pause" while it runs
    page = open_page("/clusters/demo/")
    wait_connected(page)
    for role, name in [("button", "Pause the clock"), ("button", "Step"), ("slider", "Speed"), ("button", "Keyboard shortcuts")]:
        assert page.get_by_role(role, name=name).count() == 1, (role, name)
    assert page.locator("#conn").get_attribute("aria-live") == "polite"
    assert page.locator("#announcer").get_attribute("aria-live") == "polite"
    assert page.locator("#clock-time").get_attribute("role") == "timer"
    # keyboard reachable: Tab from the top reaches the play button with a visible focus ring
    page.keyboard.press("Tab")  # skip link
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "btn-play":
            break
    assert page.evaluate("document.activeElement.id") == "btn-play"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
