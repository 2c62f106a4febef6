"""Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).

kubectl 1.32's typed clients (`create deployment|namespace|configmap|secret|service|job|
cronjob|role|rolebinding|serviceaccount|quota`, and drain's DELETE when eviction is not
advertised) send their objects in protobuf, never JSON, and do not retry in JSON after a 415.
This module turns such a body into the JSON-shaped dict the API server takes.

The envelope (shared/k8s-api-contract.md section 9):

    6b 38 73 00                 "k8s\\0", the magic prefix
    runtime.Unknown {
      1 typeMeta  {1 apiVersion, 2 kind}
      2 raw       the object's own message (bytes)
      3 contentEncoding, 4 contentType   (empty)
    }

A worked example: `kubectl create namespace team-a` sends

    6b387300 0a0f 0a027631 12094e616d657370616365      typeMeta {apiVersion "v1", kind "Namespace"}
             121e 0a16 0a067465616d2d61 1200 1a00 2200 ...  raw: Namespace {metadata {name "team-a",
                                                              generateName "", namespace "", ...}}

which decodes to {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}.

Go's generated marshallers write every non-pointer field, zero or not (`generateName ""`,
`generation 0`, `stdin false`, `resources {}`), and pointer fields only when set. JSON
omits those zeros, so the decoder prunes them: zero scalars, empty lists, maps and messages are
dropped unless the field is a pointer in Go (marked `keep` below: `replicas: 0` and
`emptyDir: {}` mean something).

The tables hold field numbers, names and types for the kinds kubectl sends, transcribed from
the public generated.proto files of k8s.io/api (core/v1, apps/v1, batch/v1, rbac/v1) and
k8s.io/apimachinery (meta/v1, runtime, intstr, resource). Proto field names equal the JSON
names. Fields not in the tables are skipped, as Go's decoder skips unknown fields.
Anything malformed raises ProtobufError (the HTTP layer answers 400 BadRequest).
"""

import base64
import json
from datetime import UTC, datetime

MAGIC = b"k8s\x00"
MAX_DEPTH = 48  # the deepest built-in object nests about 12 messages
MAX_BYTES = 3 * 1024 * 1024  # the real API server's request size limit


class ProtobufError(ValueError):
    """The body is not a protobuf encoding of a kind this server decodes."""


class UnsupportedKind(ProtobufError):
    """A well-formed envelope around a kind with no table here (answered 415)."""


# --- field types ---------------------------------------------------------------------
STRING, INT, BOOL, BYTES, TIME, MICROTIME, QUANTITY, INT_OR_STRING, JSON_BYTES = (
    "string", "int", "bool", "bytes", "time", "microtime", "quantity", "intorstring", "jsonbytes")
SCALARS = {STRING, INT, BOOL, BYTES}


class F:
    """One field: its JSON name, its type (a scalar type above, a message name in MESSAGES,
    or ("map", value type)), and how it appears in Go."""

    __slots__ = ("name", "type", "repeated", "keep", "inline")

    def __init__(self, name: str, type_, *, rep: bool = False, keep: bool = False, inline: bool = False):
        self.name, self.type, self.repeated, self.keep, self.inline = name, type_, rep, keep, inline


def _map(value_type) -> tuple:
    return ("map", value_type)


MAP_STRING = _map(STRING)

