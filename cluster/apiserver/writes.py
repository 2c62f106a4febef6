"""Writes: the mutation engine (kube-apiserver's GuaranteedUpdate over etcd transactions)
and one transform per kind of write: current object -> ("put" | "delete" | "noop", new).

    current (from the cache) ──transform──▶ new object ──txn "mod == rv ? put : get"──▶ ok ─▶ respond
                ▲                                                                    │
                └──────────── the current value the failed txn returned ◀────────────┘ compare failed

A transform that needs a value the cache may not have yet (a precondition that does not
match, an object or a namespace the cache does not know) raises _Fetch: the key is read
from etcd and the transform runs again. A mixin of APIServer (server.py).
"""

import base64

from ..kernel import SECOND
from . import admission, patch
from . import status as st
from .defaults import apply_defaults, job_selector, qos_class
from .meta import copy_json, decode, dig, encode, meta_of, new_uid, random_suffix, rfc3339, rv_of
from .resources import api_version, etcd_key, group_resource, lookup, qualified_kind, resource_prefix
from .schema import go_type, type_errors, unknown_fields
from .selectors import selector_string
from .status import ApiError
from .validation import validate, validate_status_update

IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")
MAX_CONFLICT_RETRIES = 10


class _Fetch(Exception):
    """The transform needs the current value of `key` from etcd before it can decide."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


class WritesMixin:
    # Cluster-wide caps on creates (admission.check_caps; Cluster sets them from its config, a
    # `caps` command lowers them); None: no cap.
    max_pods: int | None = None
    max_objects: int | None = None

    # --- writes: the mutation engine ------------------------------------------------------------------------
    def _start_write(self, op: dict) -> None:
        verb, sub = op["verb"], op["sub"]
        if verb == "create":
            mutation = {"binding": "binding", "eviction": "eviction"}.get(sub, "create")
        elif verb == "delete":
            mutation = "delete"
        elif verb == "update":
            mutation = {"status": "status", "scale": "scale", "finalize": "finalize"}.get(sub, "update")
        else:
            mutation = "apply" if op["patch_type"] == "apply" and not sub else "patch"
        op["mutation"] = mutation
        op["lookups"] = {}
        op["attempts"] = 0
        op["unknown"] = False
        op["warnings"] = []
        if mutation == "create":
            name = dig(op["body"], "metadata", "name")
            op["etcd_key"] = None if not isinstance(name, str) or not name else self._key_of(op, name)
        else:
            op["etcd_key"] = self._key_of(op)
        if mutation in ("create",):
            self._attempt(op, None, fresh=False)
            return
        current = self.cache.get(op["plural"], op["etcd_key"])
        self._attempt(op, copy_json(current) if current is not None else None, fresh=False)

    def _attempt(self, op: dict, current: dict | None, fresh: bool) -> None:
        op["current"] = current
        op["current_fresh"] = fresh
        try:
            action, new = getattr(self, "_transform_" + op["mutation"])(op, current, fresh)
        except _Fetch as need:
            self._emit_stage(op, "etcd", True, f"{self.name} reads {need.key} from etcd (the cache may be behind)", key=need.key)
            self._etcd_send({"op": "get", "key": need.key}, "fetch_done", op=op["key"], fetch=need.key)
            return
        except ApiError as err:
            self._reply_error(op, err.status, op.get("stage") or "validation")
            return
        if action == "noop":
            self._finish_write(op, current, None)
            return
        if op["dry_run"]:
            self._emit_stage(op, "etcd", True, f"{self.name}: dry run, nothing is written")
            self._finish_write(op, new if action == "put" else current, None)
            return
        key = op["etcd_key"]
        if action == "put":
            value = encode(new)
            compare = {"key": key, "target": "create", "result": "=", "value": 0} if current is None else {"key": key, "target": "mod", "result": "=", "value": rv_of(current)}
            request = {"op": "txn", "compare": [compare], "success": [{"op": "put", "key": key, "value": value}], "failure": [{"op": "get", "key": key}]}
            op["written"] = value
            what = f"create {key}" if current is None else f"update {key} if its mod revision is still {rv_of(current)}"
        else:
            request = {"op": "txn", "compare": [{"key": key, "target": "mod", "result": "=", "value": rv_of(current)}], "success": [{"op": "delete", "key": key}], "failure": [{"op": "get", "key": key}]}
            op["written"] = None
            what = f"delete {key} if its mod revision is still {rv_of(current)}"
        op["action"], op["new"] = action, new
        self._emit_stage(op, "etcd", True, f"{self.name} → etcd: txn {what}", key=key, action=action)
        self._etcd_send(request, "txn_done", op=op["key"])

    def _fetch_done(self, entry: dict, payload: dict) -> None:
        op = self.ops.get(entry["op"])
        if op is None:
            return
        if not payload.get("ok"):
            self._reply(op, 500, st.internal_error(payload.get("error", "etcd error")))
            return
        key = entry["fetch"]
        obj = None
        if payload.get("value") is not None:
            try:
                obj = decode(payload["value"], payload["mod_revision"])
            except ValueError:
                obj = None
        op["lookups"][key] = obj
        if key == op["etcd_key"]:
            self._attempt(op, obj, fresh=True)
        else:
            self._attempt(op, op["current"], op["current_fresh"])

    def _txn_done(self, entry: dict, payload: dict) -> None:
        op = self.ops.get(entry["op"])
        if op is None:
            return
        if not payload.get("ok"):
            self._reply(op, 500, st.internal_error(payload.get("error", "etcd error")))
            return
        if payload.get("succeeded"):
            self._finish_write(op, op["new"] if op["action"] == "put" else op["current"], payload["revision"])
            return
        kv = None
        responses = payload.get("responses") or []
        if responses and isinstance(responses[0], dict):
            kv = responses[0].get("kv")
        if op["unknown"]:
            # An earlier attempt timed out: maybe it was applied after all.
            if op["action"] == "put" and kv is not None and kv.get("value") == op["written"]:
                self._finish_write(op, op["new"], kv["mod_revision"])
                return
            if op["action"] == "delete" and kv is None:
                self._finish_write(op, op["current"], payload["revision"])
                return
        fresh = None
        if kv is not None:
            try:
                fresh = decode(kv["value"], kv["mod_revision"])
            except ValueError:
                fresh = None
        op["attempts"] += 1
        self.emit("api.conflict", f"{self.name}: {op['etcd_key']} changed under {self._describe(op)} (attempt {op['attempts']}): trying again with the current value",
                  target=op["client"], request=op["key"], key=op["etcd_key"], attempt=op["attempts"])
        if op["attempts"] > MAX_CONFLICT_RETRIES:
            self._reply_error(op, st.conflict(op["info"], op["name"] or "", "too many conflicts"), "etcd")
            return
        op["lookups"].pop(op["etcd_key"], None)
        self._attempt(op, fresh, fresh=True)

    def _finish_write(self, op: dict, obj: dict | None, revision: int | None) -> None:
        mutation = op["mutation"]
        if obj is not None:
            # The new object and the current one are this request's own copies: no copy needed.
            if revision is not None and op.get("action") == "put":
                obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
        reservation = self.reservations.get(op["key"])
        if reservation is not None:
            if revision is None or op.get("action") != "put" or self.cache.revision >= revision:
                del self.reservations[op["key"]]
            else:
                reservation["revision"] = revision
        extra = {"warnings": op["warnings"]} if op.get("warnings") else {}
        if mutation in ("binding", "eviction"):
            self._reply(op, 201, st.success(201), **extra)
        elif op["sub"] == "scale":
            self._reply(op, 200, self._scale_of(op["info"], obj), **extra)
        elif mutation == "create" or (mutation == "apply" and op.get("created")):
            self._reply(op, 201, obj, **extra)
        else:
            self._reply(op, 200, obj, **extra)

    # --- transforms: current object -> ("put" | "delete" | "noop", new object) ---------------------------------
    def _decode_body(self, op: dict, body: dict, kind: str | None = None) -> dict:
        """What decoding does in kube-apiserver: check apiVersion and kind, the JSON types of
        metadata and of the object's structure (400), and report unknown fields per
        fieldValidation (Strict: 400, Warn: warnings). Returns the body with apiVersion and
        kind set."""
        info = op["info"]
        expected_kind = kind or info["kind"]
        expected_version = api_version(info) if kind is None else {"Scale": "autoscaling/v1", "Binding": "v1", "Eviction": "policy/v1"}.get(kind, "v1")
        handled = f'{expected_kind} in version "{expected_version.split("/")[-1]}" cannot be handled as a {expected_kind}'
        for field in ("apiVersion", "kind"):
            if field in body and body[field] is None:
                del body[field]
            elif field in body and not isinstance(body[field], str):
                raise ApiError(st.bad_request(f"{handled}: json: cannot unmarshal {go_type(body[field])} into Go struct field {expected_kind}.{field} of type string"))
        body_kind, body_version = body.get("kind"), body.get("apiVersion")
        if body_version and body_version != expected_version:
            if not (kind == "Eviction" and body_version == "policy/v1beta1"):
                raise ApiError(st.bad_request(f"the API version in the data ({body_version}) does not match the expected API version ({expected_version})"))
        if body_kind and body_kind != expected_kind:
            raise ApiError(st.bad_request(f"{handled}: the kind in the data ({body_kind}) does not match the expected kind"))
        problem = _metadata_type_error(body)
        if problem is None and kind is None:
            problems = type_errors(info["plural"], body)
            problem = problems[0] if problems else None
        if problem is not None:
            self._emit_stage(op, "validation", False, f"decoding: {problem}", check="decode")
            raise ApiError(st.bad_request(f"{handled}: {problem}"))
        if kind is None:
            body["apiVersion"], body["kind"] = expected_version, expected_kind
            unknown = unknown_fields(info["plural"], body)
            if unknown:
                text = ", ".join(f'unknown field "{u}"' for u in unknown)
                if op["field_validation"] == "Strict":
                    self._emit_stage(op, "validation", False, f"strict decoding: {text}", check="fieldValidation")
                    raise ApiError(st.bad_request(f"{handled}: strict decoding error: {text}"))
                if op["field_validation"] == "Warn":
                    op["warnings"] = [f'unknown field "{u}"' for u in unknown]
        return body

    def _check_namespace(self, op: dict, creating: bool = True) -> None:
        """NamespaceLifecycle admission for a create."""
        namespace = op["namespace"]
        info = op["info"]
        if not info["namespaced"] or not namespace:
            return
        key = etcd_key(lookup("", "namespaces"), None, namespace)
        if key in op["lookups"]:
            ns = op["lookups"][key]
        else:
            ns = self.cache.get("namespaces", key)
            if ns is None:
                raise _Fetch(key)
        if ns is None:
            self._emit_stage(op, "admission", False, f"NamespaceLifecycle: namespace {namespace} does not exist", plugin="NamespaceLifecycle")
            raise ApiError(st.namespace_not_found(namespace))
        if creating and (meta_of(ns).get("deletionTimestamp") or dig(ns, "status", "phase") == "Terminating"):
            message = f"unable to create new content in namespace {namespace} because it is being terminated"
            self._emit_stage(op, "admission", False, f"NamespaceLifecycle: {message}", plugin="NamespaceLifecycle")
            status = st.forbidden_message(f'{group_resource(info)} "{op.get("object_name") or ""}" is forbidden: {message}', info, op.get("object_name"))
            status["details"]["causes"] = [{"reason": "NamespaceTerminating", "message": f'namespace {namespace} is being terminated', "field": "metadata.namespace"}]
            raise ApiError(status)

    def _transform_create(self, op: dict, current, fresh: bool):
        info = op["info"]
        if fresh and current is not None:
            self._emit_stage(op, "etcd", False, f"{op['etcd_key']} exists already")
            raise ApiError(st.already_exists(info, meta_of(current).get("name")))
        obj = self._decode_body(op, copy_json(op["body"]))
        obj.setdefault("apiVersion", api_version(info))
        obj.setdefault("kind", info["kind"])
        meta = obj.setdefault("metadata", {})
        if meta.get("resourceVersion"):
            raise ApiError(st.bad_request("resourceVersion should not be set on objects to be created"))
        if info["namespaced"]:
            body_ns = meta.get("namespace")
            if body_ns and body_ns != op["namespace"]:
                raise ApiError(st.bad_request("the namespace of the provided object does not match the namespace sent on the request"))
            meta["namespace"] = op["namespace"]
        op["object_name"] = meta.get("name") or ""
        self._check_namespace(op)
        return "put", self._prepare_new(op, obj, manager_operation="Update")

    def _prepare_new(self, op: dict, obj: dict, manager_operation: str) -> dict:
        """Everything a create does after decoding: admission (defaulting, quota), metadata, validation."""
        info = op["info"]
        meta = obj["metadata"]
        # Server-owned metadata: never taken from the client.
        for field in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(field, None)
        if not meta.get("name") and isinstance(meta.get("generateName"), str) and meta.get("generateName"):
            if "generated_name" not in op:
                op["generated_name"] = meta["generateName"] + random_suffix(self.stream("names"))
            meta["name"] = op["generated_name"]
            op["etcd_key"] = self._key_of(op, meta["name"])
        if "uid" not in op:
            op["uid"] = new_uid(self.stream("uid"))
        meta["uid"] = op["uid"]
        meta["creationTimestamp"] = rfc3339(op["started"])
        if info["generation"]:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if info["status"] and info["plural"] not in ("services", "namespaces", "nodes"):
            obj.pop("status", None)
        apply_defaults(info["plural"], obj)
        self._admission_defaults(op, obj)
        self._emit_stage(op, "admission", True, f"admission: NamespaceLifecycle ok, defaults applied to {info['kind']} {meta.get('name')}", plugins=["NamespaceLifecycle", "ServiceAccount", "DefaultTolerationSeconds", "defaulting"])
        errors = validate(info, obj)
        if errors:
            status = st.invalid_status(info, meta.get("name") or "", errors)
            self._emit_stage(op, "validation", False, status["message"], causes=len(errors))
            raise ApiError(status)
        if not op["etcd_key"]:
            raise ApiError(st.invalid_status(info, "", [st.required("metadata.name", "name or generateName is required")]))
        self._emit_stage(op, "validation", True, f"validation: {qualified_kind(info)} {meta.get('name')} is valid")
        self._quota_admission(op, obj, None)
        patch.record_managed_fields(obj, None, op.get("field_manager") or _default_manager(op), manager_operation, api_version(info), rfc3339(self.now),
                                    fields=op.get("applied_paths") if manager_operation == "Apply" else None, plural=info["plural"])
        return obj

    def _admission_defaults(self, op: dict, obj: dict) -> None:
        """Admission that fills in values on create: pod status, Job selectors, service IPs."""
        plural = op["plural"]
        if plural == "pods":
            obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec"))}
        elif plural == "jobs":
            job_selector(obj)
        elif plural == "services":
            admission.allocate_service_addresses(self, op, obj, None)
        elif plural == "namespaces":
            obj["status"] = {"phase": "Active"}
        elif plural == "secrets" and isinstance(obj.get("stringData"), dict):
            data = obj.setdefault("data", {})
            if isinstance(data, dict):
                for key, value in obj.pop("stringData").items():
                    if isinstance(value, str):
                        data[key] = base64.b64encode(value.encode()).decode()

    def _quota_admission(self, op: dict, obj: dict, old: dict | None) -> None:
        ok, message, usage = admission.check_quota(self, op, obj, old)
        capped, cap_usage = True, {}
        if ok and old is None:
            capped, message, cap_usage = admission.check_caps(self, op)
        if not ok or not capped:
            self._emit_stage(op, "admission", False, f"ResourceQuota: {message}", plugin="ResourceQuota")
            name = meta_of(obj).get("name") or ""
            raise ApiError(st.forbidden_message(f'{group_resource(op["info"])} "{name}" is forbidden: {message}', op["info"], name))
        op["usage"] = usage
        if (usage or cap_usage) and not op["dry_run"]:
            self.reservations[op["key"]] = {"namespace": op["namespace"], "usage": {**(usage or {}), **cap_usage}, "revision": None}
        if usage:
            self._emit_stage(op, "admission", True, "ResourceQuota: within the namespace's quota", plugin="ResourceQuota")

    def _require_current(self, op: dict, current, fresh: bool) -> dict:
        if current is None:
            if not fresh:
                raise _Fetch(op["etcd_key"])
            self._emit_stage(op, "etcd", False, f"{op['etcd_key']} does not exist")
            raise ApiError(st.not_found(op["info"], op["name"]))
        return current

    def _precondition_rv(self, op: dict, wanted, current: dict, fresh: bool) -> None:
        if wanted in (None, ""):
            return
        if str(wanted) != meta_of(current).get("resourceVersion"):
            if not fresh:
                raise _Fetch(op["etcd_key"])
            self._emit_stage(op, "etcd", False, f"stale resourceVersion {wanted}: the object is at {meta_of(current).get('resourceVersion')}")
            raise ApiError(st.conflict(op["info"], op["name"]))

    def _transform_update(self, op: dict, current, fresh: bool, body: dict | None = None):
        info = op["info"]
        current = self._require_current(op, current, fresh)
        obj = self._decode_body(op, copy_json(body if body is not None else op["body"]))
        meta = obj.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != op["name"]:
            raise ApiError(st.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL ({op['name']})"))
        if info["namespaced"] and meta.get("namespace") and meta["namespace"] != op["namespace"]:
            raise ApiError(st.bad_request("the namespace of the provided object does not match the namespace sent on the request"))
        self._precondition_rv(op, meta.get("resourceVersion"), current, fresh)
        new = self._prepare_update(op, obj, current, operation="Update")
        return self._write_or_delete(op, new, current)

    def _prepare_update(self, op: dict, obj: dict, current: dict, operation: str) -> dict:
        info = op["info"]
        obj.setdefault("apiVersion", api_version(info))
        obj.setdefault("kind", info["kind"])
        meta = obj["metadata"]
        old_meta = meta_of(current)
        meta["name"] = old_meta.get("name")
        if info["namespaced"]:
            meta["namespace"] = old_meta.get("namespace")
        for field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
            if field in old_meta:
                meta[field] = old_meta[field]
            else:
                meta.pop(field, None)
        meta["resourceVersion"] = old_meta.get("resourceVersion")
        if info["status"] and info["plural"] not in ("namespaces",):
            if "status" in current:
                obj["status"] = copy_json(current["status"])
            else:
                obj.pop("status", None)
        elif info["plural"] == "namespaces":
            obj["status"] = copy_json(current.get("status") or {})
        apply_defaults(info["plural"], obj)
        if info["plural"] == "services":
            admission.allocate_service_addresses(self, op, obj, current)
        if info["generation"] and _spec_of(obj) != _spec_of(current):
            meta["generation"] = int(old_meta.get("generation") or 0) + 1
        self._emit_stage(op, "admission", True, f"admission: defaults applied to {info['kind']} {meta.get('name')}")
        errors = validate(info, obj, current)
        if errors:
            status = st.invalid_status(info, meta.get("name") or "", errors)
            self._emit_stage(op, "validation", False, status["message"], causes=len(errors))
            raise ApiError(status)
        self._emit_stage(op, "validation", True, f"validation: {qualified_kind(info)} {meta.get('name')} is valid")
        self._quota_admission(op, obj, current)
        patch.record_managed_fields(obj, current, op.get("field_manager") or _default_manager(op), operation, api_version(info), rfc3339(self.now), plural=info["plural"])
        return obj

    def _write_or_delete(self, op: dict, new: dict, current: dict):
        if _same(new, current):
            self._emit_stage(op, "etcd", True, "nothing changed: no write")
            return "noop", current
        meta = new["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and (op["plural"] != "pods" or not meta.get("deletionGracePeriodSeconds")):
            if op["plural"] == "namespaces" and dig(new, "spec", "finalizers"):
                return "put", new
            op["deleted_by_update"] = True
            return "delete", current
        return "put", new

    def _transform_patch(self, op: dict, current, fresh: bool):
        current = self._require_current(op, current, fresh)
        sub = op["sub"]
        if sub == "scale":
            base = self._scale_of(op["info"], current)
        else:
            base = copy_json(current)
        try:
            patched = patch.apply_patch(op["patch_type"], base, op["body"], op["plural"])
        except patch.PatchError as err:
            self._emit_stage(op, "validation", False, f"the patch does not apply: {err}")
            raise ApiError(err.status) from None
        if not isinstance(patched, dict):
            raise ApiError(st.bad_request("the patched object is not an object"))
        if sub == "scale":
            return self._transform_scale(op, current, fresh, body=patched)
        if sub == "status":
            return self._transform_status(op, current, fresh, body=patched)
        if patched.get("metadata", {}).get("resourceVersion") != meta_of(current).get("resourceVersion"):
            self._precondition_rv(op, dig(patched, "metadata", "resourceVersion"), current, fresh)
        return self._transform_update(op, current, fresh, body=patched)

    def _transform_apply(self, op: dict, current, fresh: bool):
        info = op["info"]
        applied = self._decode_body(op, copy_json(op["body"]))
        meta = applied.get("metadata") or {}
        if meta.get("name") and meta["name"] != op["name"]:
            raise ApiError(st.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL ({op['name']})"))
        if not applied.get("apiVersion") or not applied.get("kind"):
            raise ApiError(st.bad_request("apply patches must set apiVersion and kind"))
        if current is None:
            if not fresh:
                # The cache says it does not exist: try to create it (the txn checks).
                pass
            op["created"] = True
            obj = copy_json(applied)
            obj.setdefault("metadata", {})["name"] = op["name"]
            if info["namespaced"]:
                obj["metadata"]["namespace"] = op["namespace"]
            op["object_name"] = op["name"]
            op["applied_paths"] = patch.paths(applied, op["plural"])
            self._check_namespace(op)
            op["etcd_key"] = self._key_of(op)
            return "put", self._prepare_new(op, obj, manager_operation="Apply")
        op["created"] = False
        try:
            merged = patch.server_side_apply(current, applied, op["field_manager"], op["force"], api_version(info), op["plural"], rfc3339(self.now))
        except patch.PatchError as err:
            self._emit_stage(op, "validation", False, f"apply: {err}")
            raise ApiError(err.status) from None
        self._precondition_rv(op, meta.get("resourceVersion"), current, fresh)
        merged.setdefault("metadata", {})
        new = self._prepare_update(op, merged, current, operation="Apply")
        return self._write_or_delete(op, new, current)

    def _transform_status(self, op: dict, current, fresh: bool, body: dict | None = None):
        info = op["info"]
        current = self._require_current(op, current, fresh)
        obj = self._decode_body(op, copy_json(body if body is not None else op["body"]))
        meta = obj.get("metadata") or {}
        if meta.get("name") and meta["name"] != op["name"]:
            raise ApiError(st.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL ({op['name']})"))
        if body is None:
            self._precondition_rv(op, meta.get("resourceVersion"), current, fresh)
        new = copy_json(current)
        if "status" in obj:
            new["status"] = obj["status"]
        else:
            new.pop("status", None)
        # Status writers may also change labels and annotations (as the real status strategies allow).
        for field in ("labels", "annotations"):
            if field in meta:
                new["metadata"][field] = meta[field]
        self._emit_stage(op, "admission", True, f"admission: status update of {info['kind']} {op['name']}")
        errors = validate_status_update(info, new, current)
        if errors:
            status = st.invalid_status(info, op["name"], errors)
            self._emit_stage(op, "validation", False, status["message"], causes=len(errors))
            raise ApiError(status)
        self._emit_stage(op, "validation", True, f"validation: status of {op['name']} is valid")
        patch.record_managed_fields(new, current, op.get("field_manager") or _default_manager(op), "Update", api_version(info), rfc3339(self.now), subresource="status", plural=info["plural"])
        return self._write_or_delete(op, new, current)

    def _scale_of(self, info: dict, obj: dict) -> dict:
        meta = meta_of(obj)
        selector = dig(obj, "spec", "selector")

        status = {"replicas": int(dig(obj, "status", "replicas", default=0) or 0)}
        text = selector_string(selector) if isinstance(selector, dict) else ""
        if text:
            status["selector"] = text
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta},
            "spec": {"replicas": int(dig(obj, "spec", "replicas", default=0) or 0)},
            "status": status,
        }

    def _transform_scale(self, op: dict, current, fresh: bool, body: dict | None = None):
        info = op["info"]
        current = self._require_current(op, current, fresh)
        scale = self._decode_body(op, copy_json(body if body is not None else op["body"]), kind="Scale")
        replicas = dig(scale, "spec", "replicas")
        if replicas is None:
            replicas = 0
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            errors = [st.invalid("spec.replicas", replicas, "must be greater than or equal to 0")]
            status = st.invalid_status({"kind": "Scale", "group": "autoscaling", "plural": "scale"}, op["name"], errors)
            self._emit_stage(op, "validation", False, status["message"])
            raise ApiError(status)
        self._precondition_rv(op, dig(scale, "metadata", "resourceVersion"), current, fresh)
        new = copy_json(current)
        new.setdefault("spec", {})["replicas"] = replicas
        if info["generation"] and _spec_of(new) != _spec_of(current):
            new["metadata"]["generation"] = int(meta_of(current).get("generation") or 0) + 1
        self._emit_stage(op, "admission", True, f"admission: scale {info['kind']} {op['name']} to {replicas}")
        self._emit_stage(op, "validation", True, f"validation: {replicas} replicas is valid")
        patch.record_managed_fields(new, current, op.get("field_manager") or _default_manager(op), "Update", api_version(info), rfc3339(self.now), subresource="scale", plural=info["plural"])
        return self._write_or_delete(op, new, current)

    def _transform_finalize(self, op: dict, current, fresh: bool):
        current = self._require_current(op, current, fresh)
        body = self._decode_body(op, copy_json(op["body"]))
        finalizers = dig(body, "spec", "finalizers", default=[]) or []
        if not isinstance(finalizers, list):
            raise ApiError(st.bad_request("spec.finalizers must be a list"))
        new = copy_json(current)
        new.setdefault("spec", {})["finalizers"] = finalizers
        self._emit_stage(op, "admission", True, f"namespace {op['name']}: finalizers now {finalizers}")
        self._emit_stage(op, "validation", True, "finalizers are valid")
        if meta_of(new).get("deletionTimestamp") and not finalizers and not meta_of(new).get("finalizers"):
            if _same(new, current):
                return "noop", current
            op["deleted_by_update"] = True
            return "delete", current
        return self._write_or_delete(op, new, current)

    def _transform_binding(self, op: dict, current, fresh: bool):
        current = self._require_current(op, current, fresh)
        binding = self._decode_body(op, copy_json(op["body"]), kind="Binding")
        target = binding.get("target")
        node = target.get("name") if isinstance(target, dict) else None
        if not isinstance(node, str) or not node:
            errors = [st.required("target.name")]
            raise ApiError(st.invalid_status({"kind": "Binding", "group": "", "plural": "bindings"}, op["name"], errors))
        if isinstance(target, dict) and target.get("kind") not in (None, "", "Node"):
            raise ApiError(st.invalid_status({"kind": "Binding", "group": "", "plural": "bindings"}, op["name"], [st.not_supported("target.kind", target.get("kind"), ["Node"])]))
        meta = meta_of(current)
        if meta.get("deletionTimestamp"):
            self._emit_stage(op, "admission", False, f"pod {op['name']} is being deleted")
            raise ApiError(st.conflict(op["info"], op["name"], f"pod {op['name']} is being deleted, cannot be assigned to a host", resource="pods/binding"))
        bound = dig(current, "spec", "nodeName")
        if bound:
            self._emit_stage(op, "admission", False, f"pod {op['name']} is already assigned to node {bound}")
            raise ApiError(st.conflict(op["info"], op["name"], f'pod {op["name"]} is already assigned to node "{bound}"', resource="pods/binding"))
        new = copy_json(current)
        new.setdefault("spec", {})["nodeName"] = node
        status = new.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict) and c.get("type") != "PodScheduled"]
        conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": rfc3339(self.now)})
        status["conditions"] = conditions
        self._emit_stage(op, "admission", True, f"binding: pod {op['name']} → node {node}")
        self._emit_stage(op, "validation", True, f"binding of {op['name']} to {node} is valid")
        patch.record_managed_fields(new, current, op.get("field_manager") or _default_manager(op), "Update", "v1", rfc3339(self.now), plural="pods")
        return "put", new

    def _delete_options(self, op: dict, body: dict | None) -> dict:
        options = {}
        if isinstance(body, dict):
            options.update(body)
        q = op["query"]
        for field in ("propagationPolicy", "gracePeriodSeconds", "orphanDependents"):
            if q.get(field) not in (None, ""):
                options[field] = q[field]
        grace = options.get("gracePeriodSeconds")
        if grace is not None:
            try:
                grace = int(grace)
            except (TypeError, ValueError):
                raise ApiError(st.bad_request(f"invalid gracePeriodSeconds {grace!r}")) from None
            options["gracePeriodSeconds"] = max(0, grace)
        policy = options.get("propagationPolicy")
        if policy not in (None, "Orphan", "Background", "Foreground"):
            raise ApiError(st.invalid_status({"kind": "DeleteOptions", "group": "", "plural": "deleteoptions"}, "", [st.not_supported("propagationPolicy", policy, ["Foreground", "Background", "Orphan", "nil"])]))
        if policy is None and options.get("orphanDependents") is not None:
            policy = "Orphan" if options["orphanDependents"] in (True, "true") else "Background"
        options["propagationPolicy"] = policy
        return options

    def _transform_delete(self, op: dict, current, fresh: bool, options: dict | None = None):
        info = op["info"]
        current = self._require_current(op, current, fresh)
        if options is None:
            options = self._delete_options(op, op["body"])
        meta = meta_of(current)
        pre = options.get("preconditions") if isinstance(options.get("preconditions"), dict) else {}
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            if not fresh:
                raise _Fetch(op["etcd_key"])
            raise ApiError(st.conflict(info, op["name"], f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {meta.get('uid')}"))
        if pre.get("resourceVersion") and str(pre["resourceVersion"]) != meta.get("resourceVersion"):
            if not fresh:
                raise _Fetch(op["etcd_key"])
            raise ApiError(st.conflict(info, op["name"], f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, ResourceVersion in object meta: {meta.get('resourceVersion')}"))
        if info["plural"] == "namespaces" and op["name"] in IMMORTAL_NAMESPACES:
            self._emit_stage(op, "admission", False, f"NamespaceLifecycle: namespace {op['name']} may not be deleted", plugin="NamespaceLifecycle")
            raise ApiError(st.forbidden_message(f'namespaces "{op["name"]}" is forbidden: this namespace may not be deleted', info, op["name"]))
        policy = options.get("propagationPolicy")
        finalizers = [f for f in meta.get("finalizers") or [] if isinstance(f, str)]
        if policy == "Orphan":
            finalizers = [f for f in finalizers if f != "foregroundDeletion"] + ([] if "orphan" in finalizers else ["orphan"])
        elif policy == "Foreground":
            finalizers = [f for f in finalizers if f != "orphan"] + ([] if "foregroundDeletion" in finalizers else ["foregroundDeletion"])
        elif policy == "Background":
            finalizers = [f for f in finalizers if f not in ("orphan", "foregroundDeletion")]
        grace = self._grace_period(info, current, options)
        self._emit_stage(op, "admission", True, f"admission: delete {info['kind']} {op['name']}" + (f" ({policy})" if policy else ""), propagation=policy, grace=grace)
        self._emit_stage(op, "validation", True, "delete options are valid")
        spec_finalizers = dig(current, "spec", "finalizers") if info["plural"] == "namespaces" else None
        if not finalizers and not grace and not spec_finalizers:
            return "delete", current
        new = copy_json(current)
        new_meta = new["metadata"]
        if finalizers:
            new_meta["finalizers"] = finalizers
        else:
            new_meta.pop("finalizers", None)
        if new_meta.get("deletionTimestamp"):
            old_grace = new_meta.get("deletionGracePeriodSeconds")
            if grace is not None and old_grace is not None and grace < old_grace:
                new_meta["deletionTimestamp"] = rfc3339(self.now + grace * SECOND)
                new_meta["deletionGracePeriodSeconds"] = grace
        else:
            new_meta["deletionTimestamp"] = rfc3339(self.now + (grace or 0) * SECOND)
            new_meta["deletionGracePeriodSeconds"] = grace or 0
            if info["generation"]:
                new_meta["generation"] = int(new_meta.get("generation") or 0) + 1
        if info["plural"] == "namespaces":
            new.setdefault("status", {})["phase"] = "Terminating"
        if not finalizers and not new_meta.get("deletionGracePeriodSeconds") and not spec_finalizers:
            return "delete", current
        if _same(new, current):
            return "noop", current
        return "put", new

    def _grace_period(self, info: dict, obj: dict, options: dict) -> int:
        """Pods bound to a node wait for their kubelet (grace period); everything else goes at once.
        The kubelet confirms a pod's end with a delete of grace period 0."""
        if info["plural"] != "pods":
            return 0
        if not dig(obj, "spec", "nodeName") or dig(obj, "status", "phase") in ("Succeeded", "Failed"):
            return 0
        grace = options.get("gracePeriodSeconds")
        if grace is None:
            grace = dig(obj, "spec", "terminationGracePeriodSeconds", default=30)
            if not isinstance(grace, int) or isinstance(grace, bool) or grace < 0:
                grace = 30
        return grace

    def _transform_eviction(self, op: dict, current, fresh: bool):
        current = self._require_current(op, current, fresh)
        eviction = self._decode_body(op, copy_json(op["body"]), kind="Eviction")
        name = dig(eviction, "metadata", "name")
        if name and name != op["name"]:
            raise ApiError(st.bad_request(f"name in URL does not match name in Eviction object ({name} != {op['name']})"))
        options = eviction.get("deleteOptions") if isinstance(eviction.get("deleteOptions"), dict) else {}
        options = self._delete_options(op, options)
        if dig(current, "metadata", "deletionTimestamp"):
            # Already terminating: evicting it again changes nothing.
            return self._transform_delete(op, current, fresh, options)
        allowed, message, causes = admission.check_disruption(self, op, current)
        if not allowed:
            self._emit_stage(op, "admission", False, f"PodDisruptionBudget: {causes[0]['message'] if causes else message}", plugin="PodDisruptionBudget")
            raise ApiError(st.too_many_requests(message, causes))
        return self._transform_delete(op, current, fresh, options)

    # --- deletecollection ------------------------------------------------------------------------------
    def _delete_collection(self, op: dict) -> None:
        info = op["info"]
        prefix = resource_prefix(info) + (f"{op['namespace']}/" if op["namespace"] else "")
        targets = [(k, o) for k, o in self.cache.items(op["plural"], prefix) if self._matches(op, o)]
        self._emit_stage(op, "cache", True, f"{self.name} deletes {len(targets)} {group_resource(info)} matching the selectors", count=len(targets))
        op["children"] = len(targets)
        op["deleted"] = []
        if not targets:
            self._reply(op, 200, {"kind": f"{info['kind']}List", "apiVersion": api_version(info), "metadata": {"resourceVersion": str(self.cache.revision)}, "items": []})
            return
        for _key, obj in targets:
            self.next_loopback += 1
            rid = self.next_loopback
            child_key = f"{self.name}#{rid}"
            meta = meta_of(obj)
            child = {
                "key": child_key, "client": self.name, "id": rid, "stage": "request", "started": self.now, "loopback": True, "purpose": "collection", "parent": op["key"],
                "verb": "delete", "info": info, "plural": info["plural"], "sub": None, "namespace": meta.get("namespace"), "name": meta.get("name"),
                "query": op["query"], "body": op["body"], "patch_type": None, "user": op["user"], "dry_run": op["dry_run"], "field_manager": None,
                "field_validation": "Ignore", "as_table": False, "include_object": "Metadata", "labels": [], "fields": [], "force": False,
            }
            self.ops[child_key] = child
            self._start_write(child)

    def _collection_child_done(self, child: dict, code: int, body) -> None:
        parent = self.ops.get(child.get("parent"))
        if parent is None:
            return
        parent["children"] -= 1
        if code < 300 and isinstance(body, dict):
            parent["deleted"].append(body)
        if parent["children"] <= 0:
            info = parent["info"]
            items = sorted(parent["deleted"], key=lambda o: (meta_of(o).get("namespace") or "", meta_of(o).get("name") or ""))
            self._reply(parent, 200, {"kind": f"{info['kind']}List", "apiVersion": api_version(info), "metadata": {"resourceVersion": str(self.cache.revision)}, "items": items})


