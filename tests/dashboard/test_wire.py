"""The compact wire format (dashboard/wire.py): packed events read back to exactly the plain ones,
from any place in the stream, across the epochs that keep the string table bounded; and the
stream serving it to clients that ask (?wire=compact) beside plain clients, who see no change."""

import copy
import json

import pytest

from cluster.cluster import Cluster, ClusterConfig
from cluster.kernel import SECOND
from dashboard import consumers, demo, wire
from dashboard.runner import ClusterHandle
from dashboard.scaleout.mirror import MirrorCluster
from tests.dashboard.test_stream import connect, receive

CLOCK = {"time": 1.0, "paused": False, "speed": 1.0}


def plain(value):
    """As a plain client reads it: through JSON."""
    return json.loads(consumers.dumps(value))


def traffic_cluster(name="wire", seed=5) -> Cluster:
    """The demo's Deployment behind a NodePort Service, with outside traffic at 50/s: the strings
    of every component (Raft, API server, watches, kube-proxy, containers)."""
    cluster = Cluster(ClusterConfig(name=name, seed=seed))
    service = copy.deepcopy(demo.SERVICE)
    service["spec"]["type"] = "NodePort"
    for group, resource, body in (("apps", "deployments", demo.DEPLOYMENT), ("", "services", service)):
        cluster.command({"type": "kube", "verb": "create", "group": group, "version": "v1", "resource": resource, "namespace": "default", "body": copy.deepcopy(body)})
    cluster.advance(15 * SECOND)
    cluster.command({"type": "traffic", "namespace": "default", "service": "web", "rate": 50, "seconds": 600, "source": "external"})
    return cluster


class Log:
    """A cluster as the encoder sees one: a log of events."""

    def __init__(self, events):
        self.events = events

    @property
    def last_seq(self):
        return self.events[-1]["seq"]

    def events_since(self, after, limit):
        start = after + 1 - self.events[0]["seq"]
        return None if start < 0 else self.events[start:start + limit]


def read_from(encoder, after, upto, step):
    """A reader joining at `after` (given the table then), fed frames of `step` events."""
    reader = wire.Reader()
    assert reader.read(plain({"type": "strings", "seq": after, "strings": encoder.strings_at(after)})) is None
    events, sizes = [], []
    while after < upto:
        end = min(after + step, upto)
        text = encoder.frame(after, end, CLOCK)
        sizes.append(len(text))
        frame = reader.read(json.loads(text))
        assert frame["type"] == "events" and frame["clock"] == CLOCK
        events += frame["events"]
        after = end
    return events, sum(sizes)


def test_a_real_clusters_events_read_back_exactly_from_anywhere_in_frames_of_any_size():
    cluster = traffic_cluster()
    start = cluster.last_seq
    cluster.advance(10 * SECOND)
    end = cluster.last_seq
    assert end - start > 3000
    encoder = wire.encoder_at(cluster, start)
    assert encoder.reach(cluster, end)
    expected = plain(cluster.events_since(start, end - start))
    for step in (1, 7, 20, 2000):
        events, _ = read_from(encoder, start, end, step)
        assert events == expected, step
    for joined in (start + 1, start + 999, end - 5):  # a viewer arriving later starts with the table as of its seq
        events, _ = read_from(encoder, joined, end, 20)
        assert events == expected[joined - start:]
    # "numbers and ids, not repeated strings": frames of 20 events (one viewer's at 1x) in under 40 % of the plain bytes
    _, packed_bytes = read_from(encoder, start, end, 20)
    plain_bytes = sum(len(consumers.dumps({"type": "events", "events": cluster.events_since(a, 20), "clock": CLOCK})) for a in range(start, end, 20))
    assert packed_bytes < 0.4 * plain_bytes, (packed_bytes, plain_bytes)


ODD = [
    {"seq": 1, "time": 0.5, "kind": "a.b", "source": "x", "target": None, "summary": "", "data": {}},
    {"seq": 2, "time": 1 / 3, "kind": "a.b", "source": None, "target": "x", "summary": "1/3 s: not whole microseconds", "data": {"n": 1}},
    {"seq": 3, "time": 2, "kind": "a.b", "source": "x", "target": "x", "summary": "an int time", "data": None},
    {"seq": 4, "time": 2.000001, "kind": "0", "source": "1", "target": "x", "summary": "strings like ids", "data": {"0": "1", "v": 0, "__proto__": "p"}},
    {"seq": 5, "time": 2.5, "kind": "a.b", "source": "x", "target": "x", "summary": "nested", "data": {"list": ["x", 1, None], "obj": {"k": "x"}, "t": True, "f": False, "z": None, "fl": -0.25}},
    {"seq": 6, "time": 2.5, "kind": "a.b", "source": "x", "target": "x", "summary": "not a dict", "data": ["x", "y"]},
    {"seq": 7, "time": 3.0, "kind": "a.b", "source": "x", "target": "x", "summary": "unicode → ünïcødé \u2028 \"quotes\"", "data": {"s": "x", "e": "🙂"}},
    {"seq": 8, "time": 3.1, "kind": "a.b", "source": "x", "target": "x", "summary": "an extra key", "data": {}, "extra": 1},
    {"seq": 9, "time": 3.2, "kind": "a.b", "source": "x", "target": "x", "summary": "after the extra", "data": {"s": "x"}},
    {"seq": 10, "time": 1e7 + 0.000001, "kind": "a.b", "source": "x", "target": "x", "summary": "late", "data": {"s": "p"}},
    {"seq": 11, "time": 1e7 + 0.000002, "kind": 5, "source": "x", "target": "x", "summary": "a kind that is not a string", "data": {}},
]


