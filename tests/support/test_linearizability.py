"""The linearizability checker: hand-made histories both ways, unknown outcomes, a
differential test against brute force on small random histories, and big histories
generated from a sequential model (which must pass) with mutations (which must fail)."""

import pytest

from cluster.kernel import Stream
from tests.support.linearizability import Operation, cas, check, delete, from_dict, get, put, step


def ok(history):
    result = check(history)
    assert result.ok, result.explanation
    assert_witness(history, result)
    return result


def assert_witness(history, result):
    """The order the checker found is a real linearization: each completed operation
    exactly once, real-time order kept, and the sequential model accepts it."""
    inf = float("inf")
    for key, order in result.linearization.items():
        assert len(order) == len(set(order))
        assert all(history[i].key == key for i in order)
        completed = {i for i, op in enumerate(history) if op.key == key and op.ret is not None}
        assert completed <= set(order)
        position = {i: p for p, i in enumerate(order)}
        for a in order:
            end_a = history[a].ret if history[a].ret is not None else inf
            for b in order:
                if end_a < history[b].call:
                    assert position[a] < position[b], (a, b)
        state = None
        for i in order:
            accepted, state = step(state, history[i], history[i].ret is not None)
            assert accepted, (i, history[i])


def bad(history):
    result = check(history)
    assert not result.ok and not result.inconclusive
    return result


# --- linearizable histories ----------------------------------------------------------------
def test_empty_history():
    assert ok([]).linearization == {}


def test_sequential_history():
    result = ok([
        get("x", None, 0, 1),
        put("x", "1", 2, 3),
        get("x", "1", 4, 5),
        cas("x", "1", "2", True, 6, 7),
        cas("x", "1", "3", False, 8, 9),
        delete("x", 10, 11),
        cas("x", None, "4", True, 12, 13),
        get("x", "4", 14, 15),
    ])
    assert result.linearization == {"x": list(range(8))}


def test_concurrent_reads_may_see_either_side_of_a_write():
    ok([put("x", "1", 0, 10), get("x", None, 1, 2), get("x", "1", 3, 4), get("x", "1", 5, 12)])
    # Reads of one client can flip once (old, new) while the write is in flight...
    ok([put("x", "0", 0, 1), put("x", "1", 2, 10), get("x", "0", 3, 4), get("x", "1", 5, 6)])


def test_the_docstring_example():
    ok([put("x", "1", 0, 1), put("x", "2", 2, 7), get("x", "2", 5, 8)])
    ok([put("x", "1", 0, 1), put("x", "2", 2, 7), get("x", "1", 5, 8)])
    bad([put("x", "1", 0, 1), put("x", "2", 2, 7), get("x", "1", 8, 9)])


def test_order_must_be_found_not_assumed():
    # Calls in one order, effects in the other: the checker has to backtrack.
    ok([put("x", "a", 0, 10), put("x", "b", 1, 10), get("x", "a", 11, 12)])
    ok([put("x", "a", 0, 10), put("x", "b", 1, 10), get("x", "b", 11, 12)])
    ok([cas("x", None, "a", True, 0, 10), cas("x", "a", "b", True, 1, 10), cas("x", "b", "c", True, 2, 10), get("x", "c", 11, 12)])


def test_equal_timestamps_count_as_concurrent():
    # The put returns at 5, the get is called at 5: either order is allowed.
    ok([put("x", "1", 0, 5), get("x", None, 5, 6)])
    bad([put("x", "1", 0, 5), get("x", None, 6, 7)])


def test_keys_are_independent():
    ok([put("x", "1", 0, 10), put("y", "1", 0, 1), get("y", "1", 2, 3), get("x", None, 4, 5)])


# --- non-linearizable histories ------------------------------------------------------------
def test_stale_read_after_a_completed_write():
    result = bad([put("x", "1", 0, 1, client=1), put("x", "2", 2, 3, client=1), get("x", "1", 4, 5, client=2)])
    assert result.key == "x"
    assert "#2 client 2 get -> '1' [4, 5]: read '1' but the value was '2'" in result.explanation


def test_read_of_a_value_never_written():
    bad([put("x", "1", 0, 1), get("x", "9", 2, 3)])
    bad([get("x", "1", 0, 1)])


def test_read_before_the_write_started():
    bad([get("x", "1", 0, 1), put("x", "1", 2, 3)])


def test_lost_write():
    # Two acknowledged writes, yet later reads return to the first: the second is lost.
    bad([put("x", "1", 0, 1), put("x", "2", 2, 3), get("x", "2", 4, 5), get("x", "1", 6, 7)])


