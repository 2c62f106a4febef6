"""WorkQueue: client-go's rate-limited work queue, as plain data driven by timers.

Stingy, like client-go's: a key is never processed twice at once and repeated adds merge.

    add("default/web") ─▶ queue ──(a worker is free)──▶ processing ──sync(key) and its requests end──▶ done
                  ▲         ▲                               │ add() while processing: marked dirty
                  │         └──────── dirty: queued again ◀─┤
                  └─ add_after / back-off timer ◀── failed ─┘ (failures: base · 2^(n-1), capped)

Processing is asynchronous here: `sync(key)` runs in one step of the simulation and may
send API requests through the owner's ApiClient with `queue=` and `key=`; the key stays
*processing* until the last of those requests is answered (a failed one, code >= 400 and
not listed in `ok`, fails the round). A round fails as well when sync returns False or
raises. A failed key comes back after its back-off; a successful round forgets its failures.
After a round whose writes were answered (resourceVersion N), the key *settles*: an add
marks it dirty but it is not taken again until the informers of the written resource have
reached N (or SETTLE_MAX_US passed), so a sync never acts on a cache older than its own
writes (what expectations do in client-go for creates; this covers every write).

The queue wakes itself with the owner's timers ("client.queue", "client.queue_wait"), so the
owner only routes `on_timer` to its ApiClient (see cluster/client/__init__.py). Keys wait in
the queue until every informer of the client has listed once (WaitForCacheSync).
"""

from ..kernel import MILLISECOND, SECOND

SETTLE_MAX_US = 5 * SECOND  # a key waits at most this long for its writes to show in the cache


