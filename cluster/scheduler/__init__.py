"""kube-scheduler in the simulation.

    framework/   the plugin framework: Status, PodInfo/NodeInfo, profiles, the cycle runner
    plugins/     the in-tree plugins, one module each, and the registry IN_TREE
    cache.py     nodes and the pods on them (assumed pods too), kept from watch events
    queue.py     activeQ, backoffQ and the unschedulable pool, moved by cluster events
    records.py   a decision record for every attempt, bounded
    component.py the `kube-scheduler` component: informers, cycles, binding, events
    scale.py     the headless scale run (and its benchmark)
"""
