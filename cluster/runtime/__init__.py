"""The container runtime of a node: containerd (high level: images, the CRI API, sandboxes,
containers) over runc (low level: namespaces, cgroups, the process).

    containerd.py   the `node-N/containerd` component and its CRI-like message protocol
    runc.py         namespaces, cgroups and limits as plain data
    images.py       the registry: images, shared layers, references, missing images
    units.py        quantities (cpu millicores, memory bytes)
    PROTOCOL.md     the messages between the kubelet and containerd
"""

from .containerd import RUNTIME_VERSION, TIMING, Containerd
from .images import PAUSE_IMAGE, parse_reference, resolve, short_name

__all__ = ["Containerd", "PAUSE_IMAGE", "RUNTIME_VERSION", "TIMING", "parse_reference", "resolve", "short_name"]
