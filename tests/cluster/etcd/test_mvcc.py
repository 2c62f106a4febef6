"""The MVCC store: revisions, versions, ranges, past reads, transactions, compaction.

The last tests run seeded random workloads against a deliberately naive reference model
(a full copy of the key space for every revision) and compare every answer.
"""

import copy
import pickle

import pytest

from cluster.etcd.mvcc import Compacted, Store, cas_request
from cluster.kernel import Stream, state_hash


def put(store, key, value):
    return store.apply({"op": "put", "key": key, "value": value})


def delete(store, key, prefix=False):
    return store.apply({"op": "delete", "key": key, "prefix": prefix})


def kv(key, value, create, mod, version):
    return {"key": key, "value": value, "create_revision": create, "mod_revision": mod, "version": version}


def cmp(key, target, result, value, **extra):
    return {"key": key, "target": target, "result": result, "value": value, **extra}


def txn(store, compare, success=(), failure=()):
    return store.apply({"op": "txn", "compare": list(compare), "success": list(success), "failure": list(failure)})


# --- revisions and versions ----------------------------------------------------------------
def test_empty_store_starts_at_revision_one():
    store = Store()
    assert (store.revision, store.compact_revision, store.key_count) == (1, 0, 0)
    assert store.get("a") is None
    assert store.range("", prefix=True) == []


def test_put_bumps_revision_and_tracks_create_mod_version():
    store = Store()
    first = put(store, "a", "x")
    assert first["revision"] == 2
    assert first["prev_kv"] is None
    assert first["events"] == [{"type": "PUT", "kv": kv("a", "x", 2, 2, 1), "prev_kv": None}]
    second = put(store, "a", "y")
    assert second["revision"] == 3
    assert second["prev_kv"] == kv("a", "x", 2, 2, 1)
    put(store, "b", "z")
    assert store.get("a") == kv("a", "y", 2, 3, 2)
    assert store.get("b") == kv("b", "z", 4, 4, 1)
    assert store.revision == 4 and store.key_count == 2


def test_worked_example_from_the_module_docstring():
    store = Store()
    put(store, "a", "x")
    put(store, "a", "y")
    delete(store, "a")
    put(store, "a", "z")
    result = txn(store, [cmp("a", "mod", "=", 5)], [{"op": "put", "key": "a", "value": "w"}, {"op": "put", "key": "b", "value": "v"}])
    assert result["succeeded"] and result["revision"] == 6
    assert store.get("a") == kv("a", "w", 5, 6, 2)
    assert store.get("b") == kv("b", "v", 6, 6, 1)
    assert store.get("a", revision=3) == kv("a", "y", 2, 3, 2)
    store.apply({"op": "compact", "revision": 4})
    assert store.get("a") == kv("a", "w", 5, 6, 2)
    with pytest.raises(Compacted):
        store.get("a", revision=3)


def test_delete_then_recreate_starts_a_new_life():
    store = Store()
    put(store, "k", "1")
    put(store, "k", "2")
    result = delete(store, "k")
    assert result["revision"] == 4 and result["deleted"] == 1
    assert result["prev_kvs"] == [kv("k", "2", 2, 3, 2)]
    assert result["events"] == [{"type": "DELETE", "kv": kv("k", None, 0, 4, 0), "prev_kv": kv("k", "2", 2, 3, 2)}]
    assert store.get("k") is None and store.key_count == 0
    again = put(store, "k", "3")
    assert again["prev_kv"] is None
    assert store.get("k") == kv("k", "3", 5, 5, 1)


def test_delete_of_nothing_does_not_bump_the_revision():
    store = Store()
    put(store, "a", "1")
    result = delete(store, "missing")
    assert result == {"deleted": 0, "prev_kvs": [], "revision": 2, "events": []}
    delete(store, "a")
    assert delete(store, "a")["revision"] == 3


