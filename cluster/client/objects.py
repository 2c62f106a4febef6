"""Small, pure helpers over API objects that every client needs: keys, owners, selectors.

    key_of(pod)                       "default/web-7d9f-abcde" (cluster-scoped: just the name)
    split_key("default/web")          ("default", "web");  split_key("node-1") -> (None, "node-1")
    controller_of(pod)                the ownerReference with controller: true, or None
    owned_by(pod, "a1b2...")          True when an ownerReference names that uid
    selector_matches(rs["spec"]["selector"], pod_labels)    metav1.LabelSelector semantics
    is_pod_ready(pod), is_pod_active(pod), is_terminating(obj)

Objects handed out by an informer are the cache's own: copy (`copy_json`) before changing one.
"""

from ..apiserver.meta import copy_json, dig, meta_of, parse_time, rfc3339
from ..apiserver.selectors import labels_match, selector_from_label_selector, selector_string

__all__ = [
    "controller_of", "copy_json", "dig", "is_pod_active", "is_pod_ready", "is_terminating", "key_of", "meta_of",
    "owned_by", "owner_ref", "parse_time", "rfc3339", "rv_int", "selector_matches", "selector_string", "split_key",
]


def key_of(obj: dict) -> str:
    meta = meta_of(obj)
    namespace = meta.get("namespace")
    return f"{namespace}/{meta.get('name')}" if namespace else str(meta.get("name"))


def split_key(key: str) -> tuple[str | None, str]:
    if "/" in key:
        namespace, name = key.split("/", 1)
        return namespace, name
    return None, key


def rv_int(obj) -> int:
    try:
        return int(meta_of(obj).get("resourceVersion") or 0)
    except (TypeError, ValueError):
        return 0


def controller_of(obj: dict) -> dict | None:
    for ref in meta_of(obj).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return ref
    return None


def owned_by(obj: dict, uid: str) -> bool:
    return any(isinstance(ref, dict) and ref.get("uid") == uid for ref in meta_of(obj).get("ownerReferences") or [])


def owner_ref(owner: dict, *, controller: bool = True, block: bool = True) -> dict:
    """An ownerReference to `owner` (as controllers set on what they create)."""
    meta = meta_of(owner)
    return {
        "apiVersion": owner.get("apiVersion"), "kind": owner.get("kind"), "name": meta.get("name"), "uid": meta.get("uid"),
        "controller": controller, "blockOwnerDeletion": block,
    }


def selector_matches(selector, labels) -> bool:
    """metav1.LabelSelector semantics: an empty selector matches everything, a malformed one nothing."""
    if isinstance(selector, dict) and not selector.get("matchLabels") and not selector.get("matchExpressions"):
        return True
    reqs = selector_from_label_selector(selector)
    if reqs is None:
        return False
    return labels_match(reqs, labels if isinstance(labels, dict) else {})


def is_terminating(obj: dict) -> bool:
    return bool(meta_of(obj).get("deletionTimestamp"))


def is_pod_active(pod: dict) -> bool:
    """Not finished and not being deleted (what controllers count towards replicas)."""
    return dig(pod, "status", "phase") not in ("Succeeded", "Failed") and not is_terminating(pod)


def is_pod_ready(pod: dict) -> bool:
    for condition in dig(pod, "status", "conditions", default=[]) or []:
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False