# --- helpers --------------------------------------------------------------------------------------------------------
def _spec_of(obj: dict):
    """What a change of counts as a spec change for metadata.generation (everything but metadata and status)."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _same(a: dict, b: dict) -> bool:
    def strip(obj):
        out = dict(obj)
        meta = dict(out.get("metadata") or {})
        meta.pop("resourceVersion", None)
        meta.pop("managedFields", None)
        out["metadata"] = meta
        return out

    return strip(a) == strip(b)


def _default_manager(op: dict) -> str:
    """The field manager kube-apiserver records when the client names none (it uses the
    user agent; here the client's name)."""
    return op["client"]




_META_STRINGS = ("name", "generateName", "namespace", "resourceVersion", "uid", "creationTimestamp", "deletionTimestamp", "selfLink")


def _metadata_type_error(body: dict) -> str | None:
    """A JSON type error in metadata (what would fail to decode into ObjectMeta), or None.
    Null fields are dropped, as decoding leaves them unset."""
    if "metadata" not in body:
        return None
    meta = body["metadata"]
    if meta is None:
        del body["metadata"]
        return None
    if not isinstance(meta, dict):
        return f"json: cannot unmarshal {go_type(meta)} into Go struct field .metadata of type v1.ObjectMeta"
    for field in [f for f, v in meta.items() if v is None]:
        del meta[field]
    for field in _META_STRINGS:
        if field in meta and not isinstance(meta[field], str):
            return f"json: cannot unmarshal {go_type(meta[field])} into Go struct field ObjectMeta.metadata.{field} of type string"
    for field in ("generation", "deletionGracePeriodSeconds"):
        if field in meta and (isinstance(meta[field], bool) or not isinstance(meta[field], int)):
            return f"json: cannot unmarshal {go_type(meta[field])} into Go struct field ObjectMeta.metadata.{field} of type int64"
    for field in ("labels", "annotations"):
        if field in meta:
            value = meta[field]
            if not isinstance(value, dict):
                return f"json: cannot unmarshal {go_type(value)} into Go struct field ObjectMeta.metadata.{field} of type map[string]string"
            for item in value.values():
                if not isinstance(item, str):
                    return f"json: cannot unmarshal {go_type(item)} into Go struct field ObjectMeta.metadata.{field} of type string"
    if "finalizers" in meta:
        value = meta["finalizers"]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "json: cannot unmarshal into Go struct field ObjectMeta.metadata.finalizers of type []string"
    if "ownerReferences" in meta:
        value = meta["ownerReferences"]
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            return "json: cannot unmarshal into Go struct field ObjectMeta.metadata.ownerReferences of type []v1.OwnerReference"
    return None
