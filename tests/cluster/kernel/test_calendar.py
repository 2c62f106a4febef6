"""Each simulation stamps times from its own epoch, even when several run in one process."""

import pytest

from cluster.apiserver.meta import parse_time, rfc3339
from cluster.kernel import SECOND, Component, Simulation, calendar


class Stamper(Component):
    def on_start(self):
        self.stamps = [rfc3339(self.now)]
        self.set_timer(90 * SECOND, "stamp")

    def on_timer(self, tag, data):
        self.stamps.append(rfc3339(self.now))
        self.parsed = parse_time(self.stamps[-1])


def test_interleaved_simulations_keep_their_own_epochs():
    a = Simulation(seed=1, epoch_seconds=calendar.epoch_seconds("2031-07-08T09:10:11Z"))
    b = Simulation(seed=1)
    sa, sb = a.add(Stamper(a, "s")), b.add(Stamper(b, "s"))
    a.run_until(45 * SECOND)
    b.run_until(100 * SECOND)
    a.run_until(100 * SECOND)
    assert sa.stamps == ["2031-07-08T09:10:11Z", "2031-07-08T09:11:41Z"]
    assert sb.stamps == ["2026-01-01T00:00:00Z", "2026-01-01T00:01:30Z"]
    assert sa.parsed == sb.parsed == 90 * SECOND  # back to virtual time, each in its own calendar
    assert rfc3339(0) == calendar.DEFAULT_EPOCH  # outside any simulation: the default


@pytest.mark.parametrize("text", ["2026-01-01", "2026-01-01T00:00:00.5Z", "2026-01-01T00:00:00+00:00", "1999-12-31T23:59:59Z", 5])
def test_bad_epochs(text):
    with pytest.raises((ValueError, TypeError)):
        calendar.epoch_seconds(text)
