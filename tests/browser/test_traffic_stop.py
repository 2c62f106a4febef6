"""Stopping traffic from the Services and traffic panel (DELETE /api/clusters/<name>/traffic/
<generator>): the client's line has a Stop button while it sends; after it, nothing more is
sent, the requests in flight finish, and the line says done with the counts the server has."""

import pytest

from .helpers import wait_connected, wait_for
from .test_traffic_panel import DEMO, advance, web_ready_everywhere

pytestmark = pytest.mark.browser


def generator_view(server, name):
    return next(g for g in server.api("GET", f"{DEMO}/traffic")[1]["generators"] if g["name"] == name)


def test_stop_from_the_panel(open_page, server):
    server.reset_demo(paused=True)
    nodes = web_ready_everywhere(server)
    page = open_page("/clusters/demo/")
    wait_connected(page, 60_000)
    source = sorted(nodes[0]["services"]["default/web"]["pods"])[0]
    status, body = server.api("POST", f"{DEMO}/traffic", {"service": "web", "rate": 10, "seconds": 30, "source": source})
    assert status == 202, body
    generator = body["generator"]
    advance(server, 1.55)
    line = f".traffic-client[data-generator='{generator}']"
    page.wait_for_selector(f"{line}[data-state='running'] [data-stop-generator]")
    page.click(f"{line} [data-stop-generator]")
    wait_for(lambda: f"{generator} stopped after" in page.inner_text("#traffic-form-note"), page=page, message="the stop's answer")
    sent = generator_view(server, generator)["sent"]
    assert 15 <= sent <= 17  # 10 a second for 1.55 s
    advance(server, 12.0)
    page.wait_for_selector(f"{line}[data-state='done']")
    view = generator_view(server, generator)
    assert (view["state"], view["sent"], view["requests"], view["done"]) == ("done", sent, sent, sent)
    assert f"{sent} of {sent} sent" in page.inner_text(line)
    assert page.locator(f"{line} [data-stop-generator]").count() == 0
    assert page.problems == []
