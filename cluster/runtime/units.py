"""Resource quantities as exact integers: cpu in millicores, memory in bytes.

    cpu_millis("500m") == 500      cpu_millis("2") == 2000      cpu_millis(1.5) == 1500
    byte_count("128Mi") == 134217728      byte_count("1G") == 10**9
    show_bytes(134217728) == "128Mi"      show_cpu(1500) == "1500m"

Kubernetes quantities are decimal or binary suffixed numbers; a bad one gives None so the
caller can say which field is wrong.
"""

from fractions import Fraction

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}

KI, MI, GI = 2**10, 2**20, 2**30


def quantity(value) -> Fraction | None:
    """A quantity as an exact fraction of its base unit (cores, bytes), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(value).limit_denominator(10**9) if value == value and abs(value) != float("inf") else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    for suffix, scale in _BINARY.items():
        if text.endswith(suffix):
            number, multiplier = text[: -len(suffix)], scale
            break
    else:
        suffix = text[-1] if text[-1] in "numkMGTPE" else ""
        number, multiplier = (text[:-1], _DECIMAL[suffix]) if suffix else (text, 1)
    if not number or number.count(".") > 1 or any(c not in "0123456789.+-eE" for c in number):
        return None
    try:
        parsed = Fraction(number)
    except (ValueError, ZeroDivisionError):
        return None
    return parsed * multiplier


def cpu_millis(value, default: int | None = None) -> int | None:
    """Millicores (rounded up, like the API server's canonical form)."""
    q = quantity(value)
    if q is None:
        return default
    millis = q * 1000
    return int(millis) if millis.denominator == 1 else int(millis) + (1 if millis > 0 else 0)


def byte_count(value, default: int | None = None) -> int | None:
    q = quantity(value)
    if q is None:
        return default
    return int(q) if q.denominator == 1 else int(q) + (1 if q > 0 else 0)


def show_bytes(n: int) -> str:
    """The shortest exact binary form: 134217728 -> "128Mi"; 1000 -> "1000"."""
    for suffix, scale in (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if n and n % scale == 0:
            return f"{n // scale}{suffix}"
    return str(n)


def show_cpu(millis: int) -> str:
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def human_bytes(n: int) -> str:
    """For sentences: 73400320 -> "70.0 MB" (decimal, as registries print sizes)."""
    if n >= 10**9:
        return f"{n / 10**9:.1f} GB"
    if n >= 10**6:
        return f"{n / 10**6:.1f} MB"
    if n >= 10**3:
        return f"{n / 10**3:.1f} kB"
    return f"{n} B"
