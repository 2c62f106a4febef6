"""The demo cluster the server starts with: a small application already on its way, so a
first visitor sees every part move within seconds (a Deployment of three replicas behind
a Service). It enters like everything else, as recorded commands."""

from cluster.cluster import Cluster

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}], "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]},
        },
    },
}

SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80, "protocol": "TCP"}]},
}


def seed(cluster: Cluster) -> None:
    for group, resource, body in (("apps", "deployments", DEPLOYMENT), ("", "services", SERVICE)):
        cluster.command({"type": "kube", "verb": "create", "group": group, "version": "v1", "resource": resource, "namespace": "default", "body": body})
