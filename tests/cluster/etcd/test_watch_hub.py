"""WatchHub: backlog, dispatch, compaction, and the four watch guarantees under random runs.

The guarantees (ordered, no duplicates, no gaps, atomic per revision) are checked against
the full list of events each write produced, including for watchers that resume on
another member (a lagging replica of the same store) after theirs crashed.
"""

import pickle

import pytest

from cluster.etcd.mvcc import Compacted, Store, WatchHub
from cluster.kernel import Stream


def put(store, key, value):
    return store.apply({"op": "put", "key": key, "value": value})["events"]


def keys_of(events):
    return [(e["type"], e["kv"]["key"], e["kv"]["mod_revision"]) for e in events]


def test_worked_example_from_the_docstring():
    store, hub = Store(), WatchHub()
    put(store, "/p/a", "0")  # 2
    put(store, "/q", "0")  # 3
    put(store, "/p/a", "1")  # 4
    put(store, "/p/b", "1")  # 5
    assert keys_of(hub.add(1, "/p/", True, 4, store)) == [("PUT", "/p/a", 4), ("PUT", "/p/b", 5)]
    assert hub.add(2, "/p/a", False, 0, store) == []
    events = store.apply({"op": "txn", "compare": [], "success": [
        {"op": "put", "key": "/p/a", "value": "2"}, {"op": "put", "key": "/p/b", "value": "2"}]})["events"]
    out = hub.dispatch(events)
    assert [(wid, keys_of(evs)) for wid, evs in out] == [
        (1, [("PUT", "/p/a", 6), ("PUT", "/p/b", 6)]),
        (2, [("PUT", "/p/a", 6)]),
    ]
    assert hub.get(1) == ("/p/", True, 4, 7) and hub.get(2) == ("/p/a", False, 0, 7)
    store.apply({"op": "compact", "revision": 2})
    with pytest.raises(Compacted):
        hub.add(3, "/p/", True, 2, store)
    assert 3 not in hub and len(hub) == 2


def test_start_revision_none_means_from_now():
    store, hub = Store(), WatchHub()
    put(store, "a", "1")
    assert hub.add("w", "a", False, None, store) == []
    assert hub.get("w")[3] == 3
    out = hub.dispatch(put(store, "a", "2"))
    assert [(wid, keys_of(evs)) for wid, evs in out] == [("w", [("PUT", "a", 3)])]


def test_start_revision_in_the_future_waits_for_it():
    store, hub = Store(), WatchHub()
    hub.add(1, "k", False, 4, store)
    assert hub.dispatch(put(store, "k", "2")) == []  # revision 2
    assert hub.dispatch(put(store, "k", "3")) == []  # revision 3
    out = hub.dispatch(put(store, "k", "4"))
    assert [keys_of(evs) for _, evs in out] == [[("PUT", "k", 4)]]


def test_backlog_and_dispatch_never_duplicate():
    store, hub = Store(), WatchHub()
    events = put(store, "k", "1")
    # The watch is added after the apply but before its dispatch: the backlog has the
    # event, so the dispatch must not send it again.
    assert keys_of(hub.add(1, "k", False, 2, store)) == [("PUT", "k", 2)]
    assert hub.dispatch(events) == []
    assert hub.get(1)[3] == 3


def test_dispatch_in_watch_id_order_and_only_matching():
    store, hub = Store(), WatchHub()
    for watch_id, key, prefix in ((30, "a", True), (10, "a/b", False), (20, "z", True), (5, "", True)):
        hub.add(watch_id, key, prefix, None, store)
    out = hub.dispatch(put(store, "a/b", "1"))
    assert [wid for wid, _ in out] == [5, 10, 30]
    assert all(evs[0]["kv"]["key"] == "a/b" for _, evs in out)
    assert [w["id"] for w in hub.watchers()] == [5, 10, 20, 30]
    assert all(w["next_revision"] == 3 for w in hub.watchers())


