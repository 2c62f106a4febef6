"""Object metadata helpers: virtual time as RFC 3339, uids and generated names from a
seeded stream, JSON encoding for etcd values, deep copies.

Virtual time 0 is the cluster's epoch (kernel/calendar.py; by default 2026-01-01T00:00:00Z):
`rfc3339(90 * SECOND)` is then "2026-01-01T00:01:30Z"; `parse_time("2026-01-01T00:01:30Z")`
is 90 * SECOND again.
"""

import datetime
import functools
import json

from ..kernel import SECOND, calendar

UID_HEX = "0123456789abcdef"
# Kubernetes' generateName alphabet: no vowels (no words) and no confusable characters.
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _moment(time_us: int) -> datetime.datetime:
    return calendar.UNIX + datetime.timedelta(seconds=calendar.current.get(), microseconds=time_us)


def rfc3339(time_us: int) -> str:
    """Whole seconds, like metav1.Time."""
    return _moment(time_us // SECOND * SECOND).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(time_us: int) -> str:
    """With microseconds, like metav1.MicroTime (events' eventTime, leases' renewTime)."""
    return _moment(time_us).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def clock(time_us: int) -> datetime.datetime:
    """The calendar moment of a virtual time (for text such as log lines)."""
    return _moment(time_us)


def parse_time(text) -> int | None:
    """Virtual microseconds for an RFC 3339 timestamp, or None when it is not one."""
    if not isinstance(text, str) or not text:
        return None
    unix_us = _unix_us(text)
    return None if unix_us is None else unix_us - calendar.current.get() * SECOND


@functools.lru_cache(maxsize=4096)
def _unix_us(text: str) -> int | None:
    """Microseconds since 1970 (cached: a list's objects share few distinct timestamps)."""
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    delta = moment - calendar.UNIX
    return (delta.days * 86400 + delta.seconds) * SECOND + delta.microseconds


def new_uid(stream) -> str:
    """A version-4 UUID string drawn from a seeded stream."""
    bits = (stream.next64() << 64) | stream.next64()
    bits = (bits & ~(0xF << 76)) | (0x4 << 76)  # version 4
    bits = (bits & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def random_suffix(stream, length: int = 5) -> str:
    return "".join(NAME_ALPHABET[stream.randint(0, len(NAME_ALPHABET) - 1)] for _ in range(length))


def encode(obj: dict) -> str:
    """The etcd value of an object: JSON without resourceVersion (that is the key's mod revision)."""
    meta = obj.get("metadata") or {}
    if "resourceVersion" in meta:
        obj = dict(obj)
        obj["metadata"] = {k: v for k, v in meta.items() if k != "resourceVersion"}
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def decode(value: str, revision: int) -> dict:
    obj = json.loads(value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
    return obj


def copy_json(obj):
    """A deep copy of JSON-like data (faster than copy.deepcopy for dicts and lists)."""
    kind = type(obj)
    if kind is dict:
        return {k: copy_json(v) for k, v in obj.items()}
    if kind is list:
        return [copy_json(v) for v in obj]
    return obj


def dig(obj, *path, default=None):
    """obj[path[0]][path[1]]..., or default when any step is missing or of the wrong type."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(obj, list) or not -len(obj) <= step < len(obj):
                return default
        elif not isinstance(obj, dict) or step not in obj:
            return default
        obj = obj[step]
    return obj


def meta_of(obj) -> dict:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return meta if isinstance(meta, dict) else {}


def rv_of(obj) -> int:
    try:
        return int(meta_of(obj).get("resourceVersion") or 0)
    except (TypeError, ValueError):
        return 0


def is_json_safe(value, depth: int = 0) -> bool:
    """JSON data only (no NaN, no infinity, string keys), nested at most 100 deep."""
    if depth > 100:
        return False
    kind = type(value)
    if value is None or kind in (str, bool, int):
        return True
    if kind is float:
        return value == value and value not in (float("inf"), float("-inf"))
    if kind is list:
        return all(is_json_safe(v, depth + 1) for v in value)
    if kind is dict:
        return all(type(k) is str and is_json_safe(v, depth + 1) for k, v in value.items())
    return False