def test_reads_cannot_flip_back():
    # The write is still in flight, but once a read saw the new value, a later read
    # (starting after it returned) cannot see the old one.
    bad([put("x", "0", 0, 1), put("x", "1", 2, 20), get("x", "1", 3, 4), get("x", "0", 5, 6)])


def test_deleted_key_reappears():
    bad([put("x", "1", 0, 1), delete("x", 2, 3), get("x", "1", 4, 5)])


def test_cas_anomalies():
    # Two creates of an absent key both succeed with nothing deleting in between.
    bad([cas("x", None, "a", True, 0, 10), cas("x", None, "b", True, 1, 11)])
    ok([cas("x", None, "a", True, 0, 10), cas("x", None, "b", True, 1, 11), delete("x", 2, 12)])
    # A cas reports failure though nothing else could have changed the value.
    bad([put("x", "1", 0, 1), cas("x", "1", "2", False, 2, 3)])
    # A cas succeeds but its write is not visible afterwards.
    bad([put("x", "1", 0, 1), cas("x", "1", "2", True, 2, 3), get("x", "1", 4, 5)])
    # A cas succeeds against a value the key never held.
    bad([put("x", "1", 0, 1), cas("x", "7", "2", True, 2, 3)])
    # Two successful swaps from the same value.
    bad([put("x", "1", 0, 1), cas("x", "1", "2", True, 2, 10), cas("x", "1", "3", True, 2, 10)])


def test_explanation_names_the_failing_key_and_the_partial_order():
    history = [put("a", "1", 0, 1), put("b", "1", 0, 1), get("b", "2", 2, 3)]
    result = bad(history)
    assert result.key == "b"
    assert result.partial == [1]
    assert "key 'b' is not linearizable" in result.explanation


# --- unknown outcomes ------------------------------------------------------------------------
def test_unknown_write_may_have_happened():
    ok([put("x", "1", 0, None), get("x", "1", 5, 6)])


def test_unknown_write_may_not_have_happened():
    ok([put("x", "1", 0, None), get("x", None, 5, 6)])


def test_unknown_write_may_take_effect_late():
    ok([put("x", "1", 0, None), get("x", None, 5, 6), get("x", "1", 7, 8)])


def test_unknown_write_takes_effect_at_most_once():
    bad([put("x", "1", 0, None), get("x", "1", 5, 6), put("x", "2", 7, 8), get("x", "2", 9, 10), get("x", "1", 11, 12)])
    bad([put("x", "1", 0, None), get("x", "1", 5, 6), get("x", None, 7, 8)])


def test_unknown_write_cannot_take_effect_before_its_call():
    bad([get("x", "1", 0, 1), put("x", "1", 2, None)])


def test_unknown_cas_both_ways():
    ok([cas("x", None, "a", None, 0, None), get("x", "a", 3, 4)])
    ok([cas("x", None, "a", None, 0, None), get("x", None, 3, 4)])
    # It can only write if its compare held when it took effect.
    bad([put("x", "z", 0, 1), cas("x", None, "a", None, 2, None), get("x", "a", 5, 6)])
    ok([put("x", "z", 0, 1), cas("x", None, "a", None, 2, None), delete("x", 3, 4), get("x", "a", 5, 6)])


def test_unknown_delete_and_unknown_get():
    ok([put("x", "1", 0, 1), delete("x", 2, None), get("x", "1", 3, 4), get("x", None, 5, 6)])
    ok([put("x", "1", 0, 1), get("x", "nonsense", 2, None)])  # an unanswered read constrains nothing


# --- input -----------------------------------------------------------------------------------
def test_dicts_are_accepted():
    history = [
        {"op": "put", "key": "x", "value": "1", "call": 0, "return": 1, "client": 1},
        {"op": "cas", "key": "x", "expected": "1", "value": "2", "succeeded": True, "call": 2, "return": 3},
        {"op": "get", "key": "x", "value": "2", "call": 4, "return": 5},
        {"op": "delete", "key": "x", "call": 6, "return": None},
    ]
    assert check(history).ok
    history[2]["value"] = "1"
    assert not check(history).ok
    assert from_dict({"op": "get", "key": "x", "output": None, "call": 0, "return": 1}) == get("x", None, 0, 1)


