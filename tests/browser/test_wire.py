"""The compact wire format in the browser: static/js/wire.js reads what dashboard/wire.py packs back
to exactly the plain events (odd ones, every join point, across epochs), and the cluster page,
which asks for the compact stream, holds the same events as a page on the plain one for less than
half the bytes."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard import wire
from tests.dashboard.test_wire import CLOCK, ODD, Log, plain, traffic_cluster

from .helpers import wait_connected, wait_for
from .test_traffic_panel import DEMO, advance, web_ready_everywhere

pytestmark = pytest.mark.browser

READ = """async (streams) => {
  const { WireReader } = await import("/static/js/wire.js");
  const read = streams.map(({ table, frames }) => {
    const reader = new WireReader();
    if (reader.read(table) !== null) throw new Error("a table frame is kept, not handed on");
    return frames.flatMap((frame) => reader.read(frame).events);
  });
  return JSON.stringify(read); // JSON: as a page would hand it on (Playwright's own transfer drops a "__proto__" key)
}"""


def packed_streams(encoder, first, last, joins, step):
    """For each join point: the table frame and the packed frames a viewer joining there gets."""
    streams = []
    for after in joins:
        frames = [json.loads(encoder.frame(a, min(a + step, last), CLOCK)) for a in range(after, last, step)]
        streams.append({"table": {"type": "strings", "seq": after, "strings": encoder.strings_at(after)}, "frames": frames})
    return streams


def test_the_page_reads_packed_frames_exactly_as_python_packs_them(open_page, monkeypatch):
    monkeypatch.setattr(wire, "EPOCH_EVENTS", 300)  # several epochs in a short run
    cluster = traffic_cluster()
    start = cluster.last_seq
    cluster.advance(4_000_000)  # 4 virtual seconds
    end = cluster.last_seq
    encoder = wire.encoder_at(cluster, start)
    assert encoder.reach(cluster, end) and len(encoder.epochs) > 3
    joins = [start, start + 1, start + 299, start + 300, start + 301, (start + end) // 2]
    odd = Log(ODD)
    odd_encoder = wire.encoder_at(odd, 0)
    assert odd_encoder.reach(odd, len(ODD))

    page = open_page("/")
    read = json.loads(page.evaluate(READ, packed_streams(encoder, start, end, joins, 40) + packed_streams(odd_encoder, 0, len(ODD), range(len(ODD)), 3)))
    expected = plain(cluster.events_since(start, end - start))
    for after, events in zip(joins, read, strict=False):
        assert events == expected[after - start:], after
    for after, events in zip(range(len(ODD)), read[len(joins):], strict=True):
        assert events == plain(ODD[after:]), after
    assert page.problems == []


@pytest.fixture
def paused_demo(server):
    """The demo paused for the test, then running again, as the tests that follow expect it."""
    server.reset_demo(paused=True)
    yield
    server.reset_demo(paused=False)


def test_the_cluster_page_on_the_compact_stream_holds_what_a_plain_page_holds(open_page, server, artifacts, paused_demo):
    nodes = web_ready_everywhere(server)
    source = sorted(nodes[0]["services"]["default/web"]["pods"])[0]
    status, body = server.api("POST", f"{DEMO}/traffic", {"service": "web", "rate": 20, "seconds": 30, "source": source})
    assert status == 202, body
    sockets = {}

    def record(mode):
        """Before navigation: note the page's socket and count the bytes of its event frames."""
        def on_frame(payload):
            if payload.startswith(('{"type":"packed"', '{"type":"events"')):
                sockets[mode]["events_bytes"] += len(payload)

        def on_socket(ws):
            sockets[mode] = {"url": ws.url, "events_bytes": 0}
            ws.on("framereceived", on_frame)
        return lambda page: page.on("websocket", on_socket)

    compact = open_page("/clusters/demo/", before=record("compact"))
    plain_page = open_page("/clusters/demo/?wire=json", before=record("json"))
    for page in (compact, plain_page):
        wait_connected(page, 60_000)
    assert parse_qs(urlsplit(sockets["compact"]["url"]).query)["wire"] == ["compact"]
    assert "wire" not in parse_qs(urlsplit(sockets["json"]["url"]).query)
    for _ in range(4):
        advance(server, 1.0)
    last = server.api("GET", DEMO)[1]["last_seq"]
    held = "() => window.clusterscope.model.seq"
    wait_for(lambda: compact.evaluate(held) == last and plain_page.evaluate(held) == last, timeout=20, message=f"both pages at seq {last}")
    events = "() => JSON.stringify(window.clusterscope.model.events.filter((e) => !e.local))"
    assert compact.evaluate(events) == plain_page.evaluate(events)
    # drawn: the log's head says the same last seq on both (its rows are sampled by wall-clock rate, so they may differ)
    for page in (compact, plain_page):
        page.wait_for_function("(last) => document.querySelector('#log-count').innerText.includes(`last seq ${last.toLocaleString('en')}`)", arg=last)
    assert sockets["compact"]["events_bytes"] < 0.5 * sockets["json"]["events_bytes"], sockets
    compact.screenshot(path=artifacts / "wire-compact-cluster-1920-light.png")
    assert compact.problems == [] and plain_page.problems == []
    assert server.api("DELETE", f"{DEMO}/traffic/{body['generator']}")[0] in (200, 204)  # the tests after this one start their own
