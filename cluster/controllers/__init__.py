"""kube-controller-manager and its control loops.

    from cluster.controllers import build_controller_manager
    [cm] = build_controller_manager(sim)                  # endpoint "kube-controller-manager"
    build_controller_manager(sim, replicas=2)             # + "kube-controller-manager-2": one leads

Module map (one module per loop, each talking to the cluster only through the API server):
    manager.py            the component: shared ApiClient and informers, loops, leadership, view
    leaderelection.py     Lease kube-system/kube-controller-manager: acquire, renew, hand over
    base.py               Controller base, Expectations, claiming, pods from templates, taints
    replicaset.py         pods = replicas, adoption and release by selector
    deployment.py         ReplicaSets by pod-template-hash, RollingUpdate, Recreate, revisions, undo
    daemonset.py          one pod per eligible node, placed by the scheduler (node affinity)
    job.py                pods to completion: completions, parallelism, backoffLimit
    endpoints.py          Service selector → Endpoints (ready and not-ready addresses)
    endpointslice.py      the same as EndpointSlices owned by the Service
    namespace.py          empty a terminating namespace, then remove its finalizer
    garbagecollector.py   owner graph; Background, Foreground, Orphan; dangling dependents
    nodelifecycle.py      heartbeats, Unknown after the grace period, taints, evictions
    podgc.py              terminated-pod threshold, pods of vanished nodes
    eventgc.py            Events after their TTL

Events (source: the controller-manager): controller.reconcile {controller, key, action, ...}
for what a sync saw and did; controller.leader (leadership changes); controller.claim
(adoption and release); controller.evict (one per evicted pod); controller.retry /
controller.error / controller.request_retry (see cluster/client); controller.resync,
watch.list, watch.relist, watch.relisted, watch.restart, watch.backoff from its informers.
"""

from .daemonset import DaemonSetController
from .deployment import DeploymentController
from .endpoints import EndpointsController
from .endpointslice import EndpointSliceController
from .eventgc import EventGCController
from .garbagecollector import GarbageCollector
from .job import JobController
from .manager import NAME, ControllerManager, build_controller_manager
from .namespace import NamespaceController
from .nodelifecycle import NodeLifecycleController
from .podgc import PodGCController
from .replicaset import ReplicaSetController

LOOPS = {
    cls.name: cls
    for cls in (
        DeploymentController, ReplicaSetController, DaemonSetController, JobController, EndpointsController, EndpointSliceController,
        NamespaceController, GarbageCollector, NodeLifecycleController, PodGCController, EventGCController,
    )
}

__all__ = ["LOOPS", "NAME", "ControllerManager", "build_controller_manager"]
