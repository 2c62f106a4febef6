"""Clients that stand for the people and tools outside the cluster (etcdctl, kubectl)."""
