"""Small helpers shared by the browser tests."""

import time


def shown_time(page) -> float:
    """The virtual time the page shows ("12.345 s")."""
    return float(page.locator("#clock-time").inner_text().split()[0])


def wait_connected(page, timeout_ms: int = 10_000) -> None:
    page.wait_for_selector("#conn[data-state=connected]", timeout=timeout_ms)


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.05, message: str = "condition", page=None):
    """Poll predicate until truthy. With `page`, wait through Playwright so it keeps dispatching
    (routed WebSocket messages are only delivered while Playwright has control)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        if page is not None:
            page.wait_for_timeout(interval * 1000)
        else:
            time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message} (last value: {last!r})")


def blur(page) -> None:
    """Move focus off any control so page-level shortcuts apply."""
    page.evaluate("document.activeElement && document.activeElement.blur()")


SIZES = [(1920, 1080), (1366, 768)]  # projector, laptop
NEXT_FRAMES = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(done))))"


def screenshots(page, artifacts, stem, *, show=None) -> None:
    """The page at both sizes in both themes (take it while paused): `<stem>-<width>-<theme>.png`.
    `show(page)` runs before each shot (e.g. scroll a panel into view); the page must never
    scroll sideways."""
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        for theme in ("light", "dark"):
            page.evaluate("t => document.documentElement.setAttribute('data-theme', t)", theme)
            page.evaluate(NEXT_FRAMES)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            if show is not None:
                show(page)
            page.screenshot(path=artifacts / f"{stem}-{width}-{theme}.png")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.evaluate("document.documentElement.setAttribute('data-theme', 'light')")
