"""etcd's multi-version key-value store, as a pure data structure.

Every change gets a place in one global history. The store's *revision* counts writes:
it is 1 for an empty store, and each request that changes something (a put, a delete
that deletes something, a transaction with at least one such write) moves it up by
exactly one, so all the writes of a transaction share a revision. Each key carries
three numbers: `create_revision` (the revision that created it, in its current life),
`mod_revision` (its last change) and `version` (how many times it was written in its
current life: 1 on creation, 0 once deleted). Nothing is overwritten: reading "at
revision r" sees the store exactly as it was after revision r.

A worked example, on an empty store (revision 1):

    request                                   revision  key "a" afterwards
    put a=x                                   2         x   create 2  mod 2  version 1
    put a=y                                   3         y   create 2  mod 3  version 2
    delete a                                  4         (absent; the history keeps a tombstone at 4)
    put a=z                                   5         z   create 5  mod 5  version 1
    txn {if mod(a) = 5: put a=w, put b=v}     6         w   create 5  mod 6  version 2; b created at 6
    get a at revision 3                       6         y   (create 2, mod 3, version 2)
    compact 4                                 6         history of revisions <= 4 dropped, but for
                                                        each key its latest live version at 4 is kept

The structures behind it (all plain data, so the store pickles, copies and hashes):

    _index    key -> [record, ...]         one key's life story in order applied; a record
                                           is a tuple (key, value, create, mod, version), a
                                           tombstone has value None and version 0. Reads at
                                           revision r bisect on mod (O(log n)).
    _keys     sorted list of every key in _index (live or tombstoned), for prefix ranges
    _log      one tuple of events per revision, _log[i] holding revision _log_start + i;
              an event is (type, record, previous live record or None). Seeking a
              revision is O(1).

    index "a": (a,x,2,2,1) (a,y,2,3,2) (a,None,0,4,0) (a,z,5,5,1) (a,w,5,6,2)
    log:       rev 2: PUT a=x   rev 3: PUT a=y   rev 4: DELETE a   rev 5: PUT a=z
               rev 6: PUT a=w, PUT b=v

Compaction at r keeps, for every key, only its records after r plus its last record at
or before r when that record is live: an invariant is that each key has at most one
record at or before the compact revision, so a compaction touches only the keys that
changed since the previous one (found in the log it drops).

Hashing: a full walk of a long history is slow, so the store keeps a fingerprint, a
multiset hash (the sum of one SHA-256 per item, mod 2^256) over what determines its
state: each revision's events in the log, and each key's one record at or below the
compact revision. Items are added and removed as the state changes, so equal states have
equal fingerprints whatever path led to them, and the kernel's `state_hash` reads the
fingerprint instead of walking the history (`_unhashed`).

Errors: a malformed request raises ValueError and changes nothing (every request is
validated completely before any write). Reading or watching history that compaction
removed raises `Compacted`.
"""

import bisect
import hashlib
import operator

PUT = "PUT"
DELETE = "DELETE"

# Record fields: (key, value, create_revision, mod_revision, version).
_KEY, _VALUE, _CREATE, _MOD, _VERSION = range(5)
_mod_of = operator.itemgetter(_MOD)
_FINGERPRINT_MOD = 1 << 256


def _item_hash(item: tuple) -> int:
    # repr of a tuple of str, int and None is the same in every process.
    return int.from_bytes(hashlib.sha256(repr(item).encode("utf-8", "surrogatepass")).digest(), "big")

_READ_OPS = ("get", "range")
_WRITE_OPS = ("put", "delete")
_TXN_OPS = _READ_OPS + _WRITE_OPS
_COMPARE_TARGETS = {"value": _VALUE, "version": _VERSION, "mod": _MOD, "create": _CREATE}
_COMPARE_RESULTS = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}


class Compacted(ValueError):
    """The requested revision is at or below the compact revision: that history is gone.

    `compact_revision` is the store's compact revision at the time; a watcher that gets
    this must start again from a fresh read (as Kubernetes reflectors relist). It is a
    ValueError so a caller that maps bad requests to errors maps this one too; catch it
    first to say "compacted" specifically.
    """

    def __init__(self, compact_revision: int, requested: int | None = None):
        self.compact_revision = compact_revision
        self.requested = requested
        if requested is None:
            message = f"required revision has been compacted (compact revision {compact_revision})"
        else:
            message = f"required revision {requested} has been compacted (compact revision {compact_revision})"
        super().__init__(message)

    def __reduce__(self):
        return (Compacted, (self.compact_revision, self.requested))


