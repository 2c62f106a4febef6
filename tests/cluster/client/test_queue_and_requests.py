"""The work queue (stingy, merging, back-off) and the request helper (ids, retries, timeouts)."""

from cluster.kernel import MILLISECOND, SECOND

from ..apiserver.harness import Harness
from .probe import Probe


def probe_with_queue(workers=1, **options):
    h = Harness()
    probe = Probe(h.sim, **options)
    queue = probe.api.queue("q", "sync", workers=workers, base_delay_us=100 * MILLISECOND, max_delay_us=SECOND)
    h.sim.add(probe)
    return h, probe, queue


def test_repeated_adds_merge_and_keys_leave_in_order():
    h, probe, queue = probe_with_queue()
    for key in ("ns/a", "ns/b", "ns/a", "ns/c", "ns/b"):
        queue.add(key)
    assert queue.depth == 3 and queue.queue == ["ns/a", "ns/b", "ns/c"]
    h.run(0.01)
    assert [k for _t, k in probe.synced_keys] == ["ns/a", "ns/b", "ns/c"]
    assert queue.depth == 0 and queue.processing == {} and queue.processed == 3


def test_a_key_is_never_processed_twice_at_once_and_an_add_meanwhile_comes_back_once():
    h, probe, queue = probe_with_queue(workers=3)
    h.create("configmaps", {"metadata": {"name": "a"}}, namespace="default")
    probe.hold.add("default/a")
    queue.add("default/a")
    h.run(0.001)
    assert list(queue.processing) == ["default/a"] and queue.processing["default/a"] == 1  # its get is in flight
    queue.add("default/a")
    queue.add("default/a")
    h.run(0.001)
    assert len(probe.synced_keys) == 1 and queue.depth == 0 and "default/a" in queue.dirty
    h.run_until(lambda: len(probe.synced_keys) == 2)
    assert probe.answers["default/a"] == 200
    assert list(queue.processing) == ["default/a"]  # the second round, after the first ended
    h.run(1)
    assert len(probe.synced_keys) == 2 and queue.processing == {}


def test_failures_back_off_exponentially_up_to_the_cap_and_success_forgets():
    h, probe, queue = probe_with_queue()
    probe.fail["k"] = 6
    start = h.sim.now
    queue.add("k")
    h.run(10)
    times = [round((t - start) / MILLISECOND) for t, k in probe.synced_keys]
    # 100, 200, 400, 800 ms, then the 1 s cap.
    assert times == [0, 100, 300, 700, 1500, 2500, 3500]
    retries = [e for e in h.sim.log.events if e["kind"] == "controller.retry"]
    assert [e["data"]["failures"] for e in retries] == [1, 2, 3, 4, 5, 6]
    assert queue.num_requeues("k") == 0 and queue.waiting == {}


def test_a_failed_request_fails_the_round():
    h, probe, queue = probe_with_queue()
    probe.hold.add("default/missing")
    probe.api.queues["q"].sync = "sync"
    queue.add("default/missing")
    h.run(1)
    assert probe.answers["default/missing"] == 404 and queue.num_requeues("default/missing") == 0  # 404 is listed as ok
    probe.api.request("get", "configmaps", namespace="default", name="nope", then="answer", context="plain")
    h.run(1)
    assert probe.answers["plain"]["code"] == 404


def test_a_sync_that_raises_is_reported_and_retried():
    h, probe, queue = probe_with_queue()
    queue.sync = "no_such_method"
    queue.add("k")
    h.run(0.05)
    errors = [e for e in h.sim.log.events if e["kind"] == "controller.error"]
    assert errors and errors[0]["data"]["key"] == "k" and "AttributeError" in errors[0]["data"]["error"]
    assert queue.num_requeues("k") == 1


def test_requests_that_never_arrive_are_sent_again_with_back_off():
    h, probe, _queue = probe_with_queue(retry_base_us=500 * MILLISECOND)
    h.run(1)
    h.sim.net.partition([["probe"], ["kube-apiserver"]])
    rid = probe.api.request("create", "configmaps", namespace="default", body={"metadata": {"name": "c"}}, then="answer", context="c")
    h.run(1.4)  # sent at 0 (dropped at once), again at 0.5 and at 1.5
    retries = [e for e in h.sim.log.events if e["kind"] == "controller.request_retry"]
    assert [e["data"]["delay"] for e in retries] == [0.5, 1.0]
    h.sim.net.heal()
    h.run(2)
    assert probe.answers["c"]["code"] == 201 and probe.answers["c"]["id"] != rid
    assert h.get("configmaps", "c", namespace="default")["code"] == 200


def test_out_of_attempts_is_a_503_and_an_unanswered_write_a_504():
    h, probe, _queue = probe_with_queue(retry_base_us=100 * MILLISECOND, max_attempts=3, request_timeout_us=5 * SECOND)
    h.run(1)
    h.sim.net.partition([["probe"], ["kube-apiserver"]])
    probe.api.request("get", "configmaps", namespace="default", name="x", then="answer", context="get")
    h.run(2)
    assert probe.answers["get"]["code"] == 503 and probe.answers["get"]["body"]["reason"] == "ServiceUnavailable"
    h.sim.net.heal()
    # The API server gets the write, then crashes before answering: the outcome is unknown.
    probe.api.request("create", "configmaps", namespace="default", body={"metadata": {"name": "w"}}, then="answer", context="write")
    mark = h.sim.log.last_seq
    h.run_until(lambda: any(e["kind"] == "api.request" and e["target"] == "probe" for e in h.sim.log.since(mark)), 2, step_ms=1)
    h.sim.crash("kube-apiserver")
    h.run(6)
    assert probe.answers["write"]["code"] == 504 and probe.api.counters["failures"] == 2



class _Owner:
    now = 0

    def __init__(self):
        self.timers = []

    def set_timer(self, delay, tag, data):
        self.timers.append((delay, tag, data))

    def emit(self, *args, **kw):
        pass


class _Client:
    """Just what a WorkQueue needs of its ApiClient."""

    def __init__(self):
        self.owner = _Owner()
        self.seen = {"configmaps": 0}
        self.synced_keys = []
        self.current = None

    def synced(self):
        return True

    def caught_up(self, resource, rv):
        return self.seen.get(resource, 0) >= rv

    def resolve(self, name):
        return lambda key: self.synced_keys.append(key)


def test_a_key_settles_until_the_informer_shows_the_round_s_writes():
    from cluster.client import WorkQueue

    client = _Client()
    queue = WorkQueue(client, "q", "sync")
    queue.start()
    queue.add("k")
    queue.processing["k"] = 1  # as if sync had sent one request, now answered with resourceVersion 7
    queue.queue.remove("k")
    queue.dirty.discard("k")
    queue.round_failed["k"] = False
    queue.request_done("k", queue.run, failed=False, write=["configmaps", 7])
    assert queue.settling == {"k": [["configmaps", 7]]}
    queue.add("k")  # news about k: remembered, not processed on a stale cache
    assert queue.queue == [] and "k" in queue.dirty
    client.seen["configmaps"] = 6
    queue.settle("configmaps")
    assert queue.settling == {"k": [["configmaps", 7]]}
    client.seen["configmaps"] = 7
    queue.kick_pending = False  # (the stub never fires the first kick's timer)
    queue.settle("configmaps")
    assert queue.settling == {} and queue.queue == ["k"]
    assert client.owner.timers[-1][1] == "client.queue"  # woken to process it