# Field tables, keyed by message name. Comments name the proto file each comes from.
MESSAGES: dict[str, dict[int, F]] = {
    # k8s.io/apimachinery/pkg/apis/meta/v1
    "ObjectMeta": {
        1: F("name", STRING), 2: F("generateName", STRING), 3: F("namespace", STRING), 4: F("selfLink", STRING),
        5: F("uid", STRING), 6: F("resourceVersion", STRING), 7: F("generation", INT), 8: F("creationTimestamp", TIME),
        9: F("deletionTimestamp", TIME, keep=True), 10: F("deletionGracePeriodSeconds", INT, keep=True),
        11: F("labels", MAP_STRING), 12: F("annotations", MAP_STRING), 13: F("ownerReferences", "OwnerReference", rep=True),
        14: F("finalizers", STRING, rep=True), 17: F("managedFields", "ManagedFieldsEntry", rep=True),
    },
    "OwnerReference": {
        5: F("apiVersion", STRING), 1: F("kind", STRING), 3: F("name", STRING), 4: F("uid", STRING),
        6: F("controller", BOOL, keep=True), 7: F("blockOwnerDeletion", BOOL, keep=True),
    },
    "ManagedFieldsEntry": {
        1: F("manager", STRING), 2: F("operation", STRING), 3: F("apiVersion", STRING), 4: F("time", TIME),
        6: F("fieldsType", STRING), 7: F("fieldsV1", "FieldsV1", keep=True), 8: F("subresource", STRING),
    },
    "FieldsV1": {1: F("Raw", JSON_BYTES)},
    "LabelSelector": {1: F("matchLabels", MAP_STRING), 2: F("matchExpressions", "LabelSelectorRequirement", rep=True)},
    "LabelSelectorRequirement": {1: F("key", STRING), 2: F("operator", STRING), 3: F("values", STRING, rep=True)},
    "DeleteOptions": {
        1: F("gracePeriodSeconds", INT, keep=True), 2: F("preconditions", "Preconditions", keep=True),
        3: F("orphanDependents", BOOL, keep=True), 4: F("propagationPolicy", STRING, keep=True), 5: F("dryRun", STRING, rep=True),
    },
    "Preconditions": {1: F("uid", STRING, keep=True), 2: F("resourceVersion", STRING, keep=True)},
    # k8s.io/api/core/v1
    "Namespace": {1: F("metadata", "ObjectMeta"), 2: F("spec", "NamespaceSpec"), 3: F("status", "NamespaceStatus")},
    "NamespaceSpec": {1: F("finalizers", STRING, rep=True)},
    "NamespaceStatus": {1: F("phase", STRING)},
    "ConfigMap": {1: F("metadata", "ObjectMeta"), 4: F("immutable", BOOL, keep=True), 2: F("data", MAP_STRING), 3: F("binaryData", _map(BYTES))},
    "Secret": {
        1: F("metadata", "ObjectMeta"), 5: F("immutable", BOOL, keep=True), 2: F("data", _map(BYTES)),
        4: F("stringData", MAP_STRING), 3: F("type", STRING),
    },
    "ServiceAccount": {
        1: F("metadata", "ObjectMeta"), 2: F("secrets", "ObjectReference", rep=True),
        3: F("imagePullSecrets", "LocalObjectReference", rep=True), 4: F("automountServiceAccountToken", BOOL, keep=True),
    },
    "ResourceQuota": {1: F("metadata", "ObjectMeta"), 2: F("spec", "ResourceQuotaSpec"), 3: F("status", "ResourceQuotaStatus")},
    "ResourceQuotaSpec": {1: F("hard", _map(QUANTITY)), 2: F("scopes", STRING, rep=True), 3: F("scopeSelector", "ScopeSelector", keep=True)},
    "ResourceQuotaStatus": {1: F("hard", _map(QUANTITY)), 2: F("used", _map(QUANTITY))},
    "ScopeSelector": {1: F("matchExpressions", "ScopedResourceSelectorRequirement", rep=True)},
    "ScopedResourceSelectorRequirement": {1: F("scopeName", STRING), 2: F("operator", STRING), 3: F("values", STRING, rep=True)},
    "Service": {1: F("metadata", "ObjectMeta"), 2: F("spec", "ServiceSpec"), 3: F("status", "ServiceStatus")},
    "ServiceSpec": {
        1: F("ports", "ServicePort", rep=True), 2: F("selector", MAP_STRING), 3: F("clusterIP", STRING), 18: F("clusterIPs", STRING, rep=True),
        4: F("type", STRING), 5: F("externalIPs", STRING, rep=True), 7: F("sessionAffinity", STRING), 8: F("loadBalancerIP", STRING),
        9: F("loadBalancerSourceRanges", STRING, rep=True), 10: F("externalName", STRING), 11: F("externalTrafficPolicy", STRING),
        12: F("healthCheckNodePort", INT), 13: F("publishNotReadyAddresses", BOOL), 14: F("sessionAffinityConfig", "SessionAffinityConfig", keep=True),
        19: F("ipFamilies", STRING, rep=True), 17: F("ipFamilyPolicy", STRING, keep=True), 20: F("allocateLoadBalancerNodePorts", BOOL, keep=True),
        21: F("loadBalancerClass", STRING, keep=True), 22: F("internalTrafficPolicy", STRING, keep=True),
    },
    "ServicePort": {
        1: F("name", STRING), 2: F("protocol", STRING), 6: F("appProtocol", STRING, keep=True), 3: F("port", INT),
        4: F("targetPort", INT_OR_STRING), 5: F("nodePort", INT),
    },
    "SessionAffinityConfig": {1: F("clientIP", "ClientIPConfig", keep=True)},
    "ClientIPConfig": {1: F("timeoutSeconds", INT, keep=True)},
    "ServiceStatus": {1: F("loadBalancer", "LoadBalancerStatus")},
    "LoadBalancerStatus": {1: F("ingress", "LoadBalancerIngress", rep=True)},
    "LoadBalancerIngress": {1: F("ip", STRING), 2: F("hostname", STRING)},
    "Pod": {1: F("metadata", "ObjectMeta"), 2: F("spec", "PodSpec")},
    "PodTemplateSpec": {1: F("metadata", "ObjectMeta"), 2: F("spec", "PodSpec")},
    "PodSpec": {
        1: F("volumes", "Volume", rep=True), 20: F("initContainers", "Container", rep=True), 2: F("containers", "Container", rep=True),
        3: F("restartPolicy", STRING), 4: F("terminationGracePeriodSeconds", INT, keep=True), 5: F("activeDeadlineSeconds", INT, keep=True),
        6: F("dnsPolicy", STRING), 7: F("nodeSelector", MAP_STRING), 8: F("serviceAccountName", STRING), 9: F("serviceAccount", STRING),
        21: F("automountServiceAccountToken", BOOL, keep=True), 10: F("nodeName", STRING), 11: F("hostNetwork", BOOL),
        12: F("hostPID", BOOL), 13: F("hostIPC", BOOL), 27: F("shareProcessNamespace", BOOL, keep=True),
        14: F("securityContext", "PodSecurityContext", keep=True), 15: F("imagePullSecrets", "LocalObjectReference", rep=True),
        16: F("hostname", STRING), 17: F("subdomain", STRING), 19: F("schedulerName", STRING), 22: F("tolerations", "Toleration", rep=True),
        23: F("hostAliases", "HostAlias", rep=True), 24: F("priorityClassName", STRING), 25: F("priority", INT, keep=True),
        28: F("readinessGates", "PodReadinessGate", rep=True), 29: F("runtimeClassName", STRING, keep=True),
        30: F("enableServiceLinks", BOOL, keep=True), 31: F("preemptionPolicy", STRING, keep=True), 32: F("overhead", _map(QUANTITY)),
        35: F("setHostnameAsFQDN", BOOL, keep=True),
    },
    "Container": {
        1: F("name", STRING), 2: F("image", STRING), 3: F("command", STRING, rep=True), 4: F("args", STRING, rep=True),
        5: F("workingDir", STRING), 6: F("ports", "ContainerPort", rep=True), 19: F("envFrom", "EnvFromSource", rep=True),
        7: F("env", "EnvVar", rep=True), 8: F("resources", "ResourceRequirements"), 9: F("volumeMounts", "VolumeMount", rep=True),
        21: F("volumeDevices", "VolumeDevice", rep=True), 10: F("livenessProbe", "Probe", keep=True), 11: F("readinessProbe", "Probe", keep=True),
        22: F("startupProbe", "Probe", keep=True), 12: F("lifecycle", "Lifecycle", keep=True), 13: F("terminationMessagePath", STRING),
        20: F("terminationMessagePolicy", STRING), 14: F("imagePullPolicy", STRING), 15: F("securityContext", "SecurityContext", keep=True),
        16: F("stdin", BOOL), 17: F("stdinOnce", BOOL), 18: F("tty", BOOL),
    },
    "ContainerPort": {1: F("name", STRING), 2: F("hostPort", INT), 3: F("containerPort", INT), 4: F("protocol", STRING), 5: F("hostIP", STRING)},
    "EnvVar": {1: F("name", STRING), 2: F("value", STRING), 3: F("valueFrom", "EnvVarSource", keep=True)},
    "EnvVarSource": {
        1: F("fieldRef", "ObjectFieldSelector", keep=True), 2: F("resourceFieldRef", "ResourceFieldSelector", keep=True),
        3: F("configMapKeyRef", "ConfigMapKeySelector", keep=True), 4: F("secretKeyRef", "SecretKeySelector", keep=True),
    },
    "ObjectFieldSelector": {1: F("apiVersion", STRING), 2: F("fieldPath", STRING)},
    "ResourceFieldSelector": {1: F("containerName", STRING), 2: F("resource", STRING), 3: F("divisor", QUANTITY)},
    "ConfigMapKeySelector": {1: F("", "LocalObjectReference", inline=True), 2: F("key", STRING), 3: F("optional", BOOL, keep=True)},
    "SecretKeySelector": {1: F("", "LocalObjectReference", inline=True), 2: F("key", STRING), 3: F("optional", BOOL, keep=True)},
    "EnvFromSource": {1: F("prefix", STRING), 2: F("configMapRef", "ConfigMapEnvSource", keep=True), 3: F("secretRef", "SecretEnvSource", keep=True)},
    "ConfigMapEnvSource": {1: F("", "LocalObjectReference", inline=True), 2: F("optional", BOOL, keep=True)},
    "SecretEnvSource": {1: F("", "LocalObjectReference", inline=True), 2: F("optional", BOOL, keep=True)},
    "LocalObjectReference": {1: F("name", STRING)},
    "ObjectReference": {
        1: F("kind", STRING), 2: F("namespace", STRING), 3: F("name", STRING), 4: F("uid", STRING),
        5: F("apiVersion", STRING), 6: F("resourceVersion", STRING), 7: F("fieldPath", STRING),
    },
    "ResourceRequirements": {1: F("limits", _map(QUANTITY)), 2: F("requests", _map(QUANTITY))},
    "VolumeMount": {
        1: F("name", STRING), 2: F("readOnly", BOOL), 3: F("mountPath", STRING), 4: F("subPath", STRING),
        5: F("mountPropagation", STRING, keep=True), 6: F("subPathExpr", STRING),
    },
    "VolumeDevice": {1: F("name", STRING), 2: F("devicePath", STRING)},
    "Probe": {
        1: F("", "ProbeHandler", inline=True), 2: F("initialDelaySeconds", INT), 3: F("timeoutSeconds", INT), 4: F("periodSeconds", INT),
        5: F("successThreshold", INT), 6: F("failureThreshold", INT), 7: F("terminationGracePeriodSeconds", INT, keep=True),
    },
    "ProbeHandler": {1: F("exec", "ExecAction", keep=True), 2: F("httpGet", "HTTPGetAction", keep=True), 3: F("tcpSocket", "TCPSocketAction", keep=True)},
    "Lifecycle": {1: F("postStart", "ProbeHandler", keep=True), 2: F("preStop", "ProbeHandler", keep=True)},
    "ExecAction": {1: F("command", STRING, rep=True)},
    "HTTPGetAction": {1: F("path", STRING), 2: F("port", INT_OR_STRING), 3: F("host", STRING), 4: F("scheme", STRING), 5: F("httpHeaders", "HTTPHeader", rep=True)},
    "HTTPHeader": {1: F("name", STRING), 2: F("value", STRING)},
    "TCPSocketAction": {1: F("port", INT_OR_STRING), 2: F("host", STRING)},
    "SecurityContext": {
        1: F("capabilities", "Capabilities", keep=True), 2: F("privileged", BOOL, keep=True), 4: F("runAsUser", INT, keep=True),
        5: F("runAsNonRoot", BOOL, keep=True), 6: F("readOnlyRootFilesystem", BOOL, keep=True), 7: F("allowPrivilegeEscalation", BOOL, keep=True),
        8: F("runAsGroup", INT, keep=True), 9: F("procMount", STRING, keep=True), 11: F("seccompProfile", "SeccompProfile", keep=True),
    },
    "Capabilities": {1: F("add", STRING, rep=True), 2: F("drop", STRING, rep=True)},
    "SeccompProfile": {1: F("type", STRING), 2: F("localhostProfile", STRING, keep=True)},
    "PodSecurityContext": {
        2: F("runAsUser", INT, keep=True), 6: F("runAsGroup", INT, keep=True), 3: F("runAsNonRoot", BOOL, keep=True),
        4: F("supplementalGroups", INT, rep=True), 5: F("fsGroup", INT, keep=True), 7: F("sysctls", "Sysctl", rep=True),
        9: F("fsGroupChangePolicy", STRING, keep=True), 10: F("seccompProfile", "SeccompProfile", keep=True),
    },
    "Sysctl": {1: F("name", STRING), 2: F("value", STRING)},
    "Toleration": {1: F("key", STRING), 2: F("operator", STRING), 3: F("value", STRING), 4: F("effect", STRING), 5: F("tolerationSeconds", INT, keep=True)},
    "HostAlias": {1: F("ip", STRING), 2: F("hostnames", STRING, rep=True)},
    "PodReadinessGate": {1: F("conditionType", STRING)},
    "Volume": {1: F("name", STRING), 2: F("", "VolumeSource", inline=True)},
    "VolumeSource": {
        1: F("hostPath", "HostPathVolumeSource", keep=True), 2: F("emptyDir", "EmptyDirVolumeSource", keep=True),
        6: F("secret", "SecretVolumeSource", keep=True), 7: F("nfs", "NFSVolumeSource", keep=True),
        10: F("persistentVolumeClaim", "PersistentVolumeClaimVolumeSource", keep=True), 16: F("downwardAPI", "DownwardAPIVolumeSource", keep=True),
        19: F("configMap", "ConfigMapVolumeSource", keep=True), 26: F("projected", "ProjectedVolumeSource", keep=True),
    },
    "HostPathVolumeSource": {1: F("path", STRING), 2: F("type", STRING, keep=True)},
    "EmptyDirVolumeSource": {1: F("medium", STRING), 2: F("sizeLimit", QUANTITY, keep=True)},
    "SecretVolumeSource": {1: F("secretName", STRING), 2: F("items", "KeyToPath", rep=True), 3: F("defaultMode", INT, keep=True), 4: F("optional", BOOL, keep=True)},
    "NFSVolumeSource": {1: F("server", STRING), 2: F("path", STRING), 3: F("readOnly", BOOL)},
    "PersistentVolumeClaimVolumeSource": {1: F("claimName", STRING), 2: F("readOnly", BOOL)},
    "DownwardAPIVolumeSource": {1: F("items", "DownwardAPIVolumeFile", rep=True), 2: F("defaultMode", INT, keep=True)},
    "DownwardAPIVolumeFile": {
        1: F("path", STRING), 2: F("fieldRef", "ObjectFieldSelector", keep=True), 3: F("resourceFieldRef", "ResourceFieldSelector", keep=True),
        4: F("mode", INT, keep=True),
    },
    "ConfigMapVolumeSource": {
        1: F("", "LocalObjectReference", inline=True), 2: F("items", "KeyToPath", rep=True), 3: F("defaultMode", INT, keep=True),
        4: F("optional", BOOL, keep=True),
    },
    "KeyToPath": {1: F("key", STRING), 2: F("path", STRING), 3: F("mode", INT, keep=True)},
    "ProjectedVolumeSource": {1: F("sources", "VolumeProjection", rep=True), 2: F("defaultMode", INT, keep=True)},
    "VolumeProjection": {
        1: F("secret", "SecretProjection", keep=True), 2: F("downwardAPI", "DownwardAPIProjection", keep=True),
        3: F("configMap", "ConfigMapProjection", keep=True), 4: F("serviceAccountToken", "ServiceAccountTokenProjection", keep=True),
    },
    "SecretProjection": {1: F("", "LocalObjectReference", inline=True), 2: F("items", "KeyToPath", rep=True), 4: F("optional", BOOL, keep=True)},
    "ConfigMapProjection": {1: F("", "LocalObjectReference", inline=True), 2: F("items", "KeyToPath", rep=True), 4: F("optional", BOOL, keep=True)},
    "DownwardAPIProjection": {1: F("items", "DownwardAPIVolumeFile", rep=True)},
    "ServiceAccountTokenProjection": {1: F("audience", STRING), 2: F("expirationSeconds", INT, keep=True), 3: F("path", STRING)},
    # k8s.io/api/apps/v1
    "Deployment": {1: F("metadata", "ObjectMeta"), 2: F("spec", "DeploymentSpec")},
    "DeploymentSpec": {
        1: F("replicas", INT, keep=True), 2: F("selector", "LabelSelector", keep=True), 3: F("template", "PodTemplateSpec"),
        4: F("strategy", "DeploymentStrategy"), 5: F("minReadySeconds", INT), 6: F("revisionHistoryLimit", INT, keep=True),
        7: F("paused", BOOL), 9: F("progressDeadlineSeconds", INT, keep=True),
    },
    "DeploymentStrategy": {1: F("type", STRING), 2: F("rollingUpdate", "RollingUpdateDeployment", keep=True)},
    "RollingUpdateDeployment": {1: F("maxUnavailable", INT_OR_STRING, keep=True), 2: F("maxSurge", INT_OR_STRING, keep=True)},
    # k8s.io/api/batch/v1
    "Job": {1: F("metadata", "ObjectMeta"), 2: F("spec", "JobSpec")},
    "JobSpec": {
        1: F("parallelism", INT, keep=True), 2: F("completions", INT, keep=True), 3: F("activeDeadlineSeconds", INT, keep=True),
        7: F("backoffLimit", INT, keep=True), 4: F("selector", "LabelSelector", keep=True), 5: F("manualSelector", BOOL, keep=True),
        6: F("template", "PodTemplateSpec"), 8: F("ttlSecondsAfterFinished", INT, keep=True), 9: F("completionMode", STRING, keep=True),
        10: F("suspend", BOOL, keep=True),
    },
    "CronJob": {1: F("metadata", "ObjectMeta"), 2: F("spec", "CronJobSpec")},
    "CronJobSpec": {
        1: F("schedule", STRING), 8: F("timeZone", STRING, keep=True), 2: F("startingDeadlineSeconds", INT, keep=True),
        3: F("concurrencyPolicy", STRING), 4: F("suspend", BOOL, keep=True), 5: F("jobTemplate", "JobTemplateSpec"),
        6: F("successfulJobsHistoryLimit", INT, keep=True), 7: F("failedJobsHistoryLimit", INT, keep=True),
    },
    "JobTemplateSpec": {1: F("metadata", "ObjectMeta"), 2: F("spec", "JobSpec")},
    # k8s.io/api/rbac/v1
    "Role": {1: F("metadata", "ObjectMeta"), 2: F("rules", "PolicyRule", rep=True)},
    "ClusterRole": {1: F("metadata", "ObjectMeta"), 2: F("rules", "PolicyRule", rep=True), 3: F("aggregationRule", "AggregationRule", keep=True)},
    "AggregationRule": {1: F("clusterRoleSelectors", "LabelSelector", rep=True)},
    "PolicyRule": {
        1: F("verbs", STRING, rep=True), 2: F("apiGroups", STRING, rep=True), 3: F("resources", STRING, rep=True),
        4: F("resourceNames", STRING, rep=True), 5: F("nonResourceURLs", STRING, rep=True),
    },
    "RoleBinding": {1: F("metadata", "ObjectMeta"), 2: F("subjects", "Subject", rep=True), 3: F("roleRef", "RoleRef")},
    "ClusterRoleBinding": {1: F("metadata", "ObjectMeta"), 2: F("subjects", "Subject", rep=True), 3: F("roleRef", "RoleRef")},
    "Subject": {1: F("kind", STRING), 2: F("apiGroup", STRING), 3: F("name", STRING), 4: F("namespace", STRING)},
    "RoleRef": {1: F("apiGroup", STRING), 2: F("kind", STRING), 3: F("name", STRING)},
}

