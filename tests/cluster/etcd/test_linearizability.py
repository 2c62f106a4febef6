"""Linearizability of the simulated etcd under faults, checked like Jepsen checks etcd.

Many sequential clients (`KVClient`, one request at a time each, so they are concurrent
with one another) send random get / put / delete / cas requests on a few keys to random
members, while a seeded `Nemesis` crashes and restarts members (the leader on purpose),
partitions them (isolating the leader on purpose), and sets loss and latency. Every
request is recorded with its call and return times in virtual microseconds and one of
three outcomes:

    ok        answered with ok: it took effect between call and return (reads: with the
              value it returned)
    failed    it certainly did not take effect: the member refused it before proposing
              ("no leader"), or it never reached the member (the sender learned that the
              message was not delivered). Left out of the history.
    unknown   answered with outcome "unknown" (proposed, then timed out), or never answered
              within the client's patience: it may take effect at any later time, or never.

The history goes to the checker in tests/support/linearizability.py. Serializable reads
are answered from a member's own store and may be stale by design: they are recorded but
kept out of the check (a test below shows one that no linearization explains).

At the end everything is healed, every member restarted, and a final linearizable read of
each key is added to the history; besides the checker's verdict the test asserts directly
that nothing acknowledged was lost: each key's final mod revision is at least the
revision of every acknowledged write of it, every acknowledged put is in the store's
history at its revision, and all members converge on the same store.
"""

import pytest

from cluster.etcd import find_leader
from cluster.kernel import Component
from tests.support import linearizability as lin

from .etcd_harness import FAST, MILLISECOND, SECOND, add_client, make_etcd, run, run_until_leader

KEYS = ("a", "b", "c")
# What each client does, by weight.
OPS = ("get", "get", "put", "put", "cas", "cas", "delete")


class KVClient(Component):
    """A sequential etcd client: one request at a time to a random member, then a pause.

    `history` holds one record per request: {"id", "op", "key", "value", "expected",
    "consistency", "member", "call", "ret", "outcome", "output", "revision", "error",
    "deleted"}. A request not answered within `patience_us` is given up as "unknown";
    an answer that comes after that is ignored, as a real client that moved on would."""

    kind = "kv-client"

    def __init__(self, sim, name, members, *, patience_us, think_us=(0, 20 * MILLISECOND), serializable=0.1, keys=KEYS):
        super().__init__(sim, name)
        self.members = [m.name for m in members]
        self.patience_us = patience_us
        self.think_us = think_us
        self.serializable = serializable
        self.keys = keys
        self.history: list[dict] = []
        self.current: dict | None = None
        self.active = True
        self.last_seen: dict = {}  # key -> the last value this client read or wrote (its guess for cas)
        self.writes = 0

    def on_start(self) -> None:
        self._pause()

    def _pause(self) -> None:
        if self.active:
            self.set_timer(self.stream("think").randint(*self.think_us), "next")

    def on_timer(self, tag, data) -> None:
        if tag == "next" and self.active and self.current is None:
            self._issue()
        elif tag == "patience" and self.current is not None and self.current["id"] == data:
            self._finish("unknown", error="no answer within the client's patience")

    def _issue(self) -> None:
        rng = self.stream("ops")
        op = rng.choice(OPS)
        key = rng.choice(list(self.keys))
        member = rng.choice(self.members)
        record = {"id": len(self.history) + 1, "op": op, "key": key, "value": None, "expected": None, "consistency": None, "member": member}
        payload = {"id": record["id"], "op": op, "key": key}
        if op == "get":
            record["consistency"] = "serializable" if rng.chance(self.serializable) else "linearizable"
            payload["consistency"] = record["consistency"]
        if op in ("put", "cas"):
            self.writes += 1
            record["value"] = payload["value"] = f"{self.name}.{self.writes}"  # unique: a read names its writer
        if op == "cas":
            # Usually what this client last saw (so that swaps succeed often), sometimes absence.
            record["expected"] = payload["expected"] = None if rng.chance(0.2) else self.last_seen.get(key)
        record.update(call=self.now, ret=None, outcome="pending", output=None, revision=None, error=None, deleted=None)
        self.history.append(record)
        self.current = record
        self.send(member, "etcd.request", payload)
        if self.current is record:  # a send can fail at once (a crashed member): then it is finished already
            self.set_timer(self.patience_us, "patience", record["id"])

    def on_message(self, msg) -> None:
        current = self.current
        p = msg.payload
        if msg.kind != "etcd.response" or current is None or p.get("id") != current["id"]:
            return  # the answer to a request given up on
        if not p["ok"]:
            self._finish(p["outcome"], error=p["error"])
            return
        current["revision"] = p.get("revision")
        if current["op"] == "get":
            current["output"] = p["value"]
            self.last_seen[current["key"]] = p["value"]
        elif current["op"] == "cas":
            current["output"] = p["succeeded"]
            if p["succeeded"]:
                self.last_seen[current["key"]] = current["value"]
        elif current["op"] == "put":
            self.last_seen[current["key"]] = current["value"]
        else:
            current["deleted"] = p["deleted"]
            self.last_seen[current["key"]] = None
        self._finish("ok")

    def on_undeliverable(self, msg, reason) -> None:
        current = self.current
        if msg.kind == "etcd.request" and current is not None and msg.payload["id"] == current["id"]:
            self._finish("failed", error=f"not delivered: {reason}")

    def _finish(self, outcome: str, error: str | None = None) -> None:
        record = self.current
        record["outcome"] = outcome
        record["error"] = error
        if outcome == "ok":
            record["ret"] = self.now
        self.current = None
        self._pause()


