"""The in-tree plugins, one module each, and IN_TREE: the registry of plugins by name.

    prioritysort        PrioritySort (QueueSort)           schedulinggates   SchedulingGates (PreEnqueue)
    nodeunschedulable   NodeUnschedulable (Filter)         nodename          NodeName (Filter)
    tainttoleration     TaintToleration (Filter, Score)    nodeaffinity      NodeAffinity (PreFilter, Filter, Score)
    nodeports           NodePorts (PreFilter, Filter)      noderesources/    NodeResourcesFit, NodeResourcesBalancedAllocation
    podtopologyspread   PodTopologySpread                  interpodaffinity  InterPodAffinity
    imagelocality       ImageLocality (Score)              defaultpreemption DefaultPreemption (PostFilter)
    defaultbinder       DefaultBinder (Bind)
"""

from .defaultbinder import DefaultBinder
from .defaultpreemption import DefaultPreemption
from .imagelocality import ImageLocality
from .interpodaffinity import InterPodAffinity
from .nodeaffinity import NodeAffinity
from .nodename import NodeName
from .nodeports import NodePorts
from .noderesources import BalancedAllocation, Fit
from .nodeunschedulable import NodeUnschedulable
from .podtopologyspread import PodTopologySpread
from .prioritysort import PrioritySort
from .schedulinggates import SchedulingGates
from .tainttoleration import TaintToleration

IN_TREE = {
    cls.NAME: cls
    for cls in (
        SchedulingGates, PrioritySort, NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts, Fit,
        PodTopologySpread, InterPodAffinity, DefaultPreemption, BalancedAllocation, ImageLocality, DefaultBinder,
    )
}

__all__ = ["IN_TREE"]