def test_delete_by_prefix_is_one_revision():
    store = Store()
    for key in ("/a/1", "/a/2", "/a2", "/b/1"):
        put(store, key, key)
    result = delete(store, "/a/", prefix=True)
    assert result["deleted"] == 2 and result["revision"] == 6
    assert [e["kv"]["key"] for e in result["events"]] == ["/a/1", "/a/2"]
    assert {e["kv"]["mod_revision"] for e in result["events"]} == {6}
    assert [item["key"] for item in store.range("", prefix=True)] == ["/a2", "/b/1"]


# --- ranges --------------------------------------------------------------------------------
def test_prefix_range_is_sorted_and_exact_about_boundaries():
    store = Store()
    for key in ("b", "a/2", "a/10", "a", "a0", "a/", "ab", "a/1/x"):
        put(store, key, "v-" + key)
    assert [item["key"] for item in store.range("a/", prefix=True)] == ["a/", "a/1/x", "a/10", "a/2"]
    assert [item["key"] for item in store.range("a", prefix=True)] == ["a", "a/", "a/1/x", "a/10", "a/2", "a0", "ab"]
    assert [item["key"] for item in store.range("", prefix=True)] == sorted(["b", "a/2", "a/10", "a", "a0", "a/", "ab", "a/1/x"])
    assert store.range("a0") == [kv("a0", "v-a0", 6, 6, 1)]
    assert store.range("zz") == []
    assert store.range("zz", prefix=True) == []


def test_range_skips_deleted_keys_and_honours_limit():
    store = Store()
    for i in range(5):
        put(store, f"p/{i}", str(i))
    delete(store, "p/2")
    assert [item["key"] for item in store.range("p/", prefix=True)] == ["p/0", "p/1", "p/3", "p/4"]
    result = store.apply({"op": "range", "key": "p/", "prefix": True, "limit": 2})
    assert [item["key"] for item in result["kvs"]] == ["p/0", "p/1"]
    assert result["count"] == 4 and result["more"] is True
    assert result["events"] == [] and result["revision"] == store.revision
    assert store.range("p/", prefix=True, limit=3)[-1]["key"] == "p/3"


def test_reads_at_past_revisions():
    store = Store()
    put(store, "a", "1")  # 2
    put(store, "b", "1")  # 3
    put(store, "a", "2")  # 4
    delete(store, "b")  # 5
    put(store, "b", "3")  # 6
    assert store.get("a", revision=1) is None
    assert store.get("a", revision=3) == kv("a", "1", 2, 2, 1)
    assert store.get("b", revision=5) is None
    assert store.get("b", revision=6) == kv("b", "3", 6, 6, 1)
    assert [(i["key"], i["value"]) for i in store.range("", prefix=True, revision=4)] == [("a", "2"), ("b", "1")]
    assert [(i["key"], i["value"]) for i in store.range("", prefix=True, revision=5)] == [("a", "2")]
    assert store.apply({"op": "get", "key": "a", "revision": 3})["kv"] == kv("a", "1", 2, 2, 1)
    with pytest.raises(ValueError, match="future"):
        store.get("a", revision=7)
    with pytest.raises(ValueError, match="future"):
        store.range("", prefix=True, revision=99)


# --- transactions --------------------------------------------------------------------------
def _txn_store():
    store = Store()
    put(store, "k", "m")  # create 2
    put(store, "other", "x")  # 3
    put(store, "k", "m")  # mod 4, version 2
    return store


# (target, value of k for each target): k = "m", version 2, create 2, mod 4
TARGETS = {"value": "m", "version": 2, "create": 2, "mod": 4}
LOWER = {"value": "l", "version": 1, "create": 1, "mod": 3}
HIGHER = {"value": "n", "version": 3, "create": 3, "mod": 5}


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize(
    ("result", "equal", "lower", "higher"),
    [("=", True, False, False), ("!=", False, True, True), ("<", False, False, True), (">", False, True, False)],
)
def test_txn_compare_each_target_and_result(target, result, equal, lower, higher):
    # The compare reads "actual <result> given": with the given value lower than the
    # actual one, ">" holds.
    for given, expected in ((TARGETS[target], equal), (LOWER[target], lower), (HIGHER[target], higher)):
        store = _txn_store()
        out = txn(store, [cmp("k", target, result, given)], [{"op": "put", "key": "yes", "value": "1"}], [{"op": "put", "key": "no", "value": "1"}])
        assert out["succeeded"] is expected, (target, result, given)
        assert store.get("yes" if expected else "no") is not None
        assert store.get("no" if expected else "yes") is None


