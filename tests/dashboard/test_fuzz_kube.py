"""The Kubernetes API of a running simulated cluster fuzzed with generated objects and mutations of
them (Hypothesis, fixed seed, small budget): malformed JSON and YAML, protobuf garbage, wrong
types, unknown fields, huge numbers, NaN and Infinity, invalid unicode, deep nesting, bad label
keys and values, oversized annotations. Every answer is below 500 and every error a Status; a
rejected object is not stored and the ConfigMaps already there are untouched; nothing is logged
at ERROR level."""

import json
import logging

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.asyncio

CLUSTER = "fuzz"
BASE = f"/k8s/{CLUSTER}/api/v1/namespaces/default/configmaps"
EXAMPLES_PER_MUTATION = 3

dns_label = st.from_regex(r"\A[a-z][a-z0-9-]{0,20}[a-z0-9]\Z")
label_value = st.from_regex(r"\A([A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?)?\Z")
configmap = st.builds(
    lambda name, labels, annotations, data: {"apiVersion": "v1", "kind": "ConfigMap",
                                             "metadata": {"name": "fz-" + name, "labels": labels, "annotations": annotations}, "data": data},
    dns_label, st.dictionaries(dns_label, label_value, max_size=3), st.dictionaries(dns_label, st.text(max_size=40), max_size=3),
    st.dictionaries(dns_label, st.text(max_size=40), max_size=3),
)
wrong_value = st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none(),
                        st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2), st.text(max_size=20))
FIELDS = [("metadata", "name"), ("metadata", "labels"), ("metadata", "annotations"), ("metadata", "namespace"), ("metadata", "resourceVersion"),
          ("metadata", "generation"), ("metadata", "uid"), ("metadata", "finalizers"), ("metadata", "ownerReferences"), ("data",), ("binaryData",),
          ("kind",), ("apiVersion",), ("immutable",)]


def _set(obj: dict, path: tuple, value) -> dict:
    target = obj
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value
    return obj


MUTATIONS = ["valid", "wrong type", "unknown field", "huge number", "nan", "bad unicode", "deep", "truncated", "bad yaml", "bad label",
             "big annotation", "protobuf garbage", "not an object"]


@st.composite
def mutated(draw, kind: str):
    """(content type, body bytes, the object's name or None) for one POST."""
    obj = draw(configmap)
    name = obj["metadata"]["name"]
    as_yaml = draw(st.booleans())
    json_type, yaml_type = "application/json", "application/yaml"
    if kind == "wrong type":
        _set(obj, draw(st.sampled_from(FIELDS)), draw(wrong_value))
    elif kind == "unknown field":
        _set(obj, draw(st.sampled_from([("metadata",), (), ("spec",)])) + (draw(dns_label),), draw(wrong_value))
    elif kind == "huge number":
        field = draw(st.sampled_from(["generation", "deletionGracePeriodSeconds"]))
        raw = json.dumps(_set(obj, ("metadata", field), "HUGE")).replace('"HUGE"', "9" * draw(st.integers(20, 5000)))
        return json_type, raw.encode(), name
    elif kind == "nan":
        token = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999"]))
        return (yaml_type if as_yaml else json_type), json.dumps(obj).replace('"data": {', f'"data": {{"n": {token}, ', 1).encode(), name
    elif kind == "bad unicode":
        raw = json.dumps(obj).encode()
        garbage = draw(st.sampled_from([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\\ud800", b"\x00"]))
        at = raw.index(b'"fz-') + 4
        return (yaml_type if as_yaml else json_type), raw[:at] + garbage + raw[at:], name
    elif kind == "deep":
        depth = draw(st.integers(50, 5000))  # written as text: json.dumps itself would recurse too deep
        _set(obj, ("metadata", draw(st.sampled_from(["annotations", "labels", "ownerReferences"]))), "DEEP")
        raw = json.dumps(obj).replace('"DEEP"', '{"a": [' * depth + '"leaf"' + "]}" * depth)
        return (yaml_type if as_yaml else json_type), raw.encode(), name
    elif kind == "truncated":
        raw = json.dumps(obj).encode()
        return json_type, raw[: draw(st.integers(0, len(raw) - 1))], name
    elif kind == "bad yaml":
        text = draw(st.sampled_from(["metadata: [unclosed", "a: &x [*x]", "\t- tab\n:", "? ? ?", "metadata:\n  name: !!python/object:os.system x",
                                     "kind: ConfigMap\nmetadata: {name: fz-y, labels: &l {a: b}, annotations: *l}", "- - - -", "{]"]))
        return yaml_type, text.encode(), None
    elif kind == "bad label":
        key, value = draw(st.sampled_from([("a" * 64, "v"), ("-lead", "v"), ("k", "v" * 64), ("k", "bad value"), ("a/b/c", "v"), ("", "v"),
                                           ("x" * 254 + "/k", "v"), ("k", "-trail-"), ("k", "<script>")]))
        obj["metadata"]["labels"] = {key: value}
    elif kind == "big annotation":
        obj["metadata"]["annotations"] = {"big": "x" * draw(st.integers(256 * 1024, 300 * 1024))}
    elif kind == "protobuf garbage":
        return "application/vnd.kubernetes.protobuf", b"k8s\x00" + draw(st.binary(max_size=64)), name
    elif kind == "not an object":
        return json_type, json.dumps(draw(st.one_of(st.lists(st.integers(), max_size=3), st.integers(), st.text(max_size=10), st.none()))).encode(), None
    if as_yaml:
        return yaml_type, yaml.safe_dump(obj, allow_unicode=True).encode(), name
    return json_type, json.dumps(obj).encode(), name


async def configmaps(client) -> dict:
    response = await client.get(BASE)
    assert response.status_code == 200, response.content[:300]
    return {item["metadata"]["name"]: item["metadata"]["resourceVersion"] for item in response.json()["items"]}


@pytest.fixture
async def running(async_client, registry):
    response = await async_client.post("/api/clusters", data=json.dumps({"name": CLUSTER, "profile": "realistic", "speed": 100, "nodes": 1, "seed": 14}),
                                       content_type="application/json")
    assert response.status_code == 201
    await async_client.post(BASE, data=json.dumps({"metadata": {"name": "already-there"}, "data": {"k": "v"}}), content_type="application/json")
    return async_client


@pytest.mark.parametrize("mutation", MUTATIONS)
@seed(14)
@settings(max_examples=EXAMPLES_PER_MUTATION, deadline=None, database=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_fuzzed_objects_get_a_status_and_rejected_ones_change_nothing(running, caplog, mutation, data):
    caplog.set_level(logging.ERROR)
    caplog.clear()
    content_type, body, name = data.draw(mutated(mutation))
    before = await configmaps(running)
    response = await running.post(BASE, data=body, content_type=content_type)
    assert response.status_code < 500, (response.status_code, body[:200], response.content[:300])
    if response.status_code >= 400:
        status = response.json()
        assert (status["kind"], status["code"]) == ("Status", response.status_code) and status["message"], status
        after = await configmaps(running)
        if name is not None and name not in before:
            assert name not in after
        assert {k: v for k, v in after.items() if k in before} == before
    elif name is not None:  # accepted: remove it so the next example starts alike
        await running.delete(f"{BASE}/{name}")
    # An exception anywhere, or an ERROR line other than django.request's note of a documented 503.
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and (r.exc_info or r.name != "django.request")]
    assert not errors, [r.getMessage() for r in errors]
