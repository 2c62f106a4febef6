"""ImageLocality (Score): prefer nodes that already hold the pod's images, weighted by how
widespread each image is (so one node holding a popular image does not attract every pod):

    sum       = Σ over the pod's containers of  size(image on node) × nodes_with_image / all_nodes
    clamped   = min(max(sum, 23 MiB), 1000 MiB × containers)
    score     = 100 × (clamped − 23 MiB) / (1000 MiB × containers − 23 MiB)      (integer division)

Images are compared by normalized name (a name without a tag is ":latest").
"""

from ..framework.interface import Plugin

MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB


def calculate_priority(total: int, containers: int) -> int:
    max_threshold = MAX_CONTAINER_THRESHOLD * containers
    if total < MIN_THRESHOLD:
        total = MIN_THRESHOLD
    elif total > max_threshold:
        total = max_threshold
    return 100 * (total - MIN_THRESHOLD) // (max_threshold - MIN_THRESHOLD)


class ImageLocality(Plugin):
    NAME = "ImageLocality"

    def score(self, state, pod, node) -> int:
        snapshot = self.handle.snapshot
        all_nodes = snapshot.node_count()
        total = 0
        for image in pod.images:
            size = node.images.get(image)
            if size is not None:
                # scaledImageScore: int64(float64(size) * spread), spread a float64 ratio.
                total += int(size * (snapshot.image_nodes.get(image, 0) / all_nodes))
        return calculate_priority(total, max(1, pod.containers))

    def score_nodes(self, state, pod, nodes) -> list:
        snapshot = self.handle.snapshot
        all_nodes = snapshot.node_count()
        spreads = [(image, snapshot.image_nodes.get(image, 0) / all_nodes) for image in pod.images]
        containers = max(1, pod.containers)
        floor = calculate_priority(0, containers)
        if not any(spread for _image, spread in spreads):
            return [floor] * len(nodes)  # no node holds any of the pod's images
        out = []
        for node in nodes:
            images = node.images
            if not images:
                out.append(floor)
                continue
            total = 0
            for image, spread in spreads:
                size = images.get(image)
                if size is not None:
                    total += int(size * spread)
            out.append(calculate_priority(total, containers))
        return out
