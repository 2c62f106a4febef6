"""Resource scoring formulas (noderesources/least_allocated.go, most_allocated.go,
requested_to_capacity_ratio.go, balanced_allocation.go), integers as in Go.

For each scored resource r (cpu in millicores, memory in bytes) with weight w_r, where
`requested` already includes the incoming pod and resources with zero allocatable are left out:

    LeastAllocated            score_r = (allocatable − requested) × 100 / allocatable   (0 if requested > allocatable)
    MostAllocated             score_r = min(requested, allocatable) × 100 / allocatable
    both:                     node score = Σ score_r × w_r / Σ w_r          (integer division)

    RequestedToCapacityRatio  u_r = requested × 100 / allocatable (100 when over), f = the
                              broken-line `shape` through (utilization, score × 10) points,
                              node score = round(Σ f(u_r) × w_r / Σ w_r) over resources with f > 0

    BalancedAllocation        f_r = min(requested / allocatable, 1) (floats);  with two
                              resources std = |f_1 − f_2| / 2, with more the population
                              standard deviation;  score = int((1 − std) × 100)
"""

import math

MAX = 100
MAX_CUSTOM_PRIORITY_SCORE = 10  # shape scores are 0..10, scaled to 0..100
MAX_UTILIZATION = 100


def _go_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def least_requested(requested: int, allocatable: int) -> int:
    if allocatable == 0 or requested > allocatable:
        return 0
    return (allocatable - requested) * MAX // allocatable


def most_requested(requested: int, allocatable: int) -> int:
    if allocatable == 0:
        return 0
    if requested > allocatable:
        requested = allocatable
    return requested * MAX // allocatable


def weighted(per_resource, requested: list, allocatable: list, weights: list) -> int:
    score = total_weight = 0
    for req, alloc, weight in zip(requested, allocatable, weights, strict=True):
        if alloc == 0:
            continue
        score += per_resource(req, alloc) * weight
        total_weight += weight
    return score // total_weight if total_weight else 0


def broken_linear(shape: list):
    """helper.BuildBrokenLinearFunction over [(utilization, score)], sorted by utilization."""

    def f(p: int) -> int:
        for i, (utilization, score) in enumerate(shape):
            if p <= utilization:
                if i == 0:
                    return shape[0][1]
                u0, s0 = shape[i - 1]
                return s0 + _go_div((score - s0) * (p - u0), utilization - u0)
        return shape[-1][1]

    return f


def requested_to_capacity(shape: list, requested: list, allocatable: list, weights: list) -> int:
    f = broken_linear(shape)
    score = total_weight = 0
    for req, alloc, weight in zip(requested, allocatable, weights, strict=True):
        if alloc == 0:
            continue
        if req > alloc:
            value = f(MAX_UTILIZATION)
        else:
            value = f(req * MAX_UTILIZATION // alloc)
        if value > 0:
            score += value * weight
            total_weight += weight
    if total_weight == 0:
        return 0
    return _round_half_away(score, total_weight)


def _round_half_away(a: int, b: int) -> int:
    """Go's math.Round(float64(a) / float64(b)): halves away from zero."""
    x = a / b
    whole = math.floor(abs(x))
    if abs(x) - whole >= 0.5:
        whole += 1
    return int(whole) if x >= 0 else -int(whole)


def balanced(requested: list, allocatable: list) -> int:
    fractions = []
    total = 0.0
    for req, alloc in zip(requested, allocatable, strict=True):
        if alloc == 0:
            continue
        fraction = req / alloc
        if fraction > 1:
            fraction = 1.0
        total += fraction
        fractions.append(fraction)
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        mean = total / len(fractions)
        acc = 0.0
        for fraction in fractions:
            acc = acc + (fraction - mean) * (fraction - mean)
        std = math.sqrt(acc / len(fractions))
    return int((1 - std) * MAX)


def parse_resources(spec, default) -> tuple[list, list]:
    """[{"name": "cpu", "weight": 1}, ...] -> (names, weights)."""
    items = spec if isinstance(spec, list) and spec else default
    names, weights = [], []
    for item in items:
        names.append(str(item.get("name")))
        weight = item.get("weight", 1)
        weights.append(weight if isinstance(weight, int) and not isinstance(weight, bool) and weight > 0 else 1)
    return names, weights


def parse_shape(spec) -> list:
    points = spec.get("shape") if isinstance(spec, dict) else None
    if not isinstance(points, list) or not points:
        points = [{"utilization": 0, "score": 10}, {"utilization": 100, "score": 0}]
    shape = []
    for p in points:
        shape.append((int(p.get("utilization", 0)), int(p.get("score", 0)) * (MAX // MAX_CUSTOM_PRIORITY_SCORE)))
    return sorted(shape)