@pytest.mark.parametrize(("target", "result", "value", "expected"), [
    ("create", "=", 0, True),  # etcd's idiom for "the key is absent"
    ("version", "=", 0, True),
    ("mod", "<", 1, True),
    ("create", ">", 0, False),
    ("value", "=", "", False),  # a value compare on a missing key always fails...
    ("value", "!=", "x", False),  # ...whatever the operator
    ("value", ">", "", False),
])
def test_txn_compare_on_a_missing_key(target, result, value, expected):
    store = Store()
    assert txn(store, [cmp("ghost", target, result, value)])["succeeded"] is expected


def test_txn_compare_over_a_prefix_needs_every_key():
    store = Store()
    put(store, "p/a", "1")
    put(store, "p/b", "1")
    assert txn(store, [cmp("p/", "value", "=", "1", prefix=True)])["succeeded"]
    put(store, "p/c", "2")
    assert not txn(store, [cmp("p/", "value", "=", "1", prefix=True)])["succeeded"]
    assert txn(store, [cmp("q/", "create", "=", 0, prefix=True)])["succeeded"]


def test_txn_all_compares_must_hold():
    store = _txn_store()
    assert txn(store, [cmp("k", "value", "=", "m"), cmp("k", "version", "=", 2)])["succeeded"]
    assert not txn(store, [cmp("k", "value", "=", "m"), cmp("k", "version", "=", 3)])["succeeded"]
    assert txn(store, [])["succeeded"]  # no compares: the success branch


def test_txn_writes_share_one_revision_and_reads_see_earlier_writes():
    store = _txn_store()
    before = store.revision
    out = txn(store, [cmp("k", "value", "=", "m")], [
        {"op": "get", "key": "k"},
        {"op": "put", "key": "k", "value": "n"},
        {"op": "delete", "key": "other"},
        {"op": "put", "key": "new", "value": "1"},
        {"op": "get", "key": "k"},
        {"op": "range", "key": "", "prefix": True},
    ])
    assert out["revision"] == before + 1
    assert [(e["type"], e["kv"]["key"], e["kv"]["mod_revision"]) for e in out["events"]] == [
        ("PUT", "k", before + 1), ("DELETE", "other", before + 1), ("PUT", "new", before + 1)]
    responses = out["responses"]
    assert responses[0]["kv"]["value"] == "m"  # before the put
    assert responses[1]["prev_kv"]["value"] == "m"
    assert responses[2]["deleted"] == 1
    assert responses[4]["kv"] == kv("k", "n", 2, before + 1, 3)
    assert [i["key"] for i in responses[5]["kvs"]] == ["k", "new"]
    # Nothing in between is observable: the revision before shows none of it.
    assert store.get("other", revision=before)["value"] == "x"
    assert store.get("new", revision=before) is None


def test_txn_writing_one_key_twice_counts_both_versions():
    store = Store()
    out = txn(store, [], [{"op": "put", "key": "a", "value": "1"}, {"op": "put", "key": "a", "value": "2"}])
    assert out["revision"] == 2
    assert store.get("a") == kv("a", "2", 2, 2, 2)
    assert [e["kv"]["value"] for e in store.events_since(2, "a")] == ["1", "2"]
    assert store.events_since(2, "a") == store.events_since(2, "", prefix=True)