def test_odd_events_read_back_exactly():
    log = Log(ODD)
    encoder = wire.encoder_at(log, 0)
    assert encoder.reach(log, len(ODD))
    for after in range(len(ODD)):
        for step in (1, 3, 20):
            events, _ = read_from(encoder, after, len(ODD), step)
            assert events == plain(ODD[after:]), (after, step)


def test_epochs_bound_the_table_and_the_packed_window(monkeypatch):
    monkeypatch.setattr(wire, "EPOCH_EVENTS", 50)
    monkeypatch.setattr(wire, "EPOCH_STRINGS", 40)
    monkeypatch.setattr(wire, "KEEP_EVENTS", 600)
    cluster = traffic_cluster()
    start = cluster.last_seq
    cluster.advance(8 * SECOND)
    end = cluster.last_seq
    encoder = wire.encoder_at(cluster, start)
    assert encoder.reach(cluster, end)
    assert len(encoder.packed) == 600 and encoder.floor == end - 600 and not encoder.can_serve(encoder.floor - 1)
    assert all(len(e.strings) <= 40 + 8 for e in encoder.epochs)  # an event adds at most 8 strings past the limit
    assert encoder.epochs[0].start <= encoder.floor + 1 and len(encoder.epochs) <= 600 / 5  # those below the floor dropped
    expected = plain(cluster.events_since(encoder.floor, end - encoder.floor))
    resets = 0
    for joined in range(encoder.floor, end, 37):
        events, _ = read_from(encoder, joined, end, 23)
        assert events == expected[joined - encoder.floor:]
        resets += json.loads(encoder.frame(joined, min(end, joined + 23), CLOCK))["reset"] != []
    assert resets > 0  # frames crossed epochs


def test_an_encoder_left_behind_by_the_log_is_replaced():
    cluster = traffic_cluster()
    cluster.sim.log.window = 500
    old = wire.encoder_at(cluster, cluster.last_seq)
    cluster.advance(5 * SECOND)
    assert not old.reach(cluster, cluster.last_seq)  # its next event left the log
    new = wire.encoder_at(cluster, cluster.last_seq)
    assert new is not old and wire.encoder(cluster) is new and new.can_serve(cluster.last_seq)


def test_an_encoder_far_behind_is_replaced_not_caught_up(monkeypatch):
    monkeypatch.setattr(wire, "KEEP_EVENTS", 500)
    cluster = traffic_cluster()
    idle = wire.encoder_at(cluster, cluster.last_seq)  # then no compact viewer for a while
    left_at = idle.last
    cluster.advance(5 * SECOND)
    assert cluster.last_seq - left_at > 500 and cluster.events_since(left_at, 1)  # still in the log
    fresh = wire.encoder_at(cluster, cluster.last_seq)
    assert fresh is not idle and idle.last == left_at  # nothing packed that nobody could use
    near = wire.encoder_at(cluster, cluster.last_seq - 10)  # a resume a little behind: the same encoder cannot go back
    assert near is not fresh and near.can_serve(cluster.last_seq - 10)
    assert wire.encoder_at(cluster, cluster.last_seq) is near  # and one a little ahead catches up


def test_a_scaleout_mirror_is_packed_across_a_rebase():
    source = traffic_cluster()
    base = source.last_seq
    source.advance(3 * SECOND)
    mirror = MirrorCluster({"seq": base, "time": 15.0})
    assert mirror.extend(plain(source.events_since(base, 100_000)))
    encoder = wire.encoder_at(mirror, mirror.snapshot_seq)
    assert encoder.reach(mirror, mirror.last_seq)
    events, _ = read_from(encoder, base, mirror.last_seq, 50)
    assert events == plain(source.events_since(base, 100_000))
    rebased = base + 400  # a newer snapshot of the same history drops the events before it
    mirror.rebase({"seq": rebased, "time": 16.0})
    again = wire.encoder_at(mirror, mirror.snapshot_seq)
    assert again is encoder and again.reach(mirror, mirror.last_seq)  # the events it packed are still the same history
    events, _ = read_from(again, rebased, mirror.last_seq, 50)
    assert events == plain(source.events_since(rebased, 100_000))


# --- the stream ----------------------------------------------------------------------------
pytest_asyncio = pytest.mark.asyncio


def add_traffic_cluster(registry, name="wire"):
    handle = ClusterHandle(traffic_cluster(name), speed=1.0, paused=True)
    registry.handles[name] = handle
    return handle


