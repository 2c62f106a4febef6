"""The watch cache's paged reads (walk, count_after) against the plain snapshot they replace:
the same pairs in the same order, for every revision in the window, prefix and start key."""

import json
import random

import pytest

from cluster.apiserver.cache import Expired, WatchCache


def put(key: str, revision: int, n: int) -> dict:
    return {"type": "PUT", "kv": {"key": key, "value": json.dumps({"metadata": {"name": key.rsplit("/", 1)[1]}, "n": n}), "mod_revision": revision}}


def delete(key: str, revision: int) -> dict:
    return {"type": "DELETE", "kv": {"key": key, "value": "", "mod_revision": revision}}


def churned_cache(seed: int) -> tuple[WatchCache, int]:
    """Pods in two namespaces created, changed, deleted and created again; a window of 60 events."""
    rng = random.Random(seed)
    cache = WatchCache(capacity=60)
    cache.replace([], revision=1)
    revision = 1
    names = [f"/registry/pods/{ns}/p{i:02d}" for ns in ("a", "b") for i in range(25)]
    live: set[str] = set()
    for step in range(200):
        revision += 1
        key = rng.choice(names)
        if key in live and rng.random() < 0.3:
            cache.apply(delete(key, revision))
            live.discard(key)
        else:
            cache.apply(put(key, revision, step))
            live.add(key)
    return cache, revision


def expected(cache: WatchCache, prefix: str, start: str, revision: int | None) -> list[tuple[str, dict]]:
    state = cache.snapshot("pods", revision if revision is not None else cache.revision)
    return [(k, state[k]) for k in sorted(state) if k.startswith(prefix) and k >= max(prefix, start)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_walk_and_count_after_match_the_snapshot_for_every_revision_in_the_window(seed):
    cache, head = churned_cache(seed)
    checked = 0
    for revision in [None, *range(cache.floor, head + 1)]:
        for prefix in ("/registry/pods/", "/registry/pods/a/", "/registry/pods/b/"):
            for start in ("", "/registry/pods/a/p10", "/registry/pods/b/p03\x00", "/registry/pods/c"):
                want = expected(cache, prefix, start, revision)
                assert list(cache.walk("pods", prefix, start, revision)) == want
                if want:
                    after = want[len(want) // 2][0]
                    remaining = sum(1 for k, _ in want if k > after)
                    assert cache.count_after("pods", prefix, after, revision) == remaining
                    checked += 1
    assert checked > 100  # the churn left objects to list at most revisions


def test_a_revision_older_than_the_window_is_expired():
    cache, _head = churned_cache(4)
    assert cache.floor > 1
    with pytest.raises(Expired):
        list(cache.walk("pods", "/registry/pods/", "", cache.floor - 1))
    with pytest.raises(Expired):
        cache.count_after("pods", "/registry/pods/", "", cache.floor - 1)