# The kinds a top-level body may carry: (apiVersion, kind) -> message name.
KINDS = {
    ("v1", "Namespace"): "Namespace",
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Secret"): "Secret",
    ("v1", "Service"): "Service",
    ("v1", "ServiceAccount"): "ServiceAccount",
    ("v1", "ResourceQuota"): "ResourceQuota",
    ("v1", "Pod"): "Pod",
    ("apps/v1", "Deployment"): "Deployment",
    ("batch/v1", "Job"): "Job",
    ("batch/v1", "CronJob"): "CronJob",
    ("rbac.authorization.k8s.io/v1", "Role"): "Role",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "ClusterRole",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "RoleBinding",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "ClusterRoleBinding",
    # kubectl sends DeleteOptions (a meta/v1 message) labelled with the core group's version.
    ("v1", "DeleteOptions"): "DeleteOptions",
    ("meta.k8s.io/v1", "DeleteOptions"): "DeleteOptions",
}

ENVELOPE = {1: ("typeMeta", "message"), 2: ("raw", "bytes"), 3: ("contentEncoding", "string"), 4: ("contentType", "string")}
TYPE_META = {1: "apiVersion", 2: "kind"}


# --- wire format ---------------------------------------------------------------------
def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    for i in range(10):
        if pos + i >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos + i]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if i == 9 and byte > 1:
                raise ProtobufError("varint overflows 64 bits")
            return result, pos + i + 1
        shift += 7
    raise ProtobufError("varint longer than 10 bytes")


