"""A canonical hash of plain-data state: equal states give equal hashes.

Walks numbers, strings, lists, tuples, dicts, sets, dataclasses and plain objects
(their __dict__ and __slots__), in sorted order wherever order is not part of the value
(dict keys, sets, attribute names), so the hash never depends on insertion order of a
dict or on the process. Shared and cyclic references are encoded as back-references to
the first visit, which is itself in deterministic order.

A class may name attributes that are history rather than state in `_unhashed`.
"""

import hashlib
from collections import deque


def state_hash(obj) -> str:
    digest = hashlib.sha256()
    _encode(obj, _Sink(digest), {})
    return digest.hexdigest()


class _Sink:
    """Takes the encoding's pieces as a list would (`append`) and feeds them straight to the
    hash: the same digest as hashing their concatenation, without holding it. Held as a list,
    a 150,000-pod cluster's encoding took the server past 24 GiB (bench apiserver, killed)."""

    __slots__ = ("append",)

    def __init__(self, digest):
        self.append = digest.update


def _encode(obj, out: list, seen: dict) -> None:
    if obj is None or obj is True or obj is False:
        out.append(b"N" if obj is None else (b"T" if obj else b"F"))
        return
    kind = type(obj)
    if kind is int:
        out.append(b"i%d;" % obj)
    elif kind is str:
        data = obj.encode("utf-8", "surrogatepass")
        out.append(b"s%d:" % len(data))
        out.append(data)
    elif kind is float:
        out.append(b"f" + repr(obj).encode() + b";")
    elif kind is bytes:
        out.append(b"b%d:" % len(obj))
        out.append(obj)
    elif kind in (list, tuple, deque):
        out.append(b"l%d[" % len(obj))
        for item in obj:
            _encode(item, out, seen)
        out.append(b"]")
    elif kind is dict:
        items = []
        for key, value in obj.items():
            key_out: list = []
            _encode(key, key_out, {})
            items.append((b"".join(key_out), value))
        items.sort(key=lambda pair: pair[0])
        out.append(b"d%d{" % len(items))
        for key_bytes, value in items:
            out.append(key_bytes)
            _encode(value, out, seen)
        out.append(b"}")
    elif kind in (set, frozenset):
        parts = []
        for item in obj:
            part: list = []
            _encode(item, part, {})
            parts.append(b"".join(part))
        out.append(b"S%d{" % len(parts) + b"".join(sorted(parts)) + b"}")
    else:
        ref = seen.get(id(obj))
        if ref is not None:
            out.append(b"r%d;" % ref)
            return
        seen[id(obj)] = len(seen)
        out.append(b"o" + kind.__qualname__.encode() + b"{")
        skip = getattr(kind, "_unhashed", ())
        for name, value in sorted(_fields(obj)):
            if name in skip:
                continue
            out.append(name.encode() + b"=")
            _encode(value, out, seen)
        out.append(b"}")


def _fields(obj):
    if hasattr(obj, "__getstate__") and type(obj).__getstate__ is not object.__getstate__:
        state = obj.__getstate__()
        if isinstance(state, dict):
            return list(state.items())
        return [("state", state)]
    fields = list(getattr(obj, "__dict__", {}).items())
    for klass in type(obj).__mro__:
        for name in getattr(klass, "__slots__", ()):
            if hasattr(obj, name) and name != "__dict__":
                fields.append((name, getattr(obj, name)))
    return fields
