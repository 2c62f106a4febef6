"""A linearizability checker for key-value histories (Wing & Gong, with Lowe's memoization).

A history is linearizable when every operation can be given one instant between its call
and its return such that, in that order, the operations make sense for a sequential
register map. The checker searches for such an order, key by key: operations on
different keys commute, so a history is linearizable exactly when each key's
sub-history is (P-compositionality), and small searches are exponentially cheaper than
one big one.

A worked example on one key (time flows right; [ ] is the call-to-return interval):

    client 1:  [put x=1]          [get x -> 2]
    client 2:          [put x=2          ]
    time:      0    1  2  3  4  5  6  7  8

    put x=1 is [0,1], put x=2 is [2,7], get is [5,8]. Order: put 1, put 2, get -> 2.
    Fine. Had the get been [8,9], after put 2 returned, "get -> 1" would be impossible:
    a stale read after a completed write.

The search (Lowe's refinement of Wing & Gong, as in porcupine): lay out the call and
return entries of all operations in time order in a linked list. Walk it; at a call,
try to linearize that operation now: apply it to the model, and if the model accepts it
and the pair (set of operations linearized so far, model state) is new, remove the
operation's call and return from the list and start again at the front. At a return
entry, the operation it belongs to can no longer be postponed: undo the most recent
choice and try the next candidate. The cache of (linearized set, state) pairs is what
keeps this from exploring the same configuration through different orders.

    entries: call put1, call put2, return put1, call get, return put2, return get
    linearize put1 (state 1) -> linearize put2 (state 2) -> get -> 2 fits: all lifted, ok.

Ties: an operation that returns at the same instant as another's call counts as
concurrent with it (calls sort first), the lenient reading of equal timestamps.

Unknown outcomes: an operation with `ret=None` (a request that timed out after it may
have been proposed) may have taken effect at any instant after its call, or never; its
output is not checked. A get whose outcome is unknown constrains nothing and is dropped.
A request known to have failed (never proposed) should not be in the history at all.
Left free, pending unknown operations make the search explode (any of them could happen
between any two steps), so three rules, each keeping at least one valid order whenever
there is one, tame them:
- on demand: unknown operations take effect only as a block just before a completed
  operation that the current state rejects and the block's end state accepts (get -> v
  after the unknown put of v). In any valid order, an unknown operation that is not
  needed that way can be moved later or dropped without changing what anyone observed.
  A block is a chain: at most one blind write (put, delete) first, then swaps whose
  expected value is the state reached, never revisiting a state.
- dominance: a configuration that has applied a superset of the unknown operations of
  a visited one, with the same completed operations and state, is skipped (the extra
  ones could still happen later, or never).
- symmetry: values that no read returned and no cas compared with are one state
  ("unobserved"), and among pending unknown operations with the same effect only the
  one called last is tried (the earlier one can do anything it can, and more).
Success is every completed operation placed; leftover unknown ones never took effect.

    history = [put("x", "1", call=0, ret=2), get("x", "2", call=3, ret=4)]
    result = check(history)       # Result(ok=False, explanation="key 'x': ...")
"""

from dataclasses import dataclass, field

KINDS = ("get", "put", "delete", "cas")


@dataclass(frozen=True, slots=True)
class Operation:
    """One client request.

    kind: get, put, delete or cas. value: the value written (put, cas). expected: what a
    cas compares with (None: the key must be absent). output: what was observed, the
    value read (get; None for absent) or whether the cas succeeded. call and ret: when
    the request was sent and when its answer arrived, in any one clock (ret None: the
    outcome is unknown).
    """

    kind: str
    key: str
    call: float
    ret: float | None
    value: str | None = None
    expected: str | None = None
    output: object = None
    client: object = None

    def describe(self) -> str:
        if self.kind == "get":
            what = f"get -> {self.output!r}" if self.ret is not None else "get -> ?"
        elif self.kind == "put":
            what = f"put {self.value!r}"
        elif self.kind == "delete":
            what = "delete"
        else:
            outcome = "?" if self.ret is None else ("ok" if self.output else "failed")
            what = f"cas {self.expected!r} -> {self.value!r}: {outcome}"
        who = f"client {self.client} " if self.client is not None else ""
        ret = "?" if self.ret is None else self.ret
        return f"{who}{what} [{self.call}, {ret}]"


