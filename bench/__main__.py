"""Run the benchmarks and print one table: python -m bench [--quick] [name ...]"""

import os
import platform
import sys

from . import apiserver, browser, classroom, etcd, fanout, history, kernel, scale, scaleout, scenarios, scheduler
from .table import Row, render

BENCHMARKS = {"classroom": classroom.run, "kernel": kernel.run, "etcd": etcd.run, "scheduler": scheduler.run, "apiserver": apiserver.run, "scenarios": scenarios.run, "history": history.run, "scaleout": scaleout.run, "fanout": fanout.run, "scale": scale.run, "browser": browser.run}


def main(argv: list[str]) -> int:
    if "--quick" in argv:  # smaller sizes where a benchmark has them (scale: 500 nodes, 15,000 pods)
        argv = [a for a in argv if a != "--quick"]
        os.environ["CLUSTERSCOPE_BENCH_QUICK"] = "1"
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    rows = []
    for name in names:
        try:
            rows += BENCHMARKS[name]()
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not lose the others' rows
            rows.append(Row(f"{name}: FAILED", type(exc).__name__, "", "", str(exc)[:300]))
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, {platform.platform()}")
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
