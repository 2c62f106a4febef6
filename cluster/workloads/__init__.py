"""The simulated programs containers run, chosen by image and command (catalogue.py).

A process is plain data (a dict) that the container runtime keeps with the container; the
functions here advance it. See catalogue.py for the list of workloads and their flags.
"""

from .catalogue import describe, exec_probe, plan, serve, signal, start, wake

__all__ = ["describe", "exec_probe", "plan", "serve", "signal", "start", "wake"]
