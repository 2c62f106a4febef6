"""A small JSONPath-like language for conditions on the cluster's state.

    etcd.leader                                   one value
    etcd.members[0].role                          an index
    etcd.members[*].term                          every item (a list of matches)
    objects.pods[?metadata.labels.app=web]        the items whose field equals a value
    objects.pods[?status.phase!=Running].metadata.name
    nodes[?node=node-2].ready                     (!=, >, >=, <, <= too; [?field] keeps items where it is set)
    objects.pods.length                           a list's or a mapping's size (unless it has a key "length")
    components['node-1/kubelet'].alive            a key with dots or slashes, quoted

`select(state, path)` returns (matches, many): `many` is true when the path holds `*` or a
filter, so the caller knows whether "count" means the number of matches or a list's length.
A key that is absent gives no match (not an error): "exists: false" is how to test for it.
Values in filters are read like YAML scalars: 3, true, null, 'quoted text', plain text.
"""

import re

_QUOTED = "'[^']*'|\"[^\"]*\""
_INDEX = rf"""\[(?:[^\]'"]|{_QUOTED})*\]"""  # one level of brackets inside a filter: labels['app']
_TOKEN = re.compile(rf"""\.?([^.\[\]]+)|\[(\*|-?\d+|{_QUOTED}|\?(?:{_INDEX}|[^\]'"\[]|{_QUOTED})+)\]""")
_FILTER = re.compile(rf"""^\?\s*((?:{_INDEX}|[^!<>=\s'"\[]|{_QUOTED})+)\s*(?:(!=|>=|<=|=|>|<)\s*(.*?))?\s*$""")


class PathError(ValueError):
    pass


def parse(path: str) -> list[tuple]:
    """The path as steps: ("key", k), ("index", i), ("all",), ("filter", subpath, op, value)."""
    steps, pos = [], 0
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if match is None or match.end() == pos:
            raise PathError(f"cannot read the path {path!r} at character {pos + 1}")
        key, bracket = match.groups()
        if key is not None:
            steps.append(("key", key.strip()))
        elif bracket == "*":
            steps.append(("all",))
        elif bracket[0] in "'\"":
            steps.append(("key", bracket[1:-1]))
        elif bracket[0] == "?":
            f = _FILTER.match(bracket)
            if f is None:
                raise PathError(f"cannot read the filter [{bracket}] in {path!r}")
            field, op, raw = f.groups()
            steps.append(("filter", parse(field), op, scalar(raw) if op else None))
        else:
            steps.append(("index", int(bracket)))
        pos = match.end()
    if not steps:
        raise PathError("the path is empty")
    return steps


def scalar(raw: str):
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "~", "none"):
        return None
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw


def select(state, path: str | list) -> tuple[list, bool]:
    steps = parse(path) if isinstance(path, str) else path
    current, many = [state], False
    for step in steps:
        nxt = []
        for item in current:
            if step[0] == "key":
                value = _get(item, step[1])
                if value is not _MISSING:
                    nxt.append(value)
            elif step[0] == "index":
                if isinstance(item, list) and -len(item) <= step[1] < len(item):
                    nxt.append(item[step[1]])
            else:
                many = True
                items = list(item.values()) if _is_mapping(item) else item if isinstance(item, list) else []
                if step[0] == "all":
                    nxt.extend(items)
                else:
                    nxt.extend(x for x in items if _keep(x, step[1], step[2], step[3]))
        current = nxt
    return current, many


_MISSING = object()


def _is_mapping(item) -> bool:
    return hasattr(item, "keys") and hasattr(item, "get")


def _get(item, key: str):
    if _is_mapping(item):
        value = item.get(key, _MISSING)
        return len(list(item.keys())) if value is _MISSING and key == "length" else value
    if key == "length" and isinstance(item, list):
        return len(item)
    return _MISSING


def _keep(item, field: list, op: str | None, value) -> bool:
    found, _ = select(item, field)
    if op is None:
        return any(v not in (None, False, "", [], {}) for v in found)
    for v in found:
        if op == "=" and _same(v, value) or op == "!=" and not _same(v, value):
            return True
        if op in (">", ">=", "<", "<=") and _number(v) and _number(value):
            if {">": v > value, ">=": v >= value, "<": v < value, "<=": v <= value}[op]:
                return True
    return op == "!=" and not found  # an absent field differs from any value


def _same(a, b) -> bool:
    if _number(a) and _number(b):
        return a == b
    if isinstance(a, str) or isinstance(b, str):
        return str(a) == str(b) if not isinstance(a, bool) and not isinstance(b, bool) else a == b
    return a == b


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