def kv_dict(record: tuple | None) -> dict | None:
    """The public picture of a record: a fresh dict the caller may keep or change."""
    if record is None:
        return None
    return {
        "key": record[_KEY],
        "value": record[_VALUE],
        "create_revision": record[_CREATE],
        "mod_revision": record[_MOD],
        "version": record[_VERSION],
    }


def event_dict(event: tuple) -> dict:
    kind, record, prev = event
    return {"type": kind, "kv": kv_dict(record), "prev_kv": kv_dict(prev)}


def event_revision(event: dict) -> int:
    return event["kv"]["mod_revision"]


def cas_request(key: str, expected: str | None, value: str) -> dict:
    """The transaction behind a compare-and-swap: put `value` if the key's value is
    `expected`, or, with expected None, if the key is absent (create revision 0)."""
    if expected is None:
        compare = {"key": key, "target": "create", "result": "=", "value": 0}
    else:
        compare = {"key": key, "target": "value", "result": "=", "value": expected}
    return {"op": "txn", "compare": [compare], "success": [{"op": "put", "key": key, "value": value}], "failure": []}


class Store:
    """An etcd MVCC store. See the module docstring for the model and a worked example.

    All methods are deterministic functions of the requests applied so far. Results
    are fresh dicts and lists: changing them never changes the store.

    Requests (`apply`), each a dict with "op"; unknown extra fields are ignored:

        {"op": "put", "key", "value"}                        -> {"prev_kv"}
        {"op": "delete", "key", "prefix": false}             -> {"deleted", "prev_kvs"}
        {"op": "get", "key", "revision": optional}           -> {"kv"}
        {"op": "range", "key", "prefix": false, "revision": optional, "limit": optional}
                                                             -> {"kvs", "count", "more"}
        {"op": "txn", "compare": [...], "success": [...], "failure": [...]}
                                                             -> {"succeeded", "responses"}
        {"op": "compact", "revision"}                        -> {"compact_revision"}

    Every result also has "revision" (the store revision after the request) and
    "events" (the changes it made, in the order made, all at that revision).

    A compare is {"key", "target": "value" | "version" | "mod" | "create", "result":
    "=" | "!=" | "<" | ">", "value", "prefix": optional}. As in etcd, a compare on a
    missing key sees version, mod and create revision 0 (so create = 0 means "absent"),
    while a value compare on a missing key always fails. With "prefix" true every key
    under the prefix must pass (and an empty range behaves like a missing key).
    Operations inside a transaction are put, delete, get and range (no nested txn, no
    "revision" on reads); reads see the transaction's earlier writes.
    """

    __slots__ = ("_revision", "_compact_revision", "_index", "_keys", "_log", "_log_start", "_live", "_fingerprint")
    # Summarized by _fingerprint for the kernel's state_hash (see the module docstring).
    _unhashed = ("_index", "_keys", "_log")

    def __init__(self):
        self._revision = 1
        self._compact_revision = 0
        self._index: dict[str, list[tuple]] = {}
        self._keys: list[str] = []
        self._log: list[tuple] = []
        self._log_start = 2
        self._live = 0
        self._fingerprint = 0

    # --- state ------------------------------------------------------------------------
    @property
    def revision(self) -> int:
        """The revision of the last write (1 for an empty store)."""
        return self._revision

    @property
    def compact_revision(self) -> int:
        """The revision of the last compaction (0 before any)."""
        return self._compact_revision

    @property
    def key_count(self) -> int:
        """How many keys exist now."""
        return self._live

    @property
    def history_size(self) -> int:
        """Records held for reads at past revisions, plus revisions held for watches."""
        return sum(len(records) for records in self._index.values()) + len(self._log)

    def digest(self) -> str:
        """A hash of the whole state: equal stores (same answers to every read and watch)
        have equal digests, whatever requests led there. O(1)."""
        summary = (self._revision, self._compact_revision, self._live, self._fingerprint)
        return hashlib.sha256(repr(summary).encode()).hexdigest()

    def _computed_fingerprint(self) -> int:
        """The fingerprint recomputed from scratch (for tests of the incremental one)."""
        total = 0
        for offset, events in enumerate(self._log):
            total += _item_hash(("log", self._log_start + offset, events))
        for records in self._index.values():
            if records[0][_MOD] <= self._compact_revision:
                total += _item_hash(("base", records[0]))
        return total % _FINGERPRINT_MOD

    def clone(self) -> "Store":
        """An independent copy. Records and events are immutable tuples, so sharing them is
        safe and the copy costs one pass over the lists."""
        other = Store.__new__(Store)
        other._revision = self._revision
        other._compact_revision = self._compact_revision
        other._index = {key: list(records) for key, records in self._index.items()}
        other._keys = list(self._keys)
        other._log = list(self._log)
        other._log_start = self._log_start
        other._live = self._live
        other._fingerprint = self._fingerprint
        return other

    def __deepcopy__(self, memo):
        return self.clone()

    def __eq__(self, other):
        if not isinstance(other, Store):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in Store.__slots__)

    __hash__ = None

    def __repr__(self):
        return f"Store(revision={self._revision}, compact_revision={self._compact_revision}, keys={self._live})"

    # --- reads ------------------------------------------------------------------------
    def get(self, key: str, revision: int | None = None) -> dict | None:
        """The key's kv dict as of `revision` (default: now), or None if it did not exist.

        Raises ValueError for a revision in the future and Compacted for one at or below
        the compact revision (unless that is the current revision)."""
        _check_key(key, "get")
        rev = self._read_revision(revision)
        return kv_dict(self._record_at(key, rev))

    def range(self, key: str, prefix: bool = False, revision: int | None = None, limit: int | None = None) -> list[dict]:
        """Live kv dicts sorted by key: the one key, or every key starting with `key` when
        prefix is true (the empty prefix is every key). Revision as in `get`."""
        if prefix:
            _check_str(key, "key", "range")
        else:
            _check_key(key, "range")
        rev = self._read_revision(revision)
        records = self._range_records(key, prefix, rev)
        if limit:
            records = records[:limit]
        return [kv_dict(record) for record in records]

    def events_since(self, start_revision: int | None, key: str, prefix: bool = False) -> list[dict]:
        """Every change to `key` (or under the prefix) with revision >= start_revision,
        ordered by revision, the events of one transaction adjacent and in the order
        applied. start_revision 0 or None means "from now": no history.

        Raises Compacted when start_revision <= compact revision (the history needed is
        gone), ValueError for a malformed argument."""
        if prefix:
            _check_str(key, "key", "watch")
        else:
            _check_key(key, "watch")
        if start_revision is None or start_revision == 0:
            return []
        _check_int(start_revision, "start_revision")
        if start_revision < 0:
            raise ValueError(f"start_revision must not be negative, got {start_revision}")
        if start_revision <= self._compact_revision:
            raise Compacted(self._compact_revision, start_revision)
        if start_revision > self._revision:
            return []
        if not prefix:
            return self._key_events_since(start_revision, key)
        out = []
        first = max(start_revision, self._log_start) - self._log_start
        for events in self._log[first:]:
            for event in events:
                if event[1][_KEY].startswith(key):
                    out.append(event_dict(event))
        return out

    def revision_events(self, revision: int) -> list[dict]:
        """The events written at one revision (a revision above the compact revision)."""
        _check_int(revision, "revision")
        if revision <= self._compact_revision:
            raise Compacted(self._compact_revision, revision)
        if revision < self._log_start or revision > self._revision:
            return []
        return [event_dict(event) for event in self._log[revision - self._log_start]]

    def _key_events_since(self, start_revision: int, key: str) -> list[dict]:
        # One key's events come straight from its index: the record before the first
        # one returned is its previous state (compaction keeps it exactly when live).
        records = self._index.get(key)
        if not records:
            return []
        i = bisect.bisect_left(records, start_revision, key=_mod_of)
        out = []
        prev = records[i - 1] if i > 0 else None
        for record in records[i:]:
            live_prev = prev if prev is not None and prev[_VERSION] else None
            kind = PUT if record[_VERSION] else DELETE
            out.append({"type": kind, "kv": kv_dict(record), "prev_kv": kv_dict(live_prev)})
            prev = record
        return out

    def _read_revision(self, revision) -> int:
        if revision is None:
            return self._revision
        _check_int(revision, "revision")
        if revision == 0:
            return self._revision
        if revision < 0:
            raise ValueError(f"revision must not be negative, got {revision}")
        if revision > self._revision:
            raise ValueError(f"revision {revision} is in the future (current revision {self._revision})")
        if revision <= self._compact_revision and revision < self._revision:
            raise Compacted(self._compact_revision, revision)
        return revision

    def _latest(self, key: str) -> tuple | None:
        """The key's live record now (including writes of a transaction in progress)."""
        records = self._index.get(key)
        if records and records[-1][_VERSION]:
            return records[-1]
        return None

    def _record_at(self, key: str, rev: int) -> tuple | None:
        records = self._index.get(key)
        if not records:
            return None
        if records[-1][_MOD] <= rev:
            record = records[-1]
        else:
            i = bisect.bisect_right(records, rev, key=_mod_of)
            if i == 0:
                return None
            record = records[i - 1]
        return record if record[_VERSION] else None

    def _keys_in(self, key: str, prefix: bool) -> list[str]:
        if not prefix:
            return [key] if key in self._index else []
        keys = self._keys
        start = bisect.bisect_left(keys, key)
        if not key:
            return keys[start:]
        # Every string starting with `key` sorts at or after it and before the first
        # string that doesn't; stop at the first miss.
        end = start
        n = len(keys)
        while end < n and keys[end].startswith(key):
            end += 1
        return keys[start:end]

    def _range_records(self, key: str, prefix: bool, rev: int) -> list[tuple]:
        out = []
        for name in self._keys_in(key, prefix):
            record = self._record_at(name, rev)
            if record is not None:
                out.append(record)
        return out

    # --- writes -----------------------------------------------------------------------
    def apply(self, request: dict) -> dict:
        """Apply one request (see the class docstring); at most one new revision."""
        op = _op_of(request, ("put", "delete", "get", "range", "txn", "compact"))
        if op == "compact":
            return self._compact(request)
        if op == "txn":
            _validate_txn(request)
        else:
            _validate_op(request, in_txn=False)
        events: list[tuple] = []
        rev = self._revision + 1
        if op == "txn":
            succeeded = all(self._compare(compare) for compare in request.get("compare", []))
            ops = request.get("success", []) if succeeded else request.get("failure", [])
            responses = [self._execute(sub, rev, events) for sub in ops]
            result = {"succeeded": succeeded, "responses": responses}
        else:
            result = self._execute(request, rev, events)
            result.pop("op")
        if events:
            self._revision = rev
            written = tuple(events)
            self._log.append(written)
            self._fingerprint = (self._fingerprint + _item_hash(("log", rev, written))) % _FINGERPRINT_MOD
        result["revision"] = self._revision
        result["events"] = [event_dict(event) for event in events]
        return result

    def _execute(self, request: dict, rev: int, events: list) -> dict:
        op = request["op"]
        key = request["key"]
        # A read inside a transaction that already wrote sees those writes.
        read_rev = rev if events else self._revision
        if op == "put":
            prev = self._latest(key)
            if prev is None:
                record = (key, request["value"], rev, rev, 1)
                self._live += 1
            else:
                record = (key, request["value"], prev[_CREATE], rev, prev[_VERSION] + 1)
            self._append(key, record)
            events.append((PUT, record, prev))
            return {"op": "put", "prev_kv": kv_dict(prev)}
        if op == "delete":
            prev_kvs = []
            for name in self._keys_in(key, bool(request.get("prefix"))):
                prev = self._latest(name)
                if prev is None:
                    continue
                tombstone = (name, None, 0, rev, 0)
                self._append(name, tombstone)
                self._live -= 1
                events.append((DELETE, tombstone, prev))
                prev_kvs.append(kv_dict(prev))
            return {"op": "delete", "deleted": len(prev_kvs), "prev_kvs": prev_kvs}
        if request.get("revision"):
            read_rev = self._read_revision(request["revision"])
        if op == "get":
            return {"op": "get", "kv": kv_dict(self._record_at(key, read_rev))}
        records = self._range_records(key, bool(request.get("prefix")), read_rev)
        count = len(records)
        limit = request.get("limit")
        if limit:
            records = records[:limit]
        return {"op": "range", "kvs": [kv_dict(r) for r in records], "count": count, "more": len(records) < count}

    def _append(self, key: str, record: tuple) -> None:
        records = self._index.get(key)
        if records is None:
            self._index[key] = [record]
            bisect.insort(self._keys, key)
        else:
            records.append(record)

    def _compare(self, compare: dict) -> bool:
        target = _COMPARE_TARGETS[compare["target"]]
        test = _COMPARE_RESULTS[compare["result"]]
        wanted = compare["value"]
        if compare.get("prefix"):
            records = [self._latest(name) for name in self._keys_in(compare["key"], True)]
            records = [r for r in records if r is not None]
        else:
            record = self._latest(compare["key"])
            records = [record] if record is not None else []
        if not records:
            # etcd: a missing key has version, create and mod revision 0, and no value
            # at all, so a value compare on it fails whatever the result operator.
            return target != _VALUE and test(0, wanted)
        return all(test(record[target], wanted) for record in records)

    def _compact(self, request: dict) -> dict:
        revision = request.get("revision")
        _check_int(revision, "revision", "compact")
        if revision > self._revision:
            raise ValueError(f"compact: revision {revision} is in the future (current revision {self._revision})")
        if revision <= self._compact_revision:
            raise Compacted(self._compact_revision, revision)
        dropped = revision - self._log_start + 1
        touched = sorted({event[1][_KEY] for events in self._log[:dropped] for event in events})
        fingerprint = self._fingerprint
        for offset, events in enumerate(self._log[:max(dropped, 0)]):
            fingerprint -= _item_hash(("log", self._log_start + offset, events))
        emptied = []
        for key in touched:
            records = self._index[key]
            i = bisect.bisect_right(records, revision, key=_mod_of)
            if i == 0:
                continue
            if records[0][_MOD] <= self._compact_revision:
                fingerprint -= _item_hash(("base", records[0]))
            keep = records[i - 1]
            if keep[_VERSION]:
                fingerprint += _item_hash(("base", keep))
            kept = ([keep] if keep[_VERSION] else []) + records[i:]
            if kept:
                self._index[key] = kept
            else:
                del self._index[key]
                emptied.append(key)
        if emptied:
            if len(emptied) * 16 > len(self._keys):
                gone = set(emptied)
                self._keys = [key for key in self._keys if key not in gone]
            else:
                for key in emptied:
                    del self._keys[bisect.bisect_left(self._keys, key)]
        if dropped > 0:
            del self._log[:dropped]
            self._log_start = revision + 1
        self._compact_revision = revision
        self._fingerprint = fingerprint % _FINGERPRINT_MOD
        return {"revision": self._revision, "events": [], "compact_revision": revision}


