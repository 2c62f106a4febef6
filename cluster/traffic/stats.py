"""Traffic counters: requests, errors and latencies per service, per pod and per node.

Latencies go into a log-linear histogram (plain data: {bucket: count}): values below 256 µs
exactly, above that 128 buckets per power of two (under 0.8 % error), so a run of a million
requests keeps a few hundred integers and two runs merge by adding counts.

    s = new_stats()
    record(s, pod="web-1", node="node-2", via="node-1", latency_us=1830, error=None)
    summary(s)     # {"requests", "errors", "pods": {pod: n}, "nodes", "via", "errors_by", "latency_ms": {"p50", "p99"}, ...}
"""


def bucket(value_us: int) -> int:
    v = max(0, int(value_us))
    if v < 256:
        return v
    shift = v.bit_length() - 8
    return (shift << 8) | (v >> shift)


def bucket_value(key: int) -> float:
    """The middle of a bucket, in µs."""
    shift, mantissa = key >> 8, key & 0xFF
    if shift == 0:
        return float(mantissa)
    low = mantissa << shift
    return low + ((1 << shift) - 1) / 2


def add(hist: dict, value_us: int) -> None:
    # bucket(), inlined: every finished request adds to up to three histograms.
    v = int(value_us) if value_us > 0 else 0
    if v >= 256:
        shift = v.bit_length() - 8
        v = (shift << 8) | (v >> shift)
    hist[v] = hist.get(v, 0) + 1


def merge(into: dict, other: dict) -> None:
    for key, count in other.items():
        into[key] = into.get(key, 0) + count


def percentile(hist: dict, p: int) -> float | None:
    """The p-th percentile (nearest rank: the ceil(p/100 · n)-th smallest) in ms, or None without samples."""
    total = sum(hist.values())
    if not total:
        return None
    rank = max(1, (p * total + 99) // 100)
    seen = 0
    for key in sorted(hist):
        seen += hist[key]
        if seen >= rank:
            return round(bucket_value(key) / 1000, 3)
    return round(bucket_value(max(hist)) / 1000, 3)


def new_stats() -> dict:
    return {"requests": 0, "errors": 0, "answered": 0, "hist": {}, "pods": {}, "nodes": {}, "via": {}, "errors_by": {}}


def _count(table: dict, key: str, error: bool, latency_us: int | None) -> None:
    entry = table.setdefault(key, {"requests": 0, "errors": 0, "hist": {}})
    entry["requests"] += 1
    if error:
        entry["errors"] += 1
    if latency_us is not None:
        add(entry["hist"], latency_us)


def record(stats: dict, *, pod: str | None, node: str | None, via: str | None, latency_us: int | None, error: str | None) -> None:
    """One finished request: routed to `pod` on `node` by the rules of `via`; latency_us when
    an answer came back (any HTTP status); error names what went wrong (None: success)."""
    stats["requests"] += 1
    if error:
        stats["errors"] += 1
        stats["errors_by"][error] = stats["errors_by"].get(error, 0) + 1
    if latency_us is not None:
        stats["answered"] += 1
        add(stats["hist"], latency_us)
    if pod:
        _count(stats["pods"], pod, bool(error), latency_us)
    if node:
        _count(stats["nodes"], node, bool(error), latency_us)
    if via:
        _count(stats["via"], via, bool(error), latency_us)


def merge_stats(into: dict, other: dict) -> None:
    for field in ("requests", "errors", "answered"):
        into[field] += other[field]
    merge(into["hist"], other["hist"])
    for reason, n in other["errors_by"].items():
        into["errors_by"][reason] = into["errors_by"].get(reason, 0) + n
    for table in ("pods", "nodes", "via"):
        for key, entry in other[table].items():
            mine = into[table].setdefault(key, {"requests": 0, "errors": 0, "hist": {}})
            mine["requests"] += entry["requests"]
            mine["errors"] += entry["errors"]
            merge(mine["hist"], entry["hist"])


def latency(hist: dict) -> dict:
    return {"p50": percentile(hist, 50), "p99": percentile(hist, 99)}


def _detail(table: dict) -> dict:
    return {key: {"requests": e["requests"], "errors": e["errors"], "latency_ms": latency(e["hist"])} for key, e in sorted(table.items())}


def summary(stats: dict) -> dict:
    """JSON-safe: the DESIGN shape (requests, errors, pods: {pod: count}, latency_ms) plus
    per-pod and per-node detail."""
    return {
        "requests": stats["requests"],
        "errors": stats["errors"],
        "answered": stats["answered"],
        "pods": {pod: e["requests"] for pod, e in sorted(stats["pods"].items())},
        "nodes": {node: e["requests"] for node, e in sorted(stats["nodes"].items())},
        "via": {node: e["requests"] for node, e in sorted(stats["via"].items())},
        "errors_by": dict(sorted(stats["errors_by"].items())),
        "latency_ms": latency(stats["hist"]),
        "pod_detail": _detail(stats["pods"]),
        "node_detail": _detail(stats["nodes"]),
    }