def get(key, observed, call, ret, client=None) -> Operation:
    return Operation("get", key, call, ret, output=observed, client=client)


def put(key, value, call, ret, client=None) -> Operation:
    return Operation("put", key, call, ret, value=value, client=client)


def delete(key, call, ret, client=None) -> Operation:
    return Operation("delete", key, call, ret, client=client)


def cas(key, expected, value, succeeded, call, ret, client=None) -> Operation:
    return Operation("cas", key, call, ret, value=value, expected=expected, output=succeeded, client=client)


def from_dict(item: dict) -> Operation:
    """An operation from a dict: {"op", "key", "call", "return", "value", "expected",
    "output", "client"}; for a get, "output" (or "value") is the value read, for a cas
    "output" (or "succeeded") is whether it succeeded."""
    kind = item.get("op", item.get("kind"))
    ret = item.get("return", item.get("ret"))
    if kind == "get":
        observed = item["output"] if "output" in item else item.get("value")
        return get(item["key"], observed, item["call"], ret, item.get("client"))
    if kind == "cas":
        succeeded = item["output"] if "output" in item else item.get("succeeded")
        return cas(item["key"], item.get("expected"), item.get("value"), succeeded, item["call"], ret, item.get("client"))
    return Operation(kind, item.get("key"), item.get("call"), ret, value=item.get("value"), client=item.get("client"))


@dataclass
class Result:
    """ok: the history is linearizable. explanation: why not (or a summary).
    linearization: for each key, the history indexes in a valid order (when ok): every
    completed operation, and the unknown-outcome ones that took effect in that order.
    partial: for the failing key, the longest prefix of a linearization found.
    inconclusive: the search gave up (max_steps); ok is False then."""

    ok: bool
    explanation: str
    key: str | None = None
    linearization: dict = field(default_factory=dict)
    partial: list = field(default_factory=list)
    inconclusive: bool = False

    def __bool__(self):
        return self.ok


def step(state, op: Operation, known: bool):
    """The sequential model of one key (a register holding a string or None): returns
    (accepted, new state). Unknown outcomes accept whatever happened."""
    if op.kind == "get":
        return state == op.output, state
    if op.kind == "put":
        return True, op.value
    if op.kind == "delete":
        return True, None
    matched = state == op.expected
    if not known:
        return True, op.value if matched else state
    if op.output:
        return matched, op.value if matched else state
    return not matched, state


def check(history, max_steps: int | None = None) -> Result:
    """Check a history (Operations, or dicts for `from_dict`); see the module docstring."""
    ops = [item if isinstance(item, Operation) else from_dict(item) for item in history]
    by_key: dict = {}
    for index, op in enumerate(ops):
        _validate(index, op)
        if op.kind == "get" and op.ret is None:
            continue  # an unanswered read constrains nothing
        by_key.setdefault(op.key, []).append(index)
    linearization = {}
    for key in sorted(by_key):
        result = _check_key(key, ops, by_key[key], max_steps)
        if not result.ok:
            return result
        linearization[key] = result.linearization[key]
    count = sum(len(v) for v in by_key.values())
    return Result(True, f"linearizable: {count} operations on {len(by_key)} keys", linearization=linearization)


def _validate(index: int, op: Operation) -> None:
    if op.kind not in KINDS:
        raise ValueError(f"operation {index}: kind must be one of {', '.join(KINDS)}, got {op.kind!r}")
    if op.call is None:
        raise ValueError(f"operation {index}: call time is required")
    if op.ret is not None and op.ret < op.call:
        raise ValueError(f"operation {index}: returns at {op.ret}, before its call at {op.call}")
    if op.kind == "cas" and op.ret is not None and not isinstance(op.output, bool):
        raise ValueError(f"operation {index}: a cas with a known outcome needs output True or False")