# --- validation ---------------------------------------------------------------------------
def _op_of(request, allowed) -> str:
    if not isinstance(request, dict):
        raise ValueError(f"a request must be a dict, got {type(request).__name__}")
    op = request.get("op")
    if op not in allowed:
        raise ValueError(f"unknown op {op!r}: expected one of {', '.join(allowed)}")
    return op


def _check_int(value, field: str, op: str | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        where = f"{op}: " if op else ""
        raise ValueError(f"{where}{field} must be an integer, got {value!r}")


def _check_str(value, field: str, op: str) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{op}: {field} must be a string, got {value!r}")


def _check_key(key, op: str) -> None:
    _check_str(key, "key", op)
    if not key:
        raise ValueError(f"{op}: key must not be empty")


def _validate_op(request: dict, in_txn: bool) -> None:
    op = request["op"]
    prefix = request.get("prefix", False)
    if not isinstance(prefix, bool):
        raise ValueError(f"{op}: prefix must be true or false, got {prefix!r}")
    if prefix and op in ("delete", "range"):
        _check_str(request.get("key"), "key", op)
    else:
        if prefix:
            raise ValueError(f"{op}: prefix is only for delete and range")
        _check_key(request.get("key"), op)
    if op == "put":
        _check_str(request.get("value"), "value", op)
    if op in _READ_OPS and request.get("revision") is not None:
        if in_txn:
            raise ValueError(f"{op}: a read inside a transaction cannot name a revision")
        _check_int(request["revision"], "revision", op)
    if op == "range" and request.get("limit") is not None:
        _check_int(request["limit"], "limit", op)
        if request["limit"] < 0:
            raise ValueError(f"range: limit must not be negative, got {request['limit']}")


def _validate_txn(request: dict) -> None:
    compares = request.get("compare", [])
    if not isinstance(compares, list):
        raise ValueError("txn: compare must be a list")
    for compare in compares:
        if not isinstance(compare, dict):
            raise ValueError(f"txn: each compare must be a dict, got {compare!r}")
        prefix = compare.get("prefix", False)
        if not isinstance(prefix, bool):
            raise ValueError(f"txn compare: prefix must be true or false, got {prefix!r}")
        if prefix:
            _check_str(compare.get("key"), "key", "txn compare")
        else:
            _check_key(compare.get("key"), "txn compare")
        target = compare.get("target")
        if target not in _COMPARE_TARGETS:
            raise ValueError(f"txn compare: target must be one of {', '.join(_COMPARE_TARGETS)}, got {target!r}")
        if compare.get("result") not in _COMPARE_RESULTS:
            raise ValueError(f"txn compare: result must be one of {', '.join(_COMPARE_RESULTS)}, got {compare.get('result')!r}")
        if target == "value":
            _check_str(compare.get("value"), "value", "txn compare")
        else:
            _check_int(compare.get("value"), "value", "txn compare")
    for branch in ("success", "failure"):
        ops = request.get(branch, [])
        if not isinstance(ops, list):
            raise ValueError(f"txn: {branch} must be a list")
        for sub in ops:
            _op_of(sub, _TXN_OPS)
            _validate_op(sub, in_txn=True)
