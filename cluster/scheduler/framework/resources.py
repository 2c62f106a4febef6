"""Exact resource arithmetic: quantities as integers, pod requests as kube-scheduler sums them.

    milli("250m") == 250;  milli("2") == 2000;  milli("0.5") == 500     (cpu, millicores)
    value("1Gi") == 1073741824;  value("128M") == 128000000              (memory, bytes)
    pod_requests(spec)            -> (cpu_milli, memory_bytes)
    pod_requests(spec, NON_ZERO)  -> the same with 100m / 200Mi for containers that ask for nothing

Quantities round up, like resource.Quantity's MilliValue() and Value(). Integer arithmetic
only, so every score formula below gives Kubernetes' integers exactly.
"""

from fractions import Fraction

DEFAULT_MILLI_CPU_REQUEST = 100  # schedutil.DefaultMilliCPURequest: 0.1 core
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024  # schedutil.DefaultMemoryRequest: 200 MiB
NON_ZERO = (DEFAULT_MILLI_CPU_REQUEST, DEFAULT_MEMORY_REQUEST)

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_MEMO: dict = {}  # quantity text -> Fraction
_MILLI: dict = {}  # quantity text -> milli(text)
_VALUE: dict = {}  # quantity text -> value(text)
_MEMO_LIMIT = 4096


class QuantityError(ValueError):
    pass


def parse(quantity) -> Fraction:
    """A Kubernetes quantity as an exact fraction. Numbers (JSON ints) are taken as they are."""
    if isinstance(quantity, bool):
        raise QuantityError(f"not a quantity: {quantity!r}")
    if isinstance(quantity, int):
        return Fraction(quantity)
    if isinstance(quantity, float):
        if quantity != quantity or quantity in (float("inf"), float("-inf")):
            raise QuantityError(f"not a quantity: {quantity!r}")
        return Fraction(quantity)
    if not isinstance(quantity, str):
        raise QuantityError(f"not a quantity: {quantity!r}")
    found = _MEMO.get(quantity)
    if found is not None:
        return found
    text = quantity.strip()
    number, multiplier = text, Fraction(1)
    if text[-2:] in _BINARY:
        number, multiplier = text[:-2], Fraction(_BINARY[text[-2:]])
    elif text[-1:] in _DECIMAL and text[-1:] not in "0123456789":
        # "1e3" ends in a digit; "5E" (exa) ends in E: an exponent needs digits after it.
        number, multiplier = text[:-1], Fraction(_DECIMAL[text[-1:]])
    elif "e" in text.lower():
        head, _, exp = text.lower().partition("e")
        if not exp.lstrip("+-").isdigit():
            raise QuantityError(f"not a quantity: {quantity!r}")
        number, multiplier = head, Fraction(10) ** int(exp)
    if not number or number in ("+", "-", ".") or any(c not in "0123456789.+-" for c in number) or number.count(".") > 1 or "+" in number[1:] or "-" in number[1:]:
        raise QuantityError(f"not a quantity: {quantity!r}")
    result = Fraction(number) * multiplier
    if len(_MEMO) < _MEMO_LIMIT:
        _MEMO[quantity] = result
    return result


def _ceil(value: Fraction) -> int:
    return -((-value.numerator) // value.denominator)


def milli(quantity) -> int:
    """MilliValue(): thousandths, rounded up (cpu in millicores)."""
    found = _MILLI.get(quantity) if isinstance(quantity, str) else None
    if found is None:
        found = _ceil(parse(quantity) * 1000)
        if isinstance(quantity, str) and len(_MILLI) < _MEMO_LIMIT:
            _MILLI[quantity] = found  # every pod of a Deployment asks with the same text
    return found


def value(quantity) -> int:
    """Value(): whole units, rounded up (memory in bytes, pods)."""
    found = _VALUE.get(quantity) if isinstance(quantity, str) else None
    if found is None:
        found = _ceil(parse(quantity))
        if isinstance(quantity, str) and len(_VALUE) < _MEMO_LIMIT:
            _VALUE[quantity] = found
    return found


def safe_milli(quantity, default: int = 0) -> int:
    try:
        return milli(quantity)
    except QuantityError:
        return default


def safe_value(quantity, default: int = 0) -> int:
    try:
        return value(quantity)
    except QuantityError:
        return default


def _container_request(container, defaults) -> tuple[int, int]:
    """A container's cpu and memory requests. A resource with a limit but no request is
    requested at its limit (the API server's defaulting); with `defaults`, a resource the
    container does not mention at all counts as the default (explicit zero stays zero)."""
    resources = container.get("resources") if isinstance(container, dict) else None
    resources = resources if isinstance(resources, dict) else {}
    requests = resources.get("requests") if isinstance(resources.get("requests"), dict) else {}
    limits = resources.get("limits") if isinstance(resources.get("limits"), dict) else {}
    if "cpu" in requests:
        cpu = safe_milli(requests["cpu"])
    elif "cpu" in limits:
        cpu = safe_milli(limits["cpu"])
    else:
        cpu = defaults[0] if defaults else 0
    if "memory" in requests:
        memory = safe_value(requests["memory"])
    elif "memory" in limits:
        memory = safe_value(limits["memory"])
    else:
        memory = defaults[1] if defaults else 0
    return cpu, memory


def pod_requests(spec, defaults: tuple[int, int] | None = None) -> tuple[int, int]:
    """resourcehelper.PodRequests: the sum over containers, then the max with each init
    container (restartable "sidecar" init containers add to the sum and to every later init
    container), then the pod overhead."""
    if not isinstance(spec, dict):
        return (0, 0)
    cpu = memory = 0
    for container in spec.get("containers") or []:
        c, m = _container_request(container, defaults)
        cpu += c
        memory += m
    sidecar_cpu = sidecar_mem = 0
    init_cpu = init_mem = 0
    for container in spec.get("initContainers") or []:
        c, m = _container_request(container, defaults)
        if isinstance(container, dict) and container.get("restartPolicy") == "Always":
            cpu += c
            memory += m
            sidecar_cpu += c
            sidecar_mem += m
            c, m = sidecar_cpu, sidecar_mem
        else:
            c, m = c + sidecar_cpu, m + sidecar_mem
        init_cpu, init_mem = max(init_cpu, c), max(init_mem, m)
    cpu, memory = max(cpu, init_cpu), max(memory, init_mem)
    overhead = spec.get("overhead")
    if isinstance(overhead, dict):
        cpu += safe_milli(overhead.get("cpu", 0))
        memory += safe_value(overhead.get("memory", 0))
    return cpu, memory


def format_cpu(m: int) -> str:
    return f"{m // 1000}" if m % 1000 == 0 else f"{m}m"


def format_memory(b: int) -> str:
    for suffix, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if b and b % size == 0:
            return f"{b // size}{suffix}"
    return str(b)
