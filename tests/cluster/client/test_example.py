"""The worked example in cluster/client/__init__.py runs as written."""

import textwrap

import cluster.client

from ..apiserver.harness import Harness, pod


def example_class():
    doc = cluster.client.__doc__
    start = doc.index("    from cluster.client import ApiClient")
    end = doc.index("Reading the cache:")
    namespace = {}
    exec(textwrap.dedent(doc[start:end]), namespace)  # noqa: S102 - our own documentation
    return namespace["PodLabeler"]


def test_the_documented_pod_labeler_labels_every_pod_once():
    h = Harness()
    h.create("pods", pod("a"), namespace="default")
    labeler = h.sim.add(example_class()(h.sim, "labeler"))
    h.run(2)
    h.create("pods", pod("b"), namespace="default")
    h.run(2)
    items = h.list("pods", namespace="default")["body"]["items"]
    assert {i["metadata"]["name"]: i["metadata"]["labels"] for i in items} == {"a": {"seen": "yes"}, "b": {"seen": "yes"}}
    reconciles = [e["summary"] for e in h.sim.log.events if e["kind"] == "controller.reconcile"]
    assert reconciles == ["labeled default/a", "labeled default/b"]
    assert labeler.queue.view()["processed"] >= 2
