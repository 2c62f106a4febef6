"""Seeded random streams.

Every draw in the simulation comes from a `Stream` derived from the cluster seed and a
stream name, so adding a component (a new stream name) never changes another
component's draws. The generator is SplitMix64: its whole state is one integer, so a
stream is plain data that pickles, hashes and compares by value.

    root = Stream.from_seed(42)
    net = root.derive("net")        # the same seed and name give the same stream, always
    net.randint(1, 6)
"""

MASK64 = (1 << 64) - 1


def _mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def _hash_name(name: str) -> int:
    # FNV-1a over the UTF-8 bytes: stable across processes (unlike hash()).
    h = 0xCBF29CE484222325
    for byte in name.encode():
        h = ((h ^ byte) * 0x100000001B3) & MASK64
    return h


class Stream:
    __slots__ = ("seed", "state")

    def __init__(self, seed: int, state: int | None = None):
        self.seed = seed & MASK64
        self.state = self.seed if state is None else state

    @classmethod
    def from_seed(cls, seed: int) -> "Stream":
        return cls(_mix(seed & MASK64))

    def derive(self, name: str) -> "Stream":
        """A child stream that depends only on this stream's seed and `name`."""
        return Stream(_mix(self.seed ^ _hash_name(name)))

    def next64(self) -> int:
        # _mix(), inlined: kube-proxy's statistic rules draw about n/2 numbers per connection.
        state = self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def random(self) -> float:
        """A float in [0, 1) with 53 random bits."""
        return (self.next64() >> 11) / 9007199254740992.0

    def randint(self, low: int, high: int) -> int:
        """An integer in [low, high], both ends included, without modulo bias."""
        if high < low:
            raise ValueError("randint: empty range")
        span = high - low + 1
        limit = (1 << 64) - ((1 << 64) % span)
        while True:
            # next64() and _mix(), inlined: the network draws a jitter for every message.
            state = self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
            z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
            x = z ^ (z >> 31)
            if x < limit:
                return low + x % span

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def chance(self, probability: float) -> bool:
        return probability > 0 and self.random() < probability

    def choice(self, items):
        if not items:
            raise IndexError("choice from an empty sequence")
        return items[self.randint(0, len(items) - 1)]

    def shuffle(self, items: list) -> None:
        for i in range(len(items) - 1, 0, -1):
            j = self.randint(0, i)
            items[i], items[j] = items[j], items[i]

    def __getstate__(self):
        return (self.seed, self.state)

    def __setstate__(self, state):
        self.seed, self.state = state

    def __repr__(self):
        return f"Stream(seed={self.seed:#x}, state={self.state:#x})"
