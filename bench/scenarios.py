"""Built-in lessons in fast mode: how long each takes to play headless, per timing profile.

Per lesson: CPU seconds (wall seconds also count other processes' turns on a shared
machine), the virtual time it covers and the events it produces; the reference is real time,
so the ratio says how many times faster than a live class the lesson plays (what CI and a
fast REST run cost).
"""

import time

from cluster.scenario import builtin, run_fast

from .table import Row


def run() -> list[Row]:
    rows = []
    total_cpu = 0.0
    for lesson_id, scenario in builtin().items():
        for profile in ("realistic", "teaching"):
            wall, cpu = time.perf_counter(), time.process_time()
            result = run_fast(scenario, profile=profile)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            total_cpu += cpu
            report = result.report()
            events = sum(c.last_seq for c in result.clusters.values())
            assertions = sum(len(s["assertions"]) for s in report["steps"])
            rows.append(Row(
                f"lesson {lesson_id} ({profile})",
                f"{cpu:.2f} CPU-s",
                f"{report['time']:.1f} virtual s",
                f"{report['time'] / max(cpu, 1e-9):.0f}x real time",
                f"{wall:.2f} wall s; {events:,} events; {len(report['steps'])} steps, {assertions} assertions, {'passed' if report['passed'] else 'FAILED'}",
            ))
    rows.append(Row("lessons: every one, both profiles", f"{total_cpu:.1f} CPU-s", "", "", "the cost of tests/cluster/scenario/test_lessons.py's runs"))
    return rows
