"""client-go's flowcontrol.Backoff, as the kubelet uses it for CrashLoopBackOff and image pulls.

Entries are plain dicts in a table keyed by a stable name ("<pod uid>/<container>" or
"<pod uid>/<image>"):

    in_backoff_since(table, key, event_time, now, cap)  the time since event_time (a container's
                                                         finishedAt, a pull's failure) is shorter
                                                         than the key's current back-off
    next(table, key, event_time, now, initial, cap)     start at `initial` or double up to `cap`;
                                                         an entry idle for more than 2 × cap starts over

With initial 10 s and cap 300 s, a container that crashes at once restarts immediately, then
10 s, 20 s, 40 s, 80 s, 160 s and 300 s after each crash (its finishedAt). Nothing is random:
the kubelet's back-off has no jitter.
"""


def _expired(event_time: int, last_update: int, cap: int) -> bool:
    return event_time - last_update > 2 * cap


def in_backoff_since(table: dict, key: str, event_time: int, now: int, cap: int) -> bool:
    entry = table.get(key)
    if entry is None or _expired(event_time, entry["last_update"], cap):
        return False
    return now - event_time < entry["backoff"]


def next_backoff(table: dict, key: str, event_time: int, now: int, initial: int, cap: int) -> int:
    entry = table.get(key)
    if entry is None or _expired(event_time, entry["last_update"], cap):
        entry = table[key] = {"backoff": initial, "last_update": now}
    else:
        entry["backoff"] = min(entry["backoff"] * 2, cap)
        entry["last_update"] = now
    return entry["backoff"]


def current(table: dict, key: str) -> int:
    entry = table.get(key)
    return entry["backoff"] if entry else 0


def in_backoff_since_update(table: dict, key: str, now: int) -> bool:
    """The image puller's check: less than the current back-off has passed since the last failure."""
    entry = table.get(key)
    return entry is not None and now - entry["last_update"] < entry["backoff"]


def retry_at(table: dict, key: str) -> int | None:
    entry = table.get(key)
    return None if entry is None else entry["last_update"] + entry["backoff"]