def test_txn_without_writes_does_not_bump_the_revision():
    store = _txn_store()
    before = store.revision
    read_only = txn(store, [cmp("k", "value", "=", "m")], [{"op": "get", "key": "k"}, {"op": "range", "key": "", "prefix": True}])
    assert read_only["succeeded"] and read_only["revision"] == before and read_only["events"] == []
    failed = txn(store, [cmp("k", "value", "=", "nope")], [{"op": "put", "key": "k", "value": "z"}])
    assert failed == {"succeeded": False, "responses": [], "revision": before, "events": []}
    deletes_nothing = txn(store, [], [{"op": "delete", "key": "ghost"}])
    assert deletes_nothing["revision"] == before
    assert store.revision == before


def test_cas_request_helper():
    store = Store()
    assert store.apply(cas_request("a", None, "1"))["succeeded"]
    assert not store.apply(cas_request("a", None, "2"))["succeeded"]
    assert not store.apply(cas_request("a", "0", "2"))["succeeded"]
    assert store.apply(cas_request("a", "1", "2"))["succeeded"]
    assert store.get("a")["value"] == "2"


BAD_REQUESTS = [
    None,
    "put",
    {},
    {"op": "increment", "key": "a"},
    {"op": "put", "key": "a"},
    {"op": "put", "key": "", "value": "1"},
    {"op": "put", "key": 3, "value": "1"},
    {"op": "put", "key": "a", "value": 1},
    {"op": "put", "key": "a", "value": "1", "prefix": True},
    {"op": "delete", "key": ""},
    {"op": "delete", "key": "a", "prefix": "yes"},
    {"op": "get", "key": "a", "revision": "3"},
    {"op": "get", "key": "a", "revision": 99},
    {"op": "range", "key": "a", "limit": -1},
    {"op": "txn", "compare": "nope"},
    {"op": "txn", "compare": [{"key": "a", "target": "colour", "result": "=", "value": 1}]},
    {"op": "txn", "compare": [{"key": "a", "target": "version", "result": "~", "value": 1}]},
    {"op": "txn", "compare": [{"key": "a", "target": "version", "result": "=", "value": "1"}]},
    {"op": "txn", "compare": [{"key": "a", "target": "value", "result": "=", "value": 1}]},
    {"op": "txn", "compare": [{"key": "a", "target": "version", "result": "=", "value": True}]},
    # A bad operation anywhere, even in the branch that would not run, rejects it all.
    {"op": "txn", "compare": [], "success": [{"op": "put", "key": "a", "value": "1"}, {"op": "put", "key": "b"}]},
    {"op": "txn", "compare": [], "success": [{"op": "put", "key": "a", "value": "1"}], "failure": [{"op": "compact", "revision": 1}]},
    {"op": "txn", "compare": [], "success": [{"op": "txn"}]},
    {"op": "txn", "compare": [], "success": [{"op": "get", "key": "a", "revision": 1}]},
    {"op": "compact"},
    {"op": "compact", "revision": 99},
    {"op": "compact", "revision": 2.0},
]


@pytest.mark.parametrize("request_", BAD_REQUESTS, ids=range(len(BAD_REQUESTS)))
def test_bad_requests_raise_value_error_and_change_nothing(request_):
    store = Store()
    put(store, "a", "0")
    put(store, "b", "0")
    before = store.digest()
    snapshot = copy.deepcopy(request_)
    with pytest.raises(ValueError):
        store.apply(request_)
    assert store.digest() == before
    assert request_ == snapshot


def test_apply_does_not_change_the_request():
    store = Store()
    request = {"op": "txn", "compare": [cmp("a", "create", "=", 0)], "success": [{"op": "put", "key": "a", "value": "1"}]}
    snapshot = copy.deepcopy(request)
    store.apply(request)
    assert request == snapshot


def test_results_are_copies():
    store = Store()
    result = put(store, "a", "1")
    result["events"][0]["kv"]["value"] = "mutated"
    store.get("a")["value"] = "mutated"
    store.events_since(2, "a")[0]["kv"]["value"] = "mutated"
    assert store.get("a")["value"] == "1"
    assert store.events_since(2, "", prefix=True)[0]["kv"]["value"] == "1"