@pytest.mark.parametrize("op", [
    Operation("incr", "x", 0, 1),
    Operation("put", "x", 5, 1, value="1"),
    Operation("put", "x", None, 1, value="1"),
    Operation("cas", "x", 0, 1, value="1"),
])
def test_malformed_operations(op):
    with pytest.raises(ValueError):
        check([op])


def test_budget_makes_a_hard_search_inconclusive_not_wrong():
    # Many concurrent writes and a read nobody wrote: exhausting every order is work.
    history = [put("x", str(i), 0, 100) for i in range(12)] + [get("x", "none of them", 101, 102)]
    result = check(history, max_steps=50)
    assert not result.ok and result.inconclusive


# --- brute force, for differential testing -----------------------------------------------------
def brute_force(history) -> bool:
    by_key = {}
    for op in history:
        if op.kind == "get" and op.ret is None:
            continue
        by_key.setdefault(op.key, []).append(op)
    return all(_brute_key(ops) for ops in by_key.values())


def _brute_key(ops) -> bool:
    # Plain recursive search over every order that respects real time, without the
    # checker's linked list or cache: slow, simple, independent.
    inf = float("inf")
    ends = [op.ret if op.ret is not None else inf for op in ops]

    def search(remaining, state):
        if not remaining:
            return True
        for j in remaining:
            if any(ends[i] < ops[j].call for i in remaining if i != j):
                continue  # someone still pending returned before j was called
            accepted, new_state = step(state, ops[j], ops[j].ret is not None)
            if accepted and search(remaining - {j}, new_state):
                return True
        return False

    return search(frozenset(range(len(ops))), None)


def random_small_history(stream, size):
    """Random operations on two keys with overlapping intervals and arbitrary outputs:
    some linearizable, many not."""
    values = ["a", "b", None]
    out = []
    for _ in range(size):
        key = stream.choice(["x", "y"])
        call = stream.randint(0, 12)
        ret = None if stream.chance(0.15) else call + stream.randint(0, 6)
        kind = stream.choice(["get", "get", "put", "cas", "delete"])
        if kind == "get":
            out.append(get(key, stream.choice(values), call, ret))
        elif kind == "put":
            out.append(put(key, stream.choice(["a", "b"]), call, ret))
        elif kind == "delete":
            out.append(delete(key, call, ret))
        else:
            succeeded = None if ret is None else stream.chance(0.5)
            out.append(cas(key, stream.choice(values), stream.choice(["a", "b"]), succeeded, call, ret))
    return out


def test_agrees_with_brute_force_on_small_random_histories():
    stream = Stream.from_seed(2024).derive("small")
    verdicts = {True: 0, False: 0}
    for _ in range(1500):
        history = random_small_history(stream, stream.randint(1, 9))
        expected = brute_force(history)
        result = check(history)
        assert result.ok is expected, history
        if expected:
            assert_witness(history, result)
        verdicts[expected] += 1
    assert min(verdicts.values()) > 300  # both answers were exercised


def random_unknown_heavy_history(stream, size):
    """One key, three values, 40% unknown outcomes: chains of unknown swaps matter."""
    values = ["a", "b", "c", None]
    out = []
    for _ in range(size):
        call = stream.randint(0, 10)
        ret = None if stream.chance(0.4) else call + stream.randint(0, 5)
        kind = stream.choice(["get", "get", "put", "cas", "cas", "delete"])
        if kind == "get":
            out.append(get("x", stream.choice(values), call, ret))
        elif kind == "put":
            out.append(put("x", stream.choice(values[:3]), call, ret))
        elif kind == "delete":
            out.append(delete("x", call, ret))
        else:
            succeeded = None if ret is None else stream.chance(0.5)
            out.append(cas("x", stream.choice(values), stream.choice(values[:3]), succeeded, call, ret))
    return out


def test_agrees_with_brute_force_when_outcomes_are_often_unknown():
    stream = Stream.from_seed(7).derive("unknown-heavy")
    verdicts = {True: 0, False: 0}
    for _ in range(2000):
        history = random_unknown_heavy_history(stream, stream.randint(1, 9))
        expected = brute_force(history)
        result = check(history)
        assert result.ok is expected, history
        if expected:
            assert_witness(history, result)
        verdicts[expected] += 1
    assert min(verdicts.values()) > 500