def fields(data: bytes):
    """Yield (field number, wire type, value) for each field of one message: value is an int
    for varints and fixed-width fields, the raw bytes for length-delimited ones."""
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0 or number > 536_870_911:
            raise ProtobufError(f"invalid field number {number}")
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if length > end - pos:
                raise ProtobufError("a length-delimited field runs past the end of its message")
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            if pos + 8 > end:
                raise ProtobufError("truncated 64-bit field")
            value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
        elif wire == 5:
            if pos + 4 > end:
                raise ProtobufError("truncated 32-bit field")
            value, pos = int.from_bytes(data[pos:pos + 4], "little"), pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        yield number, wire, value


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtobufError("a string field is not valid UTF-8") from None


def _expect(wire: int, wanted: int, what: str) -> None:
    if wire != wanted:
        raise ProtobufError(f"{what} has wire type {wire}, expected {wanted}")


# --- decoding by table ---------------------------------------------------------------
def _time(raw: bytes, micro: bool) -> str | None:
    seconds = nanos = 0
    for number, wire, value in fields(raw):
        _expect(wire, 0, "a Time field")
        if number == 1:
            seconds = _signed(value)
        elif number == 2:
            nanos = _signed(value)
    if seconds == 0 and nanos == 0:
        return None  # Go's zero time: JSON null, omitted
    if not 0 <= nanos < 1_000_000_000:
        raise ProtobufError("Time.nanos out of range")
    try:
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ProtobufError("Time.seconds out of range") from None
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos // 1000:06d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_or_string(raw: bytes):
    kind, int_val, str_val = 0, 0, ""
    for number, wire, value in fields(raw):
        if number == 1:
            _expect(wire, 0, "IntOrString.type")
            kind = value
        elif number == 2:
            _expect(wire, 0, "IntOrString.intVal")
            int_val = _signed(value)
        elif number == 3:
            _expect(wire, 2, "IntOrString.strVal")
            str_val = _text(value)
    if kind not in (0, 1):
        raise ProtobufError("IntOrString.type must be 0 or 1")
    return str_val if kind == 1 else int_val