class Nemesis(Component):
    """Injects a seeded random fault every `every_us`: crashes and restarts (the leader
    half the time), partitions into random groups or around the leader, loss and latency
    on a member or a link, and heals. With a majority down, the next fault is a restart. Clients stay reachable from every side (the
    partitions name members only), as clients of a real cluster usually do."""

    kind = "nemesis"
    ACTIONS = (
        ("crash", 2),
        ("crash-leader", 2),
        ("restart", 5),
        ("partition", 1),
        ("isolate-leader", 2),
        ("heal", 3),
        ("loss", 1),
        ("latency", 1),
    )

    def __init__(self, sim, members, every_us, clients=()):
        super().__init__(sim, "nemesis")
        self.members = list(members)
        self.names = [m.name for m in members]
        self.clients = list(clients)  # when given, partitions put each client on a random side
        self.every_us = every_us
        self.active = True
        self.faults: list = []  # (time, action, detail)
        self.choices = [action for action, weight in self.ACTIONS for _ in range(weight)]

    def on_start(self) -> None:
        self.set_timer(self.stream("when").randint(*self.every_us), "fault")

    def on_timer(self, tag, data) -> None:
        if not self.active:
            return
        self.strike(self.stream("what"))
        self.set_timer(self.stream("when").randint(*self.every_us), "fault")

    def strike(self, rng) -> None:
        sim, net = self.sim, self.sim.net
        action = rng.choice(self.choices)
        leader = find_leader(self.members)
        alive = [n for n in self.names if sim.components[n].alive]
        down = [n for n in self.names if not sim.components[n].alive]
        if len(down) > len(self.names) // 2 and action != "restart":
            # Without a majority nothing commits: keep such stretches to one interval,
            # so that runs have quorum most of the time (and lose it now and then).
            action = "restart"
        detail = None
        if action == "crash-leader" and leader is not None:
            detail = leader.name
            sim.crash(detail)
        elif action in ("crash", "crash-leader") and alive:
            detail = rng.choice(alive)
            sim.crash(detail)
        elif action == "restart" and down:
            detail = rng.choice(down)
            sim.restart(detail)
        elif action == "isolate-leader" and leader is not None and len(self.names) > 1:
            detail = self._with_clients(rng, [[leader.name], [n for n in self.names if n != leader.name]])
            net.partition(detail)
        elif action in ("partition", "isolate-leader") and len(self.names) > 1:
            shuffled = list(self.names)
            rng.shuffle(shuffled)
            cut = rng.randint(1, len(shuffled) - 1)
            detail = self._with_clients(rng, [sorted(shuffled[:cut]), sorted(shuffled[cut:])])
            net.partition(detail)
        elif action == "heal":
            net.heal()
        elif action == "loss":
            detail = (rng.choice(self.names), rng.choice([0.05, 0.2, 0.5]))
            net.set_fault(loss=detail[1], target=detail[0])
        elif action == "latency":
            target = rng.choice(self.names)
            peer = rng.choice([None] + [n for n in self.names if n != target])
            detail = (target, peer, rng.choice([20, 100, 400]) * MILLISECOND)
            net.set_fault(latency_us=detail[2], target=target, peer=peer)
        else:
            return
        self.faults.append((sim.now, action, detail))

    def _with_clients(self, rng, groups: list) -> list:
        for client in self.clients:
            groups[rng.randint(0, len(groups) - 1)].append(client)
        return groups

    def repair(self) -> None:
        self.active = False
        self.sim.net.heal()
        for name in self.names:
            self.sim.restart(name)