# --- history and compaction ----------------------------------------------------------------
def test_events_since_orders_by_revision_and_filters_keys():
    store = Store()
    put(store, "/x/a", "1")  # 2
    put(store, "/y/a", "1")  # 3
    txn(store, [], [{"op": "put", "key": "/x/b", "value": "1"}, {"op": "put", "key": "/x/a", "value": "2"}])  # 4
    delete(store, "/x/", prefix=True)  # 5
    events = store.events_since(3, "/x/", prefix=True)
    assert [(e["type"], e["kv"]["key"], e["kv"]["mod_revision"]) for e in events] == [
        ("PUT", "/x/b", 4), ("PUT", "/x/a", 4), ("DELETE", "/x/a", 5), ("DELETE", "/x/b", 5)]
    assert events[1]["prev_kv"] == kv("/x/a", "1", 2, 2, 1)
    assert store.events_since(2, "/x/a") == [e for e in store.events_since(2, "/x/", prefix=True) if e["kv"]["key"] == "/x/a"]
    assert store.events_since(0, "/x/", prefix=True) == []
    assert store.events_since(None, "/x/a") == []
    assert store.events_since(6, "/x/", prefix=True) == []
    assert [e["kv"]["key"] for e in store.revision_events(4)] == ["/x/b", "/x/a"]


def test_compaction_errors():
    store = Store()
    for i in range(5):
        put(store, "k", str(i))  # revisions 2..6
    with pytest.raises(ValueError, match="future"):
        store.apply({"op": "compact", "revision": 7})
    assert store.apply({"op": "compact", "revision": 4}) == {"revision": 6, "events": [], "compact_revision": 4}
    assert store.compact_revision == 4
    with pytest.raises(Compacted) as caught:
        store.apply({"op": "compact", "revision": 4})
    assert caught.value.compact_revision == 4
    with pytest.raises(Compacted):
        store.apply({"op": "compact", "revision": 2})
    for revision in (1, 3, 4):
        with pytest.raises(Compacted):
            store.get("k", revision=revision)
        with pytest.raises(Compacted):
            store.range("", prefix=True, revision=revision)
        with pytest.raises(Compacted):
            store.events_since(revision, "k")
        with pytest.raises(Compacted):
            store.events_since(revision, "", prefix=True)
    assert store.get("k", revision=5) == kv("k", "3", 2, 5, 4)
    assert [e["kv"]["value"] for e in store.events_since(5, "k")] == ["3", "4"]
    # Compacting at the current revision is allowed, and the current state stays readable.
    store.apply({"op": "compact", "revision": 6})
    assert store.get("k", revision=6) == store.get("k") == kv("k", "4", 2, 6, 5)
    assert store.events_since(7, "k") == []


def test_compaction_keeps_latest_live_version_and_drops_the_rest():
    store = Store()
    put(store, "live", "1")  # 2
    put(store, "dead", "1")  # 3
    put(store, "live", "2")  # 4
    delete(store, "dead")  # 5
    put(store, "late", "1")  # 6
    put(store, "live", "3")  # 7
    store.apply({"op": "compact", "revision": 5})
    assert store.get("live", revision=6) == kv("live", "2", 2, 4, 2)
    assert store.get("dead", revision=6) is None
    assert [i["key"] for i in store.range("", prefix=True, revision=6)] == ["late", "live"]
    # The put at 7 still knows what it replaced.
    assert store.events_since(6, "live")[0]["prev_kv"] == kv("live", "2", 2, 4, 2)
    assert store.events_since(6, "", prefix=True)[1]["prev_kv"] == kv("live", "2", 2, 4, 2)
    assert "dead" not in store._index and "dead" not in store._keys