def test_cancel_and_clear():
    store, hub = Store(), WatchHub()
    hub.add(1, "k", False, None, store)
    hub.add(2, "k", False, None, store)
    assert hub.cancel(1) and not hub.cancel(1)
    assert [wid for wid, _ in hub.dispatch(put(store, "k", "1"))] == [2]
    hub.clear()
    assert len(hub) == 0 and hub.dispatch(put(store, "k", "2")) == []


def test_errors():
    store, hub = Store(), WatchHub()
    hub.add(1, "k", False, None, store)
    with pytest.raises(ValueError, match="in use"):
        hub.add(1, "j", False, None, store)
    with pytest.raises(ValueError):
        hub.add(2, "", False, None, store)
    with pytest.raises(ValueError):
        hub.add(2, "k", "yes", None, store)
    first = put(store, "k", "1")
    second = put(store, "k", "2")
    with pytest.raises(ValueError, match="never dispatched"):
        hub.dispatch(second)
    with pytest.raises(ValueError, match="one batch"):
        hub.dispatch(first + second)
    assert hub.get(1)[3] == 2  # nothing moved
    hub.dispatch(first)
    hub.dispatch(second)
    assert hub.get(1)[3] == 4


def test_watch_from_compacted_revision_is_an_explicit_error():
    store, hub = Store(), WatchHub()
    for i in range(5):
        put(store, "k", str(i))  # 2..6
    store.apply({"op": "compact", "revision": 4})
    for start in (1, 2, 4):
        with pytest.raises(Compacted) as caught:
            hub.add(start, "k", False, start, store)
        assert caught.value.compact_revision == 4
    assert len(hub) == 0
    assert [e["kv"]["value"] for e in hub.add(5, "k", False, 5, store)] == ["3", "4"]


def test_resuming_from_the_last_seen_revision_gives_exactly_the_missing_events():
    store, hub = Store(), WatchHub()
    seen = hub.add(1, "/r/", True, 1, store)
    for i in range(3):
        for _, evs in hub.dispatch(put(store, f"/r/{i}", "x")):
            seen += evs
    last = seen[-1]["kv"]["mod_revision"]
    hub.clear()  # the serving member crashed; meanwhile writes go on
    missed = []
    for i in range(3, 6):
        missed += put(store, f"/r/{i}", "x")
        put(store, "/other", str(i))
    other = WatchHub()  # another member, same store contents
    backlog = other.add(1, "/r/", True, last + 1, store)
    assert backlog == missed


def test_hub_is_plain_data():
    store, hub = Store(), WatchHub()
    hub.add(1, "k", False, None, store)
    copy_ = pickle.loads(pickle.dumps(hub))
    assert copy_.watchers() == hub.watchers()


# --- random runs ---------------------------------------------------------------------------
class Member:
    """A replica: its own store and hub, applying the shared request log at its own pace."""

    def __init__(self):
        self.store = Store()
        self.hub = WatchHub()
        self.applied = 0

    def catch_up(self, requests, upto, clients):
        while self.applied < upto:
            events = self.store.apply(requests[self.applied])["events"]
            self.applied += 1
            for watch_id, evs in self.hub.dispatch(events):
                clients[watch_id]["batches"].append(evs)


def matches(client, event):
    key = event["kv"]["key"]
    return key.startswith(client["key"]) if client["prefix"] else key == client["key"]


def random_request(stream, keys):
    key = stream.choice(keys)
    roll = stream.randint(0, 9)
    if roll < 5:
        return {"op": "put", "key": key, "value": str(stream.randint(0, 99))}
    if roll < 7:
        return {"op": "delete", "key": key[:stream.randint(1, len(key))], "prefix": stream.chance(0.5)}
    ops = [{"op": "put", "key": stream.choice(keys), "value": "t"} for _ in range(stream.randint(1, 3))]
    if stream.chance(0.3):
        ops.append({"op": "delete", "key": stream.choice(keys)})
    return {"op": "txn", "compare": [{"key": key, "target": "version", "result": "<", "value": 3}], "success": ops, "failure": ops[:1]}