# --- a run -------------------------------------------------------------------------------------------
def patience_of(members) -> int:
    """How long a client waits: past the member's own request timeout, so that a member's
    "timed out" answer normally arrives first, plus room for slow links."""
    return 2 * members[0].request_timeout_us + SECOND


def faulty_run(
    seed,
    size,
    *,
    profile=FAST,
    clients=6,
    chaos_us=12 * SECOND,
    every_us=(300 * MILLISECOND, 1500 * MILLISECOND),
    think_us=(0, 20 * MILLISECOND),
    partition_clients=False,
    **options,
):
    """Clients and the nemesis for `chaos_us`, then repair, let every request finish, and
    read each key once more. Returns (sim, members, clients, nemesis, final reads)."""
    sim, members = make_etcd(size, seed=seed, profile=profile, **options)
    patience = patience_of(members)
    kv = [sim.add(KVClient(sim, f"client-{i}", members, patience_us=patience, think_us=think_us)) for i in range(clients)]
    nemesis = sim.add(Nemesis(sim, members, every_us, clients=[c.name for c in kv] if partition_clients else ()))
    run(sim, chaos_us)
    nemesis.repair()
    for client in kv:
        client.active = False
    run(sim, sim.now + patience + SECOND)  # every request is answered or given up by now
    assert all(client.current is None for client in kv)
    assert run_until_leader(sim, members, sim.now + 10 * SECOND) is not None, f"no leader after the repair (seed {seed})"
    final = final_reads(sim, members, KEYS)
    return sim, members, kv, nemesis, final


def final_reads(sim, members, keys) -> dict:
    """A linearizable read of each key after the repair: {key: (call, ret, response)}.
    Retried while refused (a leader change just after the heal can refuse one)."""
    reader = add_client(sim, "final-reader")
    out = {}
    for key in keys:
        for attempt in range(10):
            call = sim.now
            rid = reader.request(members[attempt % len(members)].name, "get", key=key)
            run(sim, sim.now + SECOND)
            response = reader.responses.get(rid)
            if response is not None and response["ok"]:
                out[key] = (call, reader.answered_at[rid], response)
                break
        else:
            pytest.fail(f"no final read of {key!r} succeeded")
    return out


def operation(record: dict) -> lin.Operation | None:
    """The checker's Operation for a record, or None when it must stay out (failed
    requests, which certainly did not happen; unanswered reads, which constrain nothing)."""
    outcome, op, key, call = record["outcome"], record["op"], record["key"], record["call"]
    if outcome == "failed":
        return None
    assert outcome in ("ok", "unknown"), record
    ret = record["ret"] if outcome == "ok" else None
    client = record.get("client")
    if op == "get":
        return lin.get(key, record["output"], call, ret, client) if ret is not None else None
    if op == "put":
        return lin.put(key, record["value"], call, ret, client)
    if op == "delete":
        return lin.delete(key, call, ret, client)
    return lin.cas(key, record["expected"], record["value"], record["output"] if ret is not None else None, call, ret, client)


