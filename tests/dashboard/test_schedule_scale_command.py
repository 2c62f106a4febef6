"""manage.py schedule_scale: the headless scale run prints pods per wall-second, and its
digest is the framework's own (the command adds timing, never a different decision)."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from cluster.scheduler.scale import run_scale


def run(*args):
    out = io.StringIO()
    call_command("schedule_scale", *args, stdout=out)
    return out.getvalue()


def test_the_scale_run_prints_pods_per_wall_second():
    text = run("--nodes", "120", "--pods", "300", "--batch", "100", "--seed", "5")
    assert "building 120 nodes and 300 pods" in text
    progress = re.findall(r"^\s+([\d,]+) pods\s+([\d,]+) pods/wall-second$", text, re.M)
    assert [done for done, _ in progress] == ["100", "200", "300"]
    assert "scheduled 300, unschedulable 0, 100 nodes examined per pod" in text  # 120 nodes: at least 100 are examined
    rate = re.search(r"^([\d,]+) pods per wall-second \(([\d.]+) s\); ([\d,]+) pods per CPU-second$", text, re.M)
    assert rate and int(rate.group(1).replace(",", "")) > 0 and float(rate.group(2)) > 0
    assert "680 pods/s" in text
    digest = re.search(r"decisions digest ([0-9a-f]{16})", text).group(1)
    assert run_scale(120, 300, seed=5, fast=False)["digest"].startswith(digest)  # the straightforward path decides alike


def test_the_component_run_prints_its_rate():
    text = run("--nodes", "4", "--pods", "12", "--component")
    assert "bound 12 pods in" in text
    assert re.search(r"^[\d,]+ pods per wall-second \([\d.]+ s\), [\d,]+ per CPU-second$", text, re.M)


@pytest.mark.parametrize(("args", "message"), [
    (("--nodes", "0"), "--nodes must be from 1 to 5000"),
    (("--nodes", "5001"), "--nodes must be from 1 to 5000"),
    (("--pods", "150001"), "--pods must be from 1 to 150000"),
])
def test_sizes_beyond_kubernetes_limits_are_refused(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
