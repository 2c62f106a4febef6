"""Run the benchmarks and print one table: python -m bench [name ...]"""

import platform
import sys

from . import apiserver, etcd, history, kernel, scenarios, scheduler
from .table import render

BENCHMARKS = {"kernel": kernel.run, "etcd": etcd.run, "scheduler": scheduler.run, "apiserver": apiserver.run, "scenarios": scenarios.run, "history": history.run}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    rows = []
    for name in names:
        rows += BENCHMARKS[name]()
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, {platform.platform()}")
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