def records_of(clients, consistency=("linearizable", None)) -> list[dict]:
    out = []
    for client in clients:
        for record in client.history:
            if record["consistency"] in consistency:
                out.append({**record, "client": client.name})
    return out


def history_of(clients, final: dict) -> list[lin.Operation]:
    history = [op for op in map(operation, records_of(clients)) if op is not None]
    for key, (call, ret, response) in final.items():
        history.append(lin.get(key, response["value"], call, ret, "final-reader"))
    return history


def assert_nothing_acknowledged_is_lost(members, clients, final) -> None:
    store = find_leader(members).store
    assert len({m.store.digest() for m in members}) == 1, "the members' stores differ after the repair"
    for key in KEYS:
        acknowledged = [
            r for r in records_of(clients, ("linearizable", None))
            if r["key"] == key and r["outcome"] == "ok" and (r["op"] == "put" or (r["op"] == "cas" and r["output"]) or (r["op"] == "delete" and r["deleted"]))
        ]
        for r in acknowledged:
            if r["op"] != "delete":
                kv = store.get(key, revision=r["revision"])
                assert kv is not None and kv["value"] == r["value"] and kv["mod_revision"] == r["revision"], f"acknowledged {r} is not in the store's history"
        if not acknowledged:
            continue
        newest = max(acknowledged, key=lambda r: r["revision"])
        response = final[key][2]
        if response["value"] is not None:
            assert response["mod_revision"] >= newest["revision"], f"{key}: final value {response} is older than acknowledged {newest}"
        else:
            # Absent: the newest acknowledged change was a delete, or a delete came after it.
            later_delete = any(
                r["key"] == key and r["op"] == "delete" and (r["outcome"] == "unknown" or (r["outcome"] == "ok" and r["revision"] >= newest["revision"]))
                for r in records_of(clients)
            )
            assert newest["op"] == "delete" or later_delete, f"{key}: acknowledged {newest} is gone and no delete explains it"


def check_run(seed, size, **options):
    sim, members, clients, nemesis, final = faulty_run(seed, size, **options)
    history = history_of(clients, final)
    result = lin.check(history)
    assert result.ok, f"seed {seed}, {size} members:\n{result.explanation}"
    assert_nothing_acknowledged_is_lost(members, clients, final)
    records = records_of(clients)
    outcomes = {k: sum(1 for r in records if r["outcome"] == k) for k in ("ok", "failed", "unknown")}
    # The run was not vacuous: real traffic, real faults, leaders lost on purpose.
    assert outcomes["ok"] >= 50, outcomes
    assert len(nemesis.faults) >= 6
    assert any(action in ("crash-leader", "isolate-leader") for _, action, _ in nemesis.faults)
    assert max(m.raft.term for m in members) >= 2, "no leader change happened"  # the first leader leads term 1
    return outcomes, len(history), nemesis


# --- the tests ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(1, 17))
def test_three_members_linearizable_under_faults(seed):
    outcomes, size, _ = check_run(seed, 3)
    assert size > 150


@pytest.mark.parametrize("seed", range(101, 111))
def test_five_members_linearizable_under_faults(seed):
    check_run(seed, 5)


@pytest.mark.parametrize("seed", range(201, 205))
def test_five_members_with_reordering_and_without_pre_vote_or_check_quorum(seed):
    # Latency reorders messages on a link; a stale leader keeps believing it leads.
    check_run(seed, 5, fifo=False, jitter_us=30 * MILLISECOND, pre_vote=False, check_quorum=False)