def test_history_stays_bounded_under_compaction():
    store = Store()
    stream = Stream.from_seed(11)
    keys = [f"k{i}" for i in range(20)]
    for round_ in range(50):
        for _ in range(200):
            key = stream.choice(keys)
            if stream.chance(0.2):
                delete(store, key)
            else:
                put(store, key, str(round_))
        store.apply({"op": "compact", "revision": store.revision})
        # One record per live key, nothing else.
        assert store.history_size == store.key_count <= len(keys)
    assert store.revision > 9000


def test_equal_states_have_equal_digests_and_survive_pickle_and_copy():
    a, b = Store(), Store()
    for store in (a, b):
        put(store, "x", "1")
        put(store, "y", "1")
    assert a.digest() == b.digest() and a == b
    put(b, "x", "2")
    assert a.digest() != b.digest() and a != b
    for copy_ in (pickle.loads(pickle.dumps(b)), copy.deepcopy(b), b.clone()):
        assert copy_ == b and copy_.digest() == b.digest()
        put(copy_, "z", "1")
        assert b.get("z") is None


def test_equal_states_reached_by_different_paths_hash_equal():
    a, b = Store(), Store()
    put(a, "k", "1")
    put(a, "k", "1")
    put(b, "k", "2")
    put(b, "k", "1")
    assert a.digest() != b.digest()  # their histories differ: a read at revision 2 tells them apart
    for store in (a, b):
        store.apply({"op": "compact", "revision": 3})
    assert a == b
    assert a.digest() == b.digest()
    assert state_hash(a) == state_hash(b)
    put(a, "j", "1")
    assert state_hash(a) != state_hash(b)


def test_incremental_fingerprint_matches_a_fresh_computation():
    store = Store()
    stream = Stream.from_seed(5)
    keys = ["a", "a/1", "a/2", "b", "c"]
    for _ in range(30):
        for _ in range(40):
            store.apply(random_op(stream, keys))
        assert store._fingerprint == store._computed_fingerprint()
        if stream.chance(0.7) and store.revision > store.compact_revision:
            store.apply({"op": "compact", "revision": stream.randint(store.compact_revision + 1, store.revision)})
            assert store._fingerprint == store._computed_fingerprint()


# --- randomized, against a naive reference ---------------------------------------------------
class Reference:
    """A full copy of the key space for every revision: obviously right, hopelessly slow."""

    def __init__(self):
        self.states = {1: {}}
        self.events = {}
        self.revision = 1
        self.compact = 0

    def now(self):
        return self.states[self.revision]

    def write(self, state, ops, rev, events):
        responses = []
        for op in ops:
            if op["op"] == "put":
                prev = state.get(op["key"])
                new = kv(op["key"], op["value"], prev["create_revision"] if prev else rev, rev, prev["version"] + 1 if prev else 1)
                state[op["key"]] = new
                events.append({"type": "PUT", "kv": new, "prev_kv": prev})
                responses.append({"op": "put", "prev_kv": prev})
            elif op["op"] == "delete":
                names = sorted(k for k in state if (k.startswith(op["key"]) if op.get("prefix") else k == op["key"]))
                prevs = [state.pop(name) for name in names]
                events.extend({"type": "DELETE", "kv": kv(name, None, 0, rev, 0), "prev_kv": prev} for name, prev in zip(names, prevs, strict=True))
                responses.append({"op": "delete", "deleted": len(names), "prev_kvs": prevs})
            elif op["op"] == "get":
                responses.append({"op": "get", "kv": state.get(op["key"])})
        return responses

    def apply(self, request):
        state = dict(self.now())
        events = []
        rev = self.revision + 1
        if request["op"] == "txn":
            ok = all(self.compare(c) for c in request["compare"])
            responses = self.write(state, request["success"] if ok else request["failure"], rev, events)
            result = {"succeeded": ok, "responses": responses}
        else:
            result = self.write(state, [request], rev, events)[0]
            result.pop("op")
        if events:
            self.revision = rev
            self.states[rev] = state
            self.events[rev] = events
        result["revision"] = self.revision
        result["events"] = events
        return result

    def compare(self, c):
        item = self.now().get(c["key"])
        if item is None:
            return c["target"] != "value" and _ops[c["result"]](0, c["value"])
        field = {"value": "value", "version": "version", "mod": "mod_revision", "create": "create_revision"}[c["target"]]
        return _ops[c["result"]](item[field], c["value"])

    def range(self, key, prefix, rev):
        state = self.states[max(r for r in self.states if r <= rev)]
        return [state[k] for k in sorted(state) if (k.startswith(key) if prefix else k == key)]

    def events_since(self, start, key, prefix):
        return [e for r in sorted(self.events) if r >= start for e in self.events[r]
                if (e["kv"]["key"].startswith(key) if prefix else e["kv"]["key"] == key)]