def _quantity(raw: bytes) -> str:
    text = ""
    for number, wire, value in fields(raw):
        if number == 1:
            _expect(wire, 2, "Quantity.string")
            text = _text(value)
    return text


def _json_bytes(raw: bytes):
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ProtobufError("an embedded JSON field is not valid JSON") from None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _scalar(type_, wire: int, value, depth: int):
    """One value of a non-repeated, non-map field."""
    if type_ == STRING:
        _expect(wire, 2, "a string field")
        return _text(value)
    if type_ == BYTES:
        _expect(wire, 2, "a bytes field")
        return base64.b64encode(value).decode()
    if type_ == INT:
        _expect(wire, 0, "an integer field")
        return _signed(value)
    if type_ == BOOL:
        _expect(wire, 0, "a bool field")
        return value != 0
    _expect(wire, 2, "a message field")
    if type_ == TIME or type_ == MICROTIME:
        return _time(value, type_ == MICROTIME)
    if type_ == QUANTITY:
        return _quantity(value)
    if type_ == INT_OR_STRING:
        return _int_or_string(value)
    if type_ == JSON_BYTES:
        return _json_bytes(value)
    return decode_message(type_, value, depth + 1)


def _map_entry(value_type, raw: bytes, depth: int) -> tuple[str, object]:
    key, value = "", None
    for number, wire, item in fields(raw):
        if number == 1:
            _expect(wire, 2, "a map key")
            key = _text(item)
        elif number == 2:
            value = _scalar(value_type, wire, item, depth)
    if value is None:  # an entry with no value: the zero value of its type
        value = {STRING: "", BYTES: "", QUANTITY: "0"}.get(value_type, "")
    return key, value