@pytest.mark.parametrize("seed", range(401, 405))
def test_clients_cut_off_with_short_request_timeouts(seed):
    # Partitions put clients on either side, and members give up on requests after 60 ms
    # (a commit takes 20-50 ms here): many writes end "unknown" and commit later, or never.
    check_run(seed, 3, request_timeout_us=60 * MILLISECOND, partition_clients=True)


@pytest.mark.parametrize("seed", range(301, 305))
def test_three_members_realistic_profile(seed):
    # etcd's own timings: 100 ms heartbeats, 1-2 s elections, a LAN's latency.
    check_run(
        seed,
        3,
        profile="realistic",
        chaos_us=20 * SECOND,
        every_us=(400 * MILLISECOND, 2000 * MILLISECOND),
        think_us=(5 * MILLISECOND, 60 * MILLISECOND),
    )


def test_unknown_outcomes_occur_and_are_resolved_both_ways():
    """Across a few runs, writes end "unknown" for both reasons (a member's timeout, a
    client's patience), and the checker placed some of them (they took effect) while
    leaving others out: the unknown handling is exercised, not just tolerated."""
    reasons = {"member": 0, "client": 0}
    took_effect = 0
    for seed in (1, 2, 3):
        sim, members, clients, nemesis, final = faulty_run(seed, 3)
        records = [r for r in records_of(clients) if r["op"] != "get"]
        for r in records:
            if r["outcome"] == "unknown":
                reasons["client" if "patience" in (r["error"] or "") else "member"] += 1
        store = find_leader(members).store
        values = {r["value"] for r in records if r["outcome"] == "unknown" and r["op"] in ("put", "cas")}
        took_effect += sum(1 for e in store.events_since(1, "", prefix=True) if e["kv"].get("value") in values)
    assert reasons["member"] > 0 and reasons["client"] > 0, reasons
    assert took_effect > 0


def test_serializable_reads_are_not_linearizable():
    """Serializable reads come from the member's own store. Under faults some are stale:
    put into the history, at least one run's history is no longer linearizable, which is
    why they are kept out of the check above. Here, made certain: a follower cut off from
    the leader answers a serializable read with the value from before a write that
    completed earlier."""
    sim, members = make_etcd(3, seed=7)
    leader = run_until_leader(sim, members, 5 * SECOND)
    client = add_client(sim, "c")
    put = client.request(leader, "put", key="k", value="old")
    run(sim, sim.now + SECOND)
    behind = next(m.name for m in members if m.name != leader)
    sim.net.partition([[behind], [m.name for m in members if m.name != behind]])
    put2 = client.request(leader, "put", key="k", value="new")
    run(sim, sim.now + SECOND)
    assert client.responses[put2]["ok"]
    stale = client.request(behind, "get", key="k", consistency="serializable")
    fresh = client.request(behind, "get", key="k")
    run(sim, sim.now + 3 * SECOND)
    assert client.responses[stale]["value"] == "old"
    assert not client.responses[fresh]["ok"]  # a linearizable read refuses instead
    history = [
        lin.put("k", "old", client.sent[put][0], client.answered_at[put]),
        lin.put("k", "new", client.sent[put2][0], client.answered_at[put2]),
        lin.get("k", "old", client.sent[stale][0], client.answered_at[stale]),
    ]
    result = lin.check(history)
    assert not result.ok and "read 'old' but the value was 'new'" in result.explanation


def test_serializable_reads_under_faults_include_stale_ones():
    """In a random faulty run, adding the serializable reads to the history breaks
    linearizability for some seed (they were stale), while the linearizable history of
    the same run passes."""
    broken = 0
    for seed in (1, 2, 3, 4, 5, 6):
        sim, members, clients, nemesis, final = faulty_run(seed, 3, chaos_us=6 * SECOND)
        assert lin.check(history_of(clients, final)).ok
        with_serializable = [op for op in map(operation, records_of(clients, ("linearizable", "serializable", None))) if op is not None]
        result = lin.check(with_serializable, max_steps=200_000)
        if not result.ok and not result.inconclusive:
            broken += 1
            break
    assert broken, "no stale serializable read in these runs"