# --- big histories from a sequential model -------------------------------------------------------
def generate(seed, clients=6, per_client=100, keys=("k0", "k1", "k2"), unknown=0.05):
    """Concurrent clients against a linearizable register map: each operation takes effect
    at an instant inside its interval, and its output is what the model gave there.
    Values are unique per write. Some operations end with an unknown outcome, having taken
    effect or not."""
    stream = Stream.from_seed(seed).derive("history")
    planned = []  # (effect time, order, client, kind, key, args, call, ret, effective)
    counter = 0
    for client in range(clients):
        now = stream.randint(0, 5)
        for _ in range(per_client):
            call = now
            ret = call + stream.randint(1, 30)
            effect = stream.randint(call, ret)
            kind = stream.choice(["get", "get", "put", "cas", "cas", "delete"])
            key = stream.choice(list(keys))
            counter += 1
            lost = stream.chance(unknown)
            effective = not lost or stream.chance(0.5)
            planned.append([effect, counter, client, kind, key, f"v{counter}", call, None if lost else ret, effective])
            now = ret + stream.randint(0, 5)  # a client that timed out moves on, too
    state = {}
    history = []
    last_written = {key: [None] for key in keys}
    for _effect, _order, client, kind, key, value, call, ret, effective in sorted(planned):
        current = state.get(key)
        if kind == "get":
            op = get(key, current, call, ret, client)
        elif kind == "put":
            op = put(key, value, call, ret, client)
            if effective:
                state[key] = value
        elif kind == "delete":
            op = delete(key, call, ret, client)
            if effective:
                state.pop(key, None)
        else:
            # Compare with a recent value, so cas succeeds often enough.
            expected = stream.choice(last_written[key][-3:])
            succeeded = current == expected
            op = cas(key, expected, value, succeeded if ret is not None else None, call, ret, client)
            if effective and succeeded:
                state[key] = value
        if kind in ("put", "cas") and effective:
            last_written[key].append(state.get(key))
        history.append(op)
    stream.shuffle(history)  # the checker must not rely on the order given
    return history


@pytest.mark.parametrize("seed", range(4))
def test_generated_histories_pass(seed):
    history = generate(seed)
    result = ok(history)
    placed = [i for order in result.linearization.values() for i in order]
    assert len(placed) == len(set(placed))
    assert {i for i, op in enumerate(history) if op.ret is not None} <= set(placed)


@pytest.mark.parametrize("seed", range(4))
def test_histories_with_many_unknown_outcomes_pass_quickly(seed):
    # Half the requests time out; without the pruning of unknown operations this search
    # explodes (every pending one could take effect between any two steps).
    history = generate(seed, clients=12, per_client=40, keys=("a", "b"), unknown=0.5)
    assert sum(op.ret is None for op in history) > 150
    result = check(history, max_steps=200_000)
    assert result.ok, result.explanation
    assert_witness(history, result)


def _mutate(history, index, **changes):
    fields = {name: getattr(history[index], name) for name in Operation.__slots__}
    fields.update(changes)
    return history[:index] + [Operation(**fields)] + history[index + 1:]


@pytest.mark.parametrize("seed", range(4))
def test_mutated_generated_histories_fail(seed):
    history = generate(seed)
    stream = Stream.from_seed(seed).derive("mutate")
    reads = [i for i, op in enumerate(history) if op.kind == "get" and op.ret is not None]
    writers = {op.value: op for op in history if op.kind in ("put", "cas") and op.ret is not None}

    # A read of a value nobody wrote.
    i = stream.choice(reads)
    bad(_mutate(history, i, output="never written"))

    # A read that returned before the only write of its value was even sent.
    candidates = [i for i in reads if history[i].output in writers]
    i = stream.choice(candidates)
    writer = writers[history[i].output]
    bad(_mutate(history, i, call=writer.call - 2, ret=writer.call - 1))

    # A completed write that nobody sees: every later read is told the old value. Take a
    # put that later reads observed, and make those reads see what came before it.
    puts = [op for op in history if op.kind == "put" and op.ret is not None]
    for victim in puts:
        seen = [j for j in reads if history[j].output == victim.value and history[j].call > victim.ret]
        if seen:
            break
    assert seen
    mutated = history
    for j in seen:
        mutated = _mutate(mutated, j, output="stale")
    bad(mutated + [put(victim.key, "stale", victim.call - 3, victim.call - 2)])

    # A successful cas reported as failed, though a read after it saw the value that only
    # this cas wrote.
    for j in reads:
        writer = writers.get(history[j].output)
        if writer is not None and writer.kind == "cas" and writer.ret < history[j].call:
            k = history.index(writer)
            bad(_mutate(history, k, output=False))
            break
    else:
        pytest.fail("no cas observed by a later read")
