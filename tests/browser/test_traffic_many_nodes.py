"""The traffic panel on a cluster with more nodes than it draws chains for: it reads the rules
of the nodes it shows (one request each), never of every node (a 1,000-node cluster made
1,000 requests), says how many more there are, and a node's card in the worker nodes still
opens that node's rules, which then get their chain."""

import re

import pytest

from .helpers import wait_connected, wait_for
from .test_traffic_panel import web_app

pytestmark = pytest.mark.browser

NAME = "traffic-many"
NODES = 11  # the panel draws 8
RULES = re.compile(r"/api/clusters/traffic-many/proxy/([^/]+)/rules")


def test_rules_are_read_for_the_nodes_shown_only(open_page, server, artifacts):
    server.api("DELETE", f"/api/clusters/{NAME}")
    status, body = server.api("POST", "/api/clusters", {"name": NAME, "nodes": NODES, "seed": 5, "paused": True, "profile": "teaching"})
    assert status == 201, body
    web_app(server, NAME, replicas=2)
    for _ in range(40):
        nodes = server.api("GET", f"/api/clusters/{NAME}/state")[1]["proxy"]["nodes"]
        if len(nodes) == NODES and all(len(n["services"].get("default/web", {}).get("pods", [])) == 2 for n in nodes):
            break
        server.api("POST", f"/api/clusters/{NAME}/advance", {"seconds": 2.0})
    else:
        raise AssertionError("web never got its endpoints on every node")
    names = sorted((n["node"] for n in nodes), key=lambda n: [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", n)])

    asked = []
    page = open_page(f"/clusters/{NAME}/", before=lambda p: p.on("request", lambda r: (m := RULES.search(r.url)) and asked.append(m.group(1))))
    wait_connected(page, 60_000)
    wait_for(lambda: page.locator(".traffic-node .chain-rule").count() == 16, timeout=60, page=page, message="two rules on each of the eight nodes drawn")
    assert page.locator(".traffic-node").evaluate_all("cards => cards.map((c) => c.dataset.node)") == names[:8]
    assert page.inner_text(".traffic-more-nodes").startswith("… and 3 more nodes")
    page.wait_for_timeout(1500)  # a views refresh or two: still no request for a node not shown
    assert sorted(set(asked)) == sorted(names[:8]), asked
    assert len(asked) == 8, asked

    # a node not drawn: its card in the worker nodes opens its rules, and its chain joins the panel
    last = names[-1]
    page.click(f".node-card[data-node='{last}'] .node-head h3")
    page.wait_for_selector("#traffic-viewer:not([hidden])")
    wait_for(lambda: f"Rules on {last} (" in page.text_content(".traffic-viewer-head h3") and "KUBE-SERVICES" in page.text_content(".traffic-rules-text"),
             timeout=30, page=page, message=f"the rules of {last}")
    wait_for(lambda: page.locator(f".traffic-node[data-node='{last}'] .chain-rule").count() == 2, timeout=30, page=page, message="its chain drawn")
    assert page.locator(".traffic-node").count() == 8
    assert last in asked and len(set(asked)) == 9
    page.evaluate("document.querySelector('.traffic-more-nodes').scrollIntoView({block: 'center'})")
    page.screenshot(path=artifacts / "traffic-many-nodes-1920-light.png")
    assert page.problems == []
    server.api("DELETE", f"/api/clusters/{NAME}")