def _is_zero(value) -> bool:
    return value is None or value == "" or value == 0 and not isinstance(value, float) or value is False or value == {} or value == []


def decode_message(name: str, data: bytes, depth: int = 0) -> dict:
    """Decode one message by its table, pruning Go's zero values (see the module doc)."""
    if depth > MAX_DEPTH:
        raise ProtobufError("the message nests too deeply")
    table = MESSAGES[name]
    out: dict = {}
    repeated: dict[str, list] = {}
    maps: dict[str, dict] = {}
    for number, wire, value in fields(data):
        field = table.get(number)
        if field is None:
            continue  # an unknown field: skipped, as Go's generated decoder does
        type_ = field.type
        if isinstance(type_, tuple):  # map<string, value>: repeated {1 key, 2 value}
            _expect(wire, 2, "a map entry")
            key, item = _map_entry(type_[1], value, depth)
            maps.setdefault(field.name, {})[key] = item
        elif field.repeated:
            bucket = repeated.setdefault(field.name, [])
            if wire == 2 and type_ in (INT, BOOL):  # a packed run of varints
                pos = 0
                while pos < len(value):
                    item, pos = _varint(value, pos)
                    bucket.append(_signed(item) if type_ == INT else item != 0)
            else:
                bucket.append(_scalar(type_, wire, value, depth))
        elif field.inline:
            _expect(wire, 2, "an embedded message")
            out.update(decode_message(type_, value, depth + 1))
        else:
            decoded = _scalar(type_, wire, value, depth)
            if decoded is None or (_is_zero(decoded) and not field.keep):
                out.pop(field.name, None)
            else:
                out[field.name] = decoded
    for key, items in repeated.items():
        if items:
            out[key] = items
    for key, items in maps.items():
        if items:
            out[key] = items
    return out


