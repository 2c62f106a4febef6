"""Clusterscope benchmarks: `make bench` (or `python -m bench [name ...]`) prints one table.

Speed and memory are measured here, never in timed tests. Each row is a figure measured
in this run, next to a reference measured side by side in the same run where one exists.
Results and the machine they ran on are recorded in bench/RESULTS.md.
"""
