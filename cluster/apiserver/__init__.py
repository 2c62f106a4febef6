"""kube-apiserver in the simulation: the only etcd client, a pipeline of visible stages,
a watch cache, and the resource table the HTTP layer serves.

    from cluster.apiserver import build_apiserver, RESOURCES
    server = build_apiserver(sim, members, rbac_enabled=False, tokens=None, profile=profile)

Module map:
    server.py       the component: life cycle, parsing, authn, authz, responses, bootstrap, view
    reads.py        get, list, watch from the cache; fan-out, bookmarks; pod logs
    writes.py       the mutation engine (guarded etcd txns) and a transform per kind of write
    feed.py         the etcd client (retry, failover), the cache's etcd watch, compaction
    cache.py        the watch cache (objects + a window of recent events)
    resources.py    RESOURCES: group, version, kind, plural, scope, verbs, subresources, etcd prefix
    defaults.py     defaulting per kind          validation.py   422 rules per kind
    schema.py       known fields (fieldValidation)   validation_names.py  DNS names, label syntax
    admission.py    service IPs, ResourceQuota, PodDisruptionBudget
    rbac.py         RBAC authorizer and bootstrap roles
    patch.py        merge / strategic / JSON patch, server-side apply, managedFields
    tables.py       server-side printing (Table), ages, pod status
    selectors.py    label and field selectors
    status.py       every Status error          meta.py  time, uids, JSON helpers
    PROTOCOL.md     the message protocol clients speak
"""

from .resources import BY_KIND, BY_RESOURCE, RESOURCES, api_version, lookup
from .server import NAME, APIServer, build_apiserver

__all__ = ["APIServer", "BY_KIND", "BY_RESOURCE", "NAME", "RESOURCES", "api_version", "build_apiserver", "lookup"]
