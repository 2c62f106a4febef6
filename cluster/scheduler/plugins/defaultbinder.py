"""DefaultBinder (Bind): a Binding to the pods/binding subresource of the API server.
The scheduler never tells a kubelet anything: the kubelet learns of the pod from its own
watch once spec.nodeName is set."""

from ..framework.interface import Plugin


class DefaultBinder(Plugin):
    NAME = "DefaultBinder"

    def bind(self, state, pod, node: str) -> dict:
        return {
            "verb": "create", "group": "", "version": "v1", "resource": "pods", "subresource": "binding",
            "namespace": pod.namespace, "name": pod.name,
            "body": {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid},
                     "target": {"apiVersion": "v1", "kind": "Node", "name": node}},
        }
