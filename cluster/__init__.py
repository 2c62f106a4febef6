"""The deterministic simulation of a Kubernetes cluster.

Plain Python: no Django, no event-loop server, no wall clock, no global random generator.
`cluster.Cluster` is the small interface the dashboard drives (see cluster/cluster.py).
"""