@pytest.mark.parametrize("seed", range(12))
def test_random_runs_keep_every_watch_guarantee(seed):
    stream = Stream.from_seed(seed).derive("watch")
    keys = ["/a/x", "/a/y", "/a/z/1", "/ab", "/b/x", "/b/y", "/c"]
    watch_keys = [("/a/", True), ("/a/x", False), ("/b", True), ("/", True), ("/c", False), ("/ab", False)]
    requests = []
    members = [Member() for _ in range(3)]
    # A reference history: every event the writes produced, by revision.
    history = {}
    clients: dict[int, dict] = {}
    next_id = 0
    for _step in range(600):
        # The leader (member 0) applies each request at once; the others lag at random.
        request = random_request(stream, keys)
        requests.append(request)
        before = members[0].store.revision
        members[0].catch_up(requests, len(requests), clients)
        after = members[0].store.revision
        if after > before:
            history[after] = members[0].store.revision_events(after)
        for member in members[1:]:
            if stream.chance(0.6):
                member.catch_up(requests, stream.randint(member.applied, len(requests)), clients)
        if stream.chance(0.03):
            member = stream.choice(members)
            if member.store.revision > member.store.compact_revision + 5:
                member.store.apply({"op": "compact", "revision": member.store.revision - stream.randint(0, 5)})
        if stream.chance(0.1):
            key, prefix = stream.choice(watch_keys)
            member = stream.choice(members)
            start = stream.choice([None, stream.randint(1, member.store.revision + 2)])
            client = {"key": key, "prefix": prefix, "start": start, "member": member, "batches": []}
            try:
                backlog = member.hub.add(next_id, key, prefix, start, member.store)
            except Compacted:
                assert start is not None and start <= member.store.compact_revision
            else:
                client["batches"].append(backlog)
                client["from"] = start if start else member.store.revision + 1
                clients[next_id] = client
            next_id += 1
        if stream.chance(0.02):
            # A member crashes: its watchers reconnect to another member, resuming after the
            # last revision they saw (or from where they started, if they saw nothing).
            crashed = stream.choice(members)
            orphans = sorted(wid for wid, c in clients.items() if c["member"] is crashed and not c.get("done"))
            crashed.hub.clear()
            for wid in orphans:
                client = clients[wid]
                seen = [e for batch in client["batches"] for e in batch]
                resume = seen[-1]["kv"]["mod_revision"] + 1 if seen else client["from"]
                target = stream.choice([m for m in members if m is not crashed])
                try:
                    backlog = target.hub.add(wid, client["key"], client["prefix"], resume, target.store)
                except Compacted:
                    assert resume <= target.store.compact_revision
                    client["done"] = True  # a real client relists here; its stream ends
                    continue
                client["batches"].append(backlog)
                client["member"] = target
    for member in members:
        member.catch_up(requests, len(requests), clients)

    checked = 0
    last = members[0].store.revision
    for client in clients.values():
        received = [e for batch in client["batches"] for e in batch]
        revisions = [e["kv"]["mod_revision"] for e in received]
        assert revisions == sorted(revisions), "ordered"
        if client.get("done"):
            # Cut short by compaction: what it got is still a gapless prefix.
            expected = [e for r in range(client["from"], last + 1) for e in history.get(r, []) if matches(client, e)]
            assert received == expected[:len(received)]
            continue
        expected = [e for r in range(client["from"], last + 1) for e in history.get(r, []) if matches(client, e)]
        assert received == expected, "no gaps, no duplicates, nothing extra"
        # Atomic: the matching events of one revision arrive in one batch (a backlog batch
        # may hold several revisions, but never splits one).
        for batch in client["batches"]:
            if not batch:
                continue
            for edge in (batch[0]["kv"]["mod_revision"], batch[-1]["kv"]["mod_revision"]):
                assert [e for e in batch if e["kv"]["mod_revision"] == edge] == [e for e in expected if e["kv"]["mod_revision"] == edge]
        checked += len(received)
    assert checked > 100