class WorkQueue:
    def __init__(self, client, name: str, sync: str, *, workers: int = 5, base_delay_us: int = 5 * MILLISECOND,
                 max_delay_us: int = 300 * SECOND, label: str | None = None, event_prefix: str = "controller"):
        self.client = client
        self.name = name
        self.sync = sync  # a name resolved on the owner: "sync_pod" or "replicaset.sync"
        self.label = label or name
        self.workers = max(1, int(workers))
        self.base_delay_us = base_delay_us
        self.max_delay_us = max_delay_us
        self.event_prefix = event_prefix
        self._clear()

    def _clear(self) -> None:
        self.queue: list[str] = []  # FIFO, each key at most once
        self.dirty: set[str] = set()  # keys added since they were last taken (queued or processing)
        self.processing: dict[str, int] = {}  # key -> its requests still in flight
        self.round_failed: dict[str, bool] = {}  # key -> did this round fail so far
        self.failures: dict[str, int] = {}  # key -> consecutive failed rounds (back-off exponent)
        self.waiting: dict[str, int] = {}  # key -> virtual time it is added again
        self.settling: dict[str, list] = {}  # key -> [[resource, rv], ...] its answered writes not yet in the cache
        self.round_writes: dict[str, list] = {}
        self.kick_pending = False
        self.run = getattr(self, "run", 0) + 1  # stale timers from an earlier run are ignored
        self.active = False
        self.processed = 0
        self.last_key: str | None = None

    # --- the owner's controls ----------------------------------------------------------------
    def start(self) -> None:
        self.active = True
        self._kick()

    def stop(self) -> None:
        """Forget everything (a crash, or a controller-manager that lost its lease)."""
        self._clear()

    @property
    def depth(self) -> int:
        return len(self.queue)

    def __len__(self) -> int:
        return len(self.queue)

    # --- client-go's interface ---------------------------------------------------------------------
    def add(self, key: str) -> None:
        if key in self.dirty:
            return
        self.dirty.add(key)
        if key in self.processing or key in self.settling:
            return
        self.queue.append(key)
        self._kick()

    def add_after(self, key: str, delay_us: int) -> None:
        if delay_us <= 0:
            self.add(key)
            return
        ready = self.client.owner.now + int(delay_us)
        if key in self.waiting and self.waiting[key] <= ready:
            return
        self.waiting[key] = ready
        self.client.owner.set_timer(int(delay_us), "client.queue_wait", [self.name, key, ready, self.run])

    def add_rate_limited(self, key: str) -> int:
        failures = self.failures.get(key, 0) + 1
        self.failures[key] = failures
        delay = min(self.max_delay_us, self.base_delay_us * (2 ** min(failures - 1, 40)))
        self.add_after(key, delay)
        return delay

    def forget(self, key: str) -> None:
        self.failures.pop(key, None)

    def num_requeues(self, key: str) -> int:
        return self.failures.get(key, 0)

    # --- processing --------------------------------------------------------------------------------------
    def _kick(self) -> None:
        # Like client-go's WaitForCacheSync: nothing is processed before every informer has listed.
        if self.active and not self.kick_pending and self.queue and len(self.processing) < self.workers and self.client.synced():
            self.kick_pending = True
            self.client.owner.set_timer(0, "client.queue", [self.name, self.run])

    def on_kick(self, run: int) -> None:
        if run != self.run:
            return
        self.kick_pending = False
        while self.active and self.queue and len(self.processing) < self.workers and self.client.synced():
            key = self.queue.pop(0)
            self.dirty.discard(key)
            self.processing[key] = 0
            self.round_failed[key] = False
            self.processed += 1
            self.last_key = key
            self.client.current = (self.name, key, self.run)
            try:
                ok = self.client.resolve(self.sync)(key)
            except Exception as exc:  # noqa: BLE001 - one bad object must not stop the loop
                ok = False
                text = f"{type(exc).__name__}: {exc}"
                self.client.owner.emit(f"{self.event_prefix}.error", f"{self.label} {key}: sync failed with {text}", controller=self.label, key=key, error=text)
            finally:
                self.client.current = None
            if ok is False:
                self.round_failed[key] = True
            if self.processing.get(key) == 0:
                self._done(key)

    def on_wait(self, key: str, ready: int, run: int) -> None:
        if run != self.run or self.waiting.get(key) != ready:
            return
        del self.waiting[key]
        self.add(key)

    def request_started(self, key: str, run: int) -> None:
        if run == self.run and key in self.processing:
            self.processing[key] += 1

    def request_done(self, key: str, run: int, failed: bool, write: list | None = None) -> None:
        if run != self.run or key not in self.processing:
            return
        if write is not None:
            self.round_writes.setdefault(key, []).append(write)
        self.processing[key] -= 1
        if failed:
            self.round_failed[key] = True
        if self.processing[key] <= 0:
            self._done(key)

    def _done(self, key: str) -> None:
        self.processing.pop(key, None)
        failed = self.round_failed.pop(key, False)
        writes = [w for w in self.round_writes.pop(key, []) if not self.client.caught_up(w[0], w[1])]
        if writes and not failed:
            # Read your writes: the key is not synced again until the informers show what
            # this round wrote (else it would act on a cache that predates its own writes).
            self.settling[key] = writes
            self.client.owner.set_timer(SETTLE_MAX_US, "client.queue_settle", [self.name, key, self.run])
        if failed:
            delay = self.add_rate_limited(key)
            self.client.owner.emit(f"{self.event_prefix}.retry", f"{self.label} {key}: failed, retrying in {_duration(delay)} (failure {self.failures[key]})",
                                   controller=self.label, key=key, failures=self.failures[key], delay=delay / SECOND)
        else:
            self.forget(key)
        if key in self.dirty and key not in self.settling:
            self.queue.append(key)
        self._kick()

    def settle(self, resource: str) -> None:
        """An informer of `resource` moved on: release keys whose writes it now shows."""
        for key in sorted(self.settling):
            writes = [w for w in self.settling[key] if not (w[0] == resource and self.client.caught_up(w[0], w[1]))]
            if writes:
                self.settling[key] = writes
            else:
                self._release(key)

    def on_settle_timeout(self, key: str, run: int) -> None:
        if run == self.run and key in self.settling:
            self._release(key)

    def _release(self, key: str) -> None:
        del self.settling[key]
        if key in self.dirty and key not in self.processing and key not in self.queue:
            self.queue.append(key)
            self._kick()

    # --- view ---------------------------------------------------------------------------------------------
    def view(self) -> dict:
        return {
            "name": self.name, "label": self.label, "depth": len(self.queue), "queued": self.queue[:20],
            "processing": sorted(self.processing), "waiting": len(self.waiting), "settling": sorted(self.settling)[:20],
            "retries": {k: v for k, v in sorted(self.failures.items())[:20]}, "processed": self.processed, "last_key": self.last_key,
        }


def _duration(us: int) -> str:
    if us < SECOND:
        return f"{us // MILLISECOND} ms"
    return f"{us / SECOND:g} s"
