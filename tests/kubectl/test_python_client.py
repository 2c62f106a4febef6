"""The official Python client (`kubernetes` 37.0.2) against a simulated cluster: list, create,
patch, delete, watch from a resourceVersion (and 410 Expired), bearer tokens with RBAC on.
The client sends JSON without a Content-Type and expects plain JSON back (no discovery, no
Table); see shared/k8s-api-contract.md section 11."""

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client, watch  # noqa: E402
from kubernetes.client.rest import ApiException  # noqa: E402


def api_client(server, cluster, token=None):
    config = client.Configuration(host=f"{server.url}/k8s/{cluster}")
    if token:
        config.api_key = {"authorization": f"Bearer {token}"}
    return client.ApiClient(config)


def pod(name, **labels):
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name, labels=labels or None), spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx")]))


@pytest.fixture(scope="module")
def apis(server):
    name = server.cluster("py", speed=100, keep=True)
    api = api_client(server, name)
    yield name, client.CoreV1Api(api), client.AppsV1Api(api)
    api.close()
    server.delete(name)


def test_list_create_patch_delete(apis):
    _, core, _ = apis
    assert core.list_namespaced_pod("default").items == []
    created = core.create_namespaced_pod("default", pod("py-1", app="py"))
    assert created.metadata.name == "py-1" and created.metadata.uid and int(created.metadata.resource_version) > 0
    listed = core.list_namespaced_pod("default", label_selector="app=py")
    assert [p.metadata.name for p in listed.items] == ["py-1"] and int(listed.metadata.resource_version) >= int(created.metadata.resource_version)
    patched = core.patch_namespaced_pod("py-1", "default", {"metadata": {"labels": {"patched": "yes"}}})  # strategic merge
    assert patched.metadata.labels == {"app": "py", "patched": "yes"}
    with pytest.raises(ApiException) as exists:
        core.create_namespaced_pod("default", pod("py-1"))
    assert exists.value.status == 409 and '"reason":"AlreadyExists"' in exists.value.body
    deleted = core.delete_namespaced_pod("py-1", "default", body=client.V1DeleteOptions(propagation_policy="Background"))
    assert deleted.metadata.name == "py-1"
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod("py-1", "default")
    assert missing.value.status == 404


def test_deployment_and_its_scale_subresource(apis):
    _, _, apps = apis
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "py-web"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "py-web"}},
                     "template": {"metadata": {"labels": {"app": "py-web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}
    apps.create_namespaced_deployment("default", body)
    scale = apps.patch_namespaced_deployment_scale("py-web", "default", {"spec": {"replicas": 4}})
    assert scale.kind == "Scale" and scale.spec.replicas == 4
    assert apps.read_namespaced_deployment("py-web", "default").spec.replicas == 4
    with pytest.raises(ApiException) as invalid:
        apps.create_namespaced_deployment("default", {**body, "metadata": {"name": "Bad_Name"}})
    assert invalid.value.status == 422 and '"reason":"Invalid"' in invalid.value.body


def test_watch_from_a_resource_version(apis):
    _, core, _ = apis
    start = core.list_namespaced_pod("default").metadata.resource_version
    core.create_namespaced_pod("default", pod("w-1"))
    core.patch_namespaced_pod("w-1", "default", {"metadata": {"labels": {"step": "2"}}})
    core.delete_namespaced_pod("w-1", "default")
    w = watch.Watch()
    seen = []
    for event in w.stream(core.list_namespaced_pod, "default", resource_version=start, timeout_seconds=60):
        seen.append((event["type"], event["object"].metadata.name, (event["object"].metadata.labels or {}).get("step")))
        if event["type"] == "DELETED":
            w.stop()
    # The scheduler may update the pod too (PodScheduled=False: no node fits) between these.
    assert seen[0] == ("ADDED", "w-1", None) and seen[-1][:2] == ("DELETED", "w-1")
    assert ("MODIFIED", "w-1", "2") in seen and all(name == "w-1" for _, name, _ in seen)
    assert int(w.resource_version) > int(start)


def test_watch_and_list_from_a_compacted_resource_version_get_410(server, apis):
    name, core, _ = apis
    server.wait_compacted(name)
    with pytest.raises(ApiException) as on_watch:
        for _ in watch.Watch().stream(core.list_namespaced_pod, "default", resource_version="1", timeout_seconds=30):
            pass
    assert on_watch.value.status == 410 and "Expired" in on_watch.value.reason
    with pytest.raises(ApiException) as on_list:
        core.list_namespaced_pod("default", resource_version="1", resource_version_match="Exact")
    assert on_list.value.status == 410 and on_list.value.reason == "Gone"


def test_a_watch_that_times_out_ends_quietly(apis):
    _, core, _ = apis
    start = core.list_namespaced_pod("default").metadata.resource_version
    # timeoutSeconds is virtual time: 2 virtual seconds pass in well under a wall second at speed 50.
    assert list(watch.Watch().stream(core.list_namespaced_pod, "default", resource_version=start, timeout_seconds=2)) == []


def test_rbac_answers_anonymous_and_unknown_tokens(server):
    name = server.cluster("rbac", rbac=True)
    anonymous = api_client(server, name)
    stranger = api_client(server, name, token="not-a-token")
    try:
        with pytest.raises(ApiException) as forbidden:
            client.CoreV1Api(anonymous).list_namespaced_pod("default")
        assert forbidden.value.status == 403 and 'User \\"system:anonymous\\" cannot list resource \\"pods\\"' in forbidden.value.body
        with pytest.raises(ApiException) as unauthorized:
            client.CoreV1Api(stranger).list_namespaced_pod("default")
        assert unauthorized.value.status == 401 and '"reason":"Unauthorized"' in unauthorized.value.body
    finally:
        anonymous.close()
        stranger.close()