_ops = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b, ">": lambda a, b: a > b}


def random_op(stream, keys, in_txn=False):
    kind = stream.choice(["put", "put", "put", "delete", "get"] if in_txn else ["put", "put", "put", "delete", "txn"])
    key = stream.choice(keys)
    if kind == "put":
        return {"op": "put", "key": key, "value": str(stream.randint(0, 3))}
    if kind == "delete":
        if stream.chance(0.3):
            return {"op": "delete", "key": key[:stream.randint(0, 2)], "prefix": True}
        return {"op": "delete", "key": key}
    if kind == "get":
        return {"op": "get", "key": key}
    target = stream.choice(["value", "version", "mod", "create"])
    value = str(stream.randint(0, 3)) if target == "value" else stream.randint(0, 8)
    compares = [cmp(key, target, stream.choice(["=", "!=", "<", ">"]), value)]
    return {"op": "txn", "compare": compares,
            "success": [random_op(stream, keys, True) for _ in range(stream.randint(0, 3))],
            "failure": [random_op(stream, keys, True) for _ in range(stream.randint(0, 2))]}


@pytest.mark.parametrize("seed", range(8))
def test_random_workload_matches_the_reference(seed):
    stream = Stream.from_seed(seed)
    keys = ["a", "a/x", "a/y", "ab", "b", "b/x", "c"]
    store, ref = Store(), Reference()
    for step in range(400):
        if stream.chance(0.05) and store.revision > store.compact_revision:
            target = stream.randint(store.compact_revision + 1, store.revision)
            store.apply({"op": "compact", "revision": target})
            ref.compact = target
            continue
        request = random_op(stream, keys)
        assert store.apply(request) == ref.apply(request), (seed, step, request)
        assert store.revision == ref.revision
        # Reads now and at a random readable past revision.
        rev = stream.randint(ref.compact + 1, ref.revision) if ref.compact < ref.revision else ref.revision
        key = stream.choice(keys)
        prefix = key[:stream.randint(0, 2)]
        assert store.range(prefix, prefix=True, revision=rev) == ref.range(prefix, True, rev)
        assert store.get(key, revision=rev) == (ref.range(key, False, rev) or [None])[0]
        start = stream.randint(ref.compact + 1, ref.revision + 1)
        assert store.events_since(start, prefix, prefix=True) == ref.events_since(start, prefix, True)
        assert store.events_since(start, key) == ref.events_since(start, key, False)
    assert store.key_count == len(ref.now())


def test_thousands_of_keys_and_many_revisions_stay_fast():
    # Not a timing assertion: a workload big enough that a quadratic step would show.
    store = Store()
    for i in range(4000):
        put(store, f"/registry/pods/ns{i % 10}/pod-{i:05d}", "spec")
    for i in range(40_000):
        put(store, f"/registry/pods/ns{i % 10}/pod-{i % 4000:05d}", f"status-{i}")
    assert store.revision == 44_001
    assert len(store.range("/registry/pods/ns3/", prefix=True)) == 400
    assert store.get("/registry/pods/ns0/pod-00000", revision=100)["value"] == "spec"
    assert len(store.events_since(43_000, "/registry/pods/ns1/", prefix=True)) == 100
    store.apply({"op": "compact", "revision": 40_000})
    assert store.history_size == 4000 + 4001 + 4001