def decode(body: bytes) -> dict:
    """A kubectl protobuf body -> the object as JSON would carry it (apiVersion and kind
    included). Raises ProtobufError (or UnsupportedKind) for anything it cannot decode."""
    if len(body) > MAX_BYTES:
        raise ProtobufError("the body is larger than 3 MiB")
    if not body.startswith(MAGIC):
        raise ProtobufError('the body does not start with the protobuf magic "k8s\\x00"')
    type_meta: dict = {}
    raw = b""
    encoding = content_type = ""
    for number, wire, value in fields(body[len(MAGIC):]):
        if number == 1:
            _expect(wire, 2, "Unknown.typeMeta")
            for sub, sub_wire, sub_value in fields(value):
                if sub in TYPE_META:
                    _expect(sub_wire, 2, "a TypeMeta field")
                    type_meta[TYPE_META[sub]] = _text(sub_value)
        elif number == 2:
            _expect(wire, 2, "Unknown.raw")
            raw = value
        elif number == 3:
            _expect(wire, 2, "Unknown.contentEncoding")
            encoding = _text(value)
        elif number == 4:
            _expect(wire, 2, "Unknown.contentType")
            content_type = _text(value)
    if encoding:
        raise ProtobufError(f"unsupported contentEncoding {encoding!r}")
    if content_type not in ("", "application/vnd.kubernetes.protobuf"):
        raise ProtobufError(f"unsupported contentType {content_type!r}")
    api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
    if not kind:
        raise ProtobufError("the protobuf envelope names no kind")
    message = KINDS.get((api_version, kind))
    if message is None:
        raise UnsupportedKind(f"this server decodes no protobuf for {api_version or '?'}/{kind}; send JSON")
    obj = decode_message(message, raw)
    return {"apiVersion": api_version, "kind": kind, **obj}


# --- encoding (for tests and tools: the inverse of the wire helpers above) ------------
def encode_varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_field(number: int, value) -> bytes:
    """One field: an int or bool becomes a varint, str and bytes become length-delimited."""
    if isinstance(value, bool) or isinstance(value, int):
        return encode_varint(number << 3) + encode_varint(int(value))
    data = value.encode() if isinstance(value, str) else bytes(value)
    return encode_varint(number << 3 | 2) + encode_varint(len(data)) + data


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = encode_field(1, api_version) + encode_field(2, kind)
    return MAGIC + encode_field(1, type_meta) + encode_field(2, raw) + encode_field(3, "") + encode_field(4, "")
