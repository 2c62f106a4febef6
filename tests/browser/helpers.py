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