async def collect(ws, reader, seq, timeout=5):
    """Frames until events up to `seq` arrived: (raw texts, plain frames, events)."""
    texts, frames, events = [], [], []
    while not events or events[-1]["seq"] < seq:
        text = await ws.receive_from(timeout=timeout)
        texts.append(text)
        frame = reader.read(json.loads(text)) if reader else json.loads(text)
        if frame is not None:
            frames.append(frame)
            events += frame.get("events", [])
    return texts, frames, events


async def compact_viewer(name="wire", query="?wire=compact"):
    """A compact client past its first frame (the snapshot, or the table on a resume)."""
    ws, reader = await connect(name, query), wire.Reader()
    first = json.loads(await ws.receive_from(timeout=2))
    reader.read(first)
    return ws, reader, first


@pytest_asyncio
async def test_a_compact_viewer_reads_what_a_plain_viewer_gets_in_under_half_the_bytes(registry):
    handle = add_traffic_cluster(registry)
    json_ws, compact_ws = await connect("wire"), await connect("wire", "?wire=compact")
    plain_snapshot, compact_snapshot = await receive(json_ws), json.loads(await compact_ws.receive_from(timeout=2))
    assert "strings" not in plain_snapshot and isinstance(compact_snapshot["strings"], list)
    reader = wire.Reader()
    assert reader.read(compact_snapshot) == plain_snapshot
    for _ in range(5):  # several wake-ups, as the runner gives them
        handle.cluster.advance(SECOND)
        registry.notify(handle)
    last = handle.cluster.last_seq
    plain_texts, plain_frames, plain_events = await collect(json_ws, None, last)
    compact_texts, compact_frames, compact_events = await collect(compact_ws, reader, last)
    assert compact_events == plain_events and [e["seq"] for e in plain_events] == list(range(plain_snapshot["seq"] + 1, last + 1))
    assert {json.loads(t)["type"] for t in compact_texts} == {"packed"} and {f["type"] for f in plain_frames} == {"events"}
    assert sum(map(len, compact_texts)) < 0.5 * sum(map(len, plain_texts))
    await json_ws.disconnect()
    await compact_ws.disconnect()


@pytest_asyncio
async def test_a_compact_resume_is_sent_the_table_then_the_missed_events(registry):
    handle = add_traffic_cluster(registry)
    first, reader, _ = await compact_viewer()
    handle.cluster.advance(2 * SECOND)
    registry.notify(handle)
    await collect(first, reader, handle.cluster.last_seq)
    resume_from = handle.cluster.last_seq - 300
    handle.cluster.advance(SECOND)
    second, resumed, table = await compact_viewer(query=f"?after={resume_from}&wire=compact")
    assert table["type"] == "strings" and table["seq"] == resume_from and resumed.read(table) is None
    _, _, events = await collect(second, resumed, handle.cluster.last_seq)
    assert events == plain(handle.cluster.events_since(resume_from, 100_000))
    await first.disconnect()
    await second.disconnect()


@pytest_asyncio
async def test_compact_viewers_in_step_share_one_packed_frame(registry, monkeypatch):
    handle = add_traffic_cluster(registry)
    made = []
    original = wire.Encoder.frame

    def counting(self, after, upto, clock):
        made.append((after, upto))
        return original(self, after, upto, clock)

    monkeypatch.setattr(wire.Encoder, "frame", counting)
    viewers, readers, _ = zip(*[await compact_viewer() for _ in range(5)], strict=True)
    handle.cluster.advance(2 * SECOND)
    registry.notify(handle)
    got = [await collect(ws, reader, handle.cluster.last_seq) for ws, reader in zip(viewers, readers, strict=True)]
    assert all(g[0] == got[0][0] for g in got)  # the same bytes
    assert len(made) == len(got[0][0]) == len(set(made))  # packed once per frame, not once per viewer
    for ws in viewers:
        await ws.disconnect()


@pytest_asyncio
async def test_a_viewer_whose_encoder_was_replaced_is_sent_the_new_table(registry):
    handle = add_traffic_cluster(registry)
    ws, reader, _ = await compact_viewer()
    del wire._encoders[handle.cluster]  # as when the log outran it
    handle.cluster.advance(SECOND)
    registry.notify(handle)
    texts, _, events = await collect(ws, reader, handle.cluster.last_seq)
    assert json.loads(texts[0])["type"] == "strings"
    assert events == plain(handle.cluster.events_since(events[0]["seq"] - 1, 100_000)) and wire.encoder(handle.cluster) is not None
    await ws.disconnect()


@pytest_asyncio
async def test_an_unknown_wire_format_gets_an_error_and_close(registry):
    add_traffic_cluster(registry)
    ws = await connect("wire", "?wire=msgpack")
    frame = await receive(ws)
    assert frame == {"type": "error", "error": "wire must be json or compact, not 'msgpack'"}
    assert (await ws.receive_output(timeout=2))["type"] == "websocket.close"
    await ws.disconnect()