class _Unobserved:
    """The state of a register holding a value that no read returned and no cas compared
    with. All such values behave alike in every later step, so they share one state and
    the search cache sees through the difference."""

    __slots__ = ()

    def __repr__(self):
        return "<a value no read or compare mentions>"


UNOBSERVED = _Unobserved()


def _canonical(local: list) -> list:
    mentioned = set()
    for op in local:
        if op.kind == "get":
            mentioned.add(op.output)
        elif op.kind == "cas":
            mentioned.add(op.expected)
    out = []
    for op in local:
        if op.kind in ("put", "cas") and op.value not in mentioned:
            fields = {name: getattr(op, name) for name in Operation.__slots__}
            fields["value"] = UNOBSERVED
            op = Operation(**fields)
        out.append(op)
    return out


def _check_key(key, ops: list, indexes: list, max_steps: int | None) -> Result:
    n = len(indexes)
    originals = [ops[i] for i in indexes]
    local = _canonical(originals)
    known = [op.ret is not None for op in local]
    # Entries 0..n-1 are calls, n..2n-1 returns (entry n + j returns operation j).
    # Sorted by time, calls before returns at equal times, unknown returns last.
    order = sorted(
        range(2 * n),
        key=lambda e: (
            (0, local[e].call, 0, e) if e < n else
            ((0, local[e - n].ret, 1, e) if known[e - n] else (1, 0, 0, e))
        ),
    )
    head = 2 * n  # sentinel before the first entry
    nxt = [-1] * (2 * n + 1)
    prv = [-1] * (2 * n + 1)
    previous = head
    for e in order:
        nxt[previous] = e
        prv[e] = previous
        previous = e

    def lift(e):
        for x in (e, e + n):
            nxt[prv[x]] = nxt[x]
            if nxt[x] != -1:
                prv[nxt[x]] = prv[x]

    def unlift(e):
        for x in (e + n, e):
            nxt[prv[x]] = x
            if nxt[x] != -1:
                prv[nxt[x]] = x

    def choices(j, state) -> list:
        """Ways to linearize known operation j now: [(block, state after j)], where block
        is the unknown-outcome operations that take effect just before it."""
        accepted, after = step(state, local[j], True)
        if accepted:
            return [((), after)]
        # The unknown operations that may take effect now: called before the first
        # pending return. Among operations with the same effect, use the one called
        # last: keeping the earlier one leaves at least as many options for later.
        pending = {}
        e = nxt[head]
        while e != -1 and e < n:
            if not known[e]:
                op = local[e]
                pending[(op.kind, op.value, op.expected)] = e
            e = nxt[e]
        if not pending:
            return []
        blind = sorted(e for sig, e in pending.items() if sig[0] != "cas")
        swaps = sorted(e for sig, e in pending.items() if sig[0] == "cas")
        out = []

        def extend(chain, value, visited):
            accepted, after = step(value, local[j], True)
            if accepted and chain:
                out.append((tuple(chain), after))
                return  # a longer block could move its tail after j
            for u in swaps:
                if u not in chain and local[u].expected == value and local[u].value not in visited:
                    chain.append(u)
                    extend(chain, local[u].value, visited | {local[u].value})
                    chain.pop()

        extend([], state, {state})
        for u in blind:
            value = local[u].value if local[u].kind == "put" else None
            if value != state:
                extend([u], value, {state, value})
        return out

    # The cache maps (known operations linearized, state) to the sets of unknown-outcome
    # operations applied with them. A configuration is dominated by one with the same
    # known set and state and fewer unknown operations applied: the smaller one can do
    # everything the larger can, since the extra operations may still happen later or
    # never. So a dominated configuration is never explored.
    cache: dict = {}
    stack = []  # frames: (known entry j, its choices, index of the choice taken, state before)
    state = None
    known_bits = 0
    unknown_bits = 0
    known_left = sum(known)
    best: list = []
    steps = 0

    def try_choices(j, options, first) -> bool:
        nonlocal state, known_bits, unknown_bits, known_left, best
        for index in range(first, len(options)):
            block, after = options[index]
            new_unknown = unknown_bits
            for u in block:
                new_unknown |= 1 << u
            new_known = known_bits | (1 << j)
            seen = cache.setdefault((new_known, after), [])
            if any(other & ~new_unknown == 0 for other in seen):
                continue
            seen[:] = [other for other in seen if new_unknown & ~other != 0]
            seen.append(new_unknown)
            stack.append((j, options, index, state))
            state = after
            known_bits, unknown_bits = new_known, new_unknown
            known_left -= 1
            for u in block:
                lift(u)
            lift(j)
            if len(stack) > len(best):
                best = _order_of(stack)
            return True
        return False

    entry = nxt[head]
    while known_left:
        steps += 1
        if max_steps is not None and steps > max_steps:
            return Result(False, f"key {key!r}: gave up after {max_steps} steps", key=key, inconclusive=True,
                          partial=[indexes[e] for e in _order_of(stack)])
        if entry < n:
            if known[entry] and try_choices(entry, choices(entry, state), 0):
                entry = nxt[head]
            else:
                entry = nxt[entry]
            continue
        # The operation returning here must have been linearized already: backtrack to
        # the latest choice, and take its next alternative or move past it.
        while True:
            if not stack:
                return _failure(key, local, originals, indexes, best, known)
            j, options, index, before = stack.pop()
            block = options[index][0]
            unlift(j)
            for u in reversed(block):
                unlift(u)
                unknown_bits &= ~(1 << u)
            known_bits &= ~(1 << j)
            known_left += 1
            state = before
            if try_choices(j, options, index + 1):
                entry = nxt[head]
                break
            entry = nxt[j]
            if entry != -1:
                break
    # Every completed operation has its place; unknown ones left over never took effect
    # (or took effect after everything observed, which is the same).
    return Result(True, f"key {key!r}: linearizable", key=key, linearization={key: [indexes[e] for e in _order_of(stack)]})


def _order_of(stack) -> list:
    return [e for j, options, index, _ in stack for e in (*options[index][0], j)]


def _failure(key, local, originals, indexes, best, known) -> Result:
    # Replay the prefix with the real values, for the explanation.
    best_state = None
    for j in best:
        _, best_state = step(best_state, originals[j], known[j])
    done = set(best)
    rest = [j for j in range(len(local)) if j not in done]
    # The operations that could come next: called before the earliest remaining return.
    deadline = min((local[j].ret for j in rest if local[j].ret is not None), default=None)
    candidates = [j for j in rest if known[j] and (deadline is None or local[j].call <= deadline)]
    lines = [f"key {key!r} is not linearizable."]
    lines.append(f"Longest linearizable prefix: {len(best)} operations ({len(local)} in all), leaving the value {best_state!r}:")
    lines.extend(f"  #{indexes[j]} {originals[j].describe()}" for j in best)
    lines.append("None of the operations that could come next fits:")
    for j in candidates:
        op = originals[j]
        accepted, _ = step(best_state, op, known[j])
        if op.kind == "get":
            why = f"read {op.output!r} but the value was {best_state!r}"
        elif op.kind == "cas" and not accepted:
            why = f"{'succeeded' if op.output else 'failed'} comparing with {op.expected!r} but the value was {best_state!r}"
        else:
            why = "fits here, but no order of the operations after it does"
        lines.append(f"  #{indexes[j]} {originals[j].describe()}: {why}")
    return Result(False, "\n".join(lines), key=key, partial=[indexes[j] for j in best])
