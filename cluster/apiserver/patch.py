"""Patches and field ownership, as pure functions over JSON data.

    merge_patch(target, patch)                      RFC 7386: null deletes, objects merge, the rest replaces
    strategic_merge_patch(original, patch, plural)  Kubernetes' strategic merge patch (subset, see below)
    json_patch(document, operations)                RFC 6902: add, remove, replace, move, copy, test
    apply_patch(patch_type, obj, patch, plural)     one of the above by name ("merge", "strategic", "json")
    server_side_apply(live, applied, manager, force, api_version, plural)
    record_managed_fields(obj, old, manager, operation, api_version, time, plural=...)

Strategic merge: maps merge recursively; lists of objects with a merge key merge item by
item (containers, initContainers, env, volumes, imagePullSecrets by `name`; container
ports by `containerPort`; Service ports by `port`; volumeMounts by `mountPath`;
conditions by `type`; ownerReferences by `uid`); metadata.finalizers merge as a set; every
other list is replaced. Directives: `$patch: replace | delete | merge` in a map or in a
list item, `$retainKeys`, `$setElementOrder/<list>` (orders the merged list) and
`$deleteFromPrimitiveList/<list>`.

Field ownership (managedFields) uses fieldsV1 paths: a path is a tuple of segments
"f:<field>", "k:<json of the merge key>", "v:<json value>" or "." (the list item itself).

    paths({"spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}}, "deployments")
      -> {("f:spec", "f:replicas"),
          ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"a"}', "."),
          ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"a"}', "f:image"),
          ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"a"}', "f:name")}

An Update gives its manager the fields it changed (and takes them from the others); an
Apply owns exactly the fields of the applied object. Applying a field that another
manager owns with a different value is a conflict (409) unless forced, which moves the
field to the applier. Fields the applier owned before and no longer applies are removed
when nobody else owns them.
"""

import json

from . import status as st
from .meta import copy_json


class PatchError(Exception):
    def __init__(self, status: dict):
        super().__init__(status.get("message", ""))
        self.status = status


SET = "<set>"  # a list merged as a set of primitives

# Merge keys by list field name; `ports` depends on where it is (see merge_key).
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "resourceClaims": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "conditions": "type",
    "ownerReferences": "uid",
    "podIPs": "ip",
    "hostIPs": "ip",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "addresses": "type",
}


def merge_key(plural: str, names: list[str]) -> str | None:
    """The merge key of the list at field path `names` (field names only), SET, or None (atomic)."""
    field = names[-1]
    if field == "finalizers" and len(names) == 2 and names[0] == "metadata":
        return SET
    if field == "ports":
        if plural == "services" and names == ["spec", "ports"]:
            return "port"
        if len(names) >= 2 and names[-2] in ("containers", "initContainers", "ephemeralContainers"):
            return "containerPort"
        return None
    if field == "addresses" and names[:2] != ["status", "addresses"]:
        return None
    if field == "conditions" and (len(names) < 2 or names[0] != "status"):
        return None
    return _MERGE_KEYS.get(field)


def _error(message: str, code: int = 422) -> PatchError:
    if code == 400:
        return PatchError(st.bad_request(message))
    status = st.invalid_generic("the server rejected our request due to an error in our request")
    status["details"] = {"causes": [{"reason": "UnexpectedServerResponse", "message": message}]}
    return PatchError(status)


# --- RFC 7386 merge patch ------------------------------------------------------------------------------
def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy_json(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- strategic merge patch ---------------------------------------------------------------------------------
_DELETE = object()


def _strip_directives(value):
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value if not (isinstance(v, dict) and v.get("$patch") in ("replace", "delete") and len(v) == 1)]
    return value


def strategic_merge_patch(original, patch: dict, plural: str):
    if not isinstance(patch, dict):
        raise _error("strategic merge patch must be a JSON object", 400)
    merged = _merge_map(original if isinstance(original, dict) else {}, patch, [], plural)
    return {} if merged is _DELETE else merged


def _merge_map(original, patch: dict, names: list, plural: str):
    if not isinstance(original, dict):
        original = {}
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip_directives({k: v for k, v in patch.items() if k != "$patch"})
    if directive == "delete":
        return _DELETE
    if directive not in (None, "merge"):
        raise _error(f"Unknown patch type: {directive} in map: {json.dumps(patch)}")
    result = dict(original)
    orders = {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list) and isinstance(value, list):
                result[field] = [v for v in result[field] if v not in value]
            continue
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        child = names + [key]
        if isinstance(value, dict):
            merged = _merge_map(result.get(key), value, child, plural)
            if merged is _DELETE:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, child, plural)
        else:
            result[key] = value
    for field, order in orders.items():
        if isinstance(result.get(field), list) and isinstance(order, list):
            result[field] = _ordered(result[field], order, merge_key(plural, names + [field]))
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _ordered(items: list, order: list, key) -> list:
    def ident(item):
        if key and key is not SET and isinstance(item, dict):
            return json.dumps(item.get(key), sort_keys=True)
        return json.dumps(item, sort_keys=True)

    def order_ident(entry):
        if key and key is not SET and isinstance(entry, dict):
            return json.dumps(entry.get(key), sort_keys=True)
        return json.dumps(entry, sort_keys=True)

    rank = {order_ident(entry): i for i, entry in enumerate(order)}
    indexed = list(enumerate(items))
    indexed.sort(key=lambda pair: (rank.get(ident(pair[1]), len(rank) + pair[0]), pair[0]))
    return [item for _i, item in indexed]


def _merge_list(original, patch: list, names: list, plural: str) -> list:
    key = merge_key(plural, names)
    if not isinstance(original, list):
        original = []
    if key is None:
        return _strip_directives(patch)
    if key is SET:
        result = list(original)
        for value in patch:
            if isinstance(value, dict) and value.get("$patch") == "replace":
                return [v for v in patch if not isinstance(v, dict)]
            if value not in result:
                result.append(value)
        return result
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [_strip_directives(item) for item in patch if not (isinstance(item, dict) and item.get("$patch") == "replace")]
    result = [copy_json(item) for item in original]
    for item in patch:
        if not isinstance(item, dict):
            # A primitive in a list of objects: the patch replaces the list.
            return _strip_directives(patch)
        if key not in item:
            raise _error(f"map: {json.dumps(item, sort_keys=True)} does not contain declared merge key: {key}")
        index = next((i for i, existing in enumerate(result) if isinstance(existing, dict) and existing.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            result = [existing for existing in result if not (isinstance(existing, dict) and existing.get(key) == item[key])]
            continue
        if index is None:
            result.append(_strip_directives(item))
        else:
            merged = _merge_map(result[index], item, names, plural)
            if merged is _DELETE:
                del result[index]
            else:
                result[index] = merged
    return result


# --- RFC 6902 JSON patch ---------------------------------------------------------------------------------
def _pointer(path) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise _error(f'invalid JSON pointer "{path}"', 400) if not isinstance(path, str) else _error(f"add operation does not apply: doc is missing path: \"{path}\"")
    if path == "":
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(doc, parts: list[str], path: str):
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict):
            if part not in node:
                raise _error(f'doc is missing path: "{path}": missing value')
            node = node[part]
        elif isinstance(node, list):
            index = _index(part, len(node), path)
            node = node[index]
        else:
            raise _error(f'doc is missing path: "{path}": missing value')
    return node


def _index(part: str, length: int, path: str, allow_end: bool = False) -> int:
    if part == "-" and allow_end:
        return length
    if not part.isdigit() or (len(part) > 1 and part.startswith("0")):
        raise _error(f'Unable to access invalid index: {part}: "{path}"')
    index = int(part)
    if index > length or (index == length and not allow_end):
        raise _error(f"Unable to access invalid index: {index}")
    return index


def _get(doc, path: str):
    parts = _pointer(path)
    if not parts:
        return doc
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _error(f'doc is missing path: "{path}": missing value')
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(last, len(parent), path)]
    raise _error(f'doc is missing path: "{path}": missing value')


def _add(doc, path: str, value):
    parts = _pointer(path)
    if not parts:
        return copy_json(value)
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = copy_json(value)
    elif isinstance(parent, list):
        parent.insert(_index(last, len(parent), path, allow_end=True), copy_json(value))
    else:
        raise _error(f'add operation does not apply: doc is missing path: "{path}": missing value')
    return doc


def _remove(doc, path: str):
    parts = _pointer(path)
    if not parts:
        raise _error("remove operation does not apply: cannot remove the whole document")
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _error(f'remove operation does not apply: doc is missing path: "{path}": missing value')
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(last, len(parent), path))
    raise _error(f'remove operation does not apply: doc is missing path: "{path}": missing value')


def json_patch(document, operations: list):
    if not isinstance(operations, list):
        raise _error("json patch must be a list of operations", 400)
    doc = copy_json(document)
    for operation in operations:
        if not isinstance(operation, dict):
            raise _error(f"json: cannot unmarshal {type(operation).__name__} into Go value of type jsonpatch.Operation", 400)
        op = operation.get("op")
        path = operation.get("path")
        if op not in ("add", "remove", "replace", "move", "copy", "test"):
            raise _error(f"Unexpected kind: {op}")
        if not isinstance(path, str):
            raise _error(f"{op} operation does not apply: missing path", 400)
        if op in ("add", "replace", "test") and "value" not in operation:
            raise _error(f"{op} operation does not apply: missing value", 400)
        if op == "add":
            doc = _add(doc, path, operation["value"])
        elif op == "remove":
            _remove(doc, path)
        elif op == "replace":
            parts = _pointer(path)
            if not parts:
                doc = copy_json(operation["value"])
                continue
            _get(doc, path)  # must exist
            parent = _parent(doc, parts, path)
            if isinstance(parent, dict):
                parent[parts[-1]] = copy_json(operation["value"])
            else:
                parent[_index(parts[-1], len(parent), path)] = copy_json(operation["value"])
        elif op in ("move", "copy"):
            source = operation.get("from")
            if not isinstance(source, str):
                raise _error(f"{op} operation does not apply: missing from path", 400)
            if op == "move" and (path == source or path.startswith(source + "/")):
                if path != source:
                    raise _error(f"move operation does not apply: from path \"{source}\" is a prefix of path \"{path}\"")
                continue
            value = copy_json(_get(doc, source))
            if op == "move":
                _remove(doc, source)
            doc = _add(doc, path, value)
        else:
            have = _get(doc, path) if _exists(doc, path) else _MISSING
            if have is _MISSING or not _json_equal(have, operation["value"]):
                raise _error(f'testing value {path} failed: test failed')
    return doc


_MISSING = object()


def _exists(doc, path: str) -> bool:
    try:
        _get(doc, path)
        return True
    except PatchError:
        return False


def _json_equal(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def apply_patch(patch_type: str, obj: dict, patch, plural: str):
    if patch_type == "merge":
        if not isinstance(patch, dict):
            raise _error("merge patch must be a JSON object", 400)
        return merge_patch(obj, patch)
    if patch_type == "strategic":
        return strategic_merge_patch(obj, patch, plural)
    if patch_type == "json":
        return json_patch(obj, patch)
    raise PatchError(st.unsupported_media_type(str(patch_type)))


# --- field paths and managedFields --------------------------------------------------------------------------
_META_UNOWNED = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "generateName"}


def _key_segment(item: dict, key: str) -> str:
    return "k:" + json.dumps({key: item.get(key)}, separators=(",", ":"), sort_keys=True)


def paths(obj, plural: str, scope: str = "spec") -> set:
    """The fieldsV1 paths of an object's fields: scope "spec" (everything but status) or "status"."""
    out: set = set()
    if not isinstance(obj, dict):
        return out
    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            continue
        if (key == "status") != (scope == "status"):
            continue
        if key == "metadata":
            if not isinstance(value, dict):
                continue
            for mkey, mvalue in value.items():
                if mkey in _META_UNOWNED:
                    continue
                _walk(mvalue, ("f:metadata", f"f:{mkey}"), ["metadata", mkey], plural, out)
            continue
        _walk(value, (f"f:{key}",), [key], plural, out)
    return out


def _walk(value, path: tuple, names: list, plural: str, out: set) -> None:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            _walk(child, path + (f"f:{key}",), names + [key], plural, out)
        return
    if isinstance(value, list) and value:
        key = merge_key(plural, names)
        if key is SET:
            for item in value:
                out.add(path + ("v:" + json.dumps(item, separators=(",", ":"), sort_keys=True),))
            return
        if key is not None and all(isinstance(item, dict) and key in item for item in value):
            for item in value:
                segment = _key_segment(item, key)
                out.add(path + (segment, "."))
                _walk(item, path + (segment,), names, plural, out)
            return
    out.add(path)


def value_at(obj, path: tuple):
    """The value at a fieldsV1 path, or _MISSING."""
    node = obj
    for segment in path:
        if segment == ".":
            return True
        if segment.startswith("f:"):
            if not isinstance(node, dict) or segment[2:] not in node:
                return _MISSING
            node = node[segment[2:]]
        elif segment.startswith("k:"):
            wanted = json.loads(segment[2:])
            if not isinstance(node, list):
                return _MISSING
            node = next((item for item in node if isinstance(item, dict) and all(item.get(k) == v for k, v in wanted.items())), _MISSING)
            if node is _MISSING:
                return _MISSING
        elif segment.startswith("v:"):
            wanted = json.loads(segment[2:])
            return wanted if isinstance(node, list) and wanted in node else _MISSING
        else:
            return _MISSING
    return node


def remove_path(obj, path: tuple) -> None:
    """Remove the field (or list item) at a fieldsV1 path, if present."""
    if not path:
        return
    if path[-1] == ".":
        path = path[:-1]
    parent = value_at(obj, path[:-1]) if len(path) > 1 else obj
    last = path[-1]
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif last.startswith("k:") and isinstance(parent, list):
        wanted = json.loads(last[2:])
        parent[:] = [item for item in parent if not (isinstance(item, dict) and all(item.get(k) == v for k, v in wanted.items()))]
    elif last.startswith("v:") and isinstance(parent, list):
        wanted = json.loads(last[2:])
        parent[:] = [item for item in parent if item != wanted]


def encode_fields(field_paths: set) -> dict:
    tree: dict = {}
    for path in sorted(field_paths):
        node = tree
        for segment in path:
            node = node.setdefault(segment, {})
    return tree


def decode_fields(tree, prefix: tuple = ()) -> set:
    out: set = set()
    if not isinstance(tree, dict):
        return out
    for segment, child in tree.items():
        if isinstance(child, dict) and child:
            out |= decode_fields(child, prefix + (segment,))
        else:
            out.add(prefix + (segment,))
    return out


def path_string(path: tuple) -> str:
    """structured-merge-diff's rendering: `.spec.template.spec.containers[name="nginx"].image`."""
    text = ""
    for segment in path:
        if segment == ".":
            continue
        if segment.startswith("f:"):
            text += "." + segment[2:]
        elif segment.startswith("k:"):
            keys = json.loads(segment[2:])
            text += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(keys.items())) + "]"
        elif segment.startswith("v:"):
            text += f"[={segment[2:]}]"
    return text


def _entries(obj) -> list[dict]:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    entries = meta.get("managedFields") if isinstance(meta, dict) else None
    out = []
    for entry in entries or []:
        if isinstance(entry, dict) and isinstance(entry.get("manager"), str):
            out.append({
                "manager": entry["manager"], "operation": entry.get("operation", "Update"), "apiVersion": entry.get("apiVersion", ""),
                "time": entry.get("time"), "subresource": entry.get("subresource", ""), "fields": decode_fields(entry.get("fieldsV1")),
            })
    return out


def _store_entries(obj: dict, entries: list[dict]) -> None:
    out = []
    for entry in entries:
        if not entry["fields"]:
            continue
        encoded = {"manager": entry["manager"], "operation": entry["operation"], "apiVersion": entry["apiVersion"]}
        if entry.get("time"):
            encoded["time"] = entry["time"]
        encoded["fieldsType"] = "FieldsV1"
        encoded["fieldsV1"] = encode_fields(entry["fields"])
        if entry.get("subresource"):
            encoded["subresource"] = entry["subresource"]
        out.append(encoded)
    meta = obj.setdefault("metadata", {})
    if out:
        meta["managedFields"] = out
    else:
        meta.pop("managedFields", None)


def record_managed_fields(obj: dict, old: dict | None, manager: str, operation: str, api_version: str, time: str,
                          subresource: str | None = None, fields: set | None = None, plural: str = "") -> None:
    """Update obj's managedFields for a write by `manager` (operation Update or Apply)."""
    scope = "status" if subresource == "status" else "spec"
    entries = _entries(old) if old is not None else []
    if operation == "Apply" and fields is None and old is not None:
        # server_side_apply has set the entries already.
        return
    new_paths = paths(obj, plural, scope) if fields is None else fields
    if old is None:
        changed, removed = (new_paths if fields is None else fields), set()
    else:
        old_paths = paths(old, plural, scope)
        removed = old_paths - new_paths
        changed = {p for p in new_paths if p not in old_paths or not _json_equal(value_at(obj, p), value_at(old, p))}
    sub = subresource or ""
    mine = None
    for entry in entries:
        if entry["manager"] == manager and entry["operation"] == operation and entry["subresource"] == sub:
            mine = entry
            continue
        entry["fields"] -= changed | removed
    if mine is None:
        if not changed:
            _store_entries(obj, entries)
            return
        mine = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": time, "subresource": sub, "fields": set()}
        entries.append(mine)
    mine["fields"] = (mine["fields"] - removed) | changed
    mine["time"] = time
    mine["apiVersion"] = api_version
    _store_entries(obj, entries)


def _manager_text(entry: dict) -> str:
    text = json.dumps(entry["manager"])
    if entry.get("subresource"):
        text += f' with subresource "{entry["subresource"]}"'
    if entry["operation"] == "Update":
        text += f" using {entry['apiVersion']}"
    return text


def conflict_status(conflicts: list[tuple[dict, tuple]]) -> dict:
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {_manager_text(entry)}", "field": path_string(path)} for entry, path in conflicts]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {_manager_text(entry)}: {path_string(path)}"
    else:
        by_manager: dict[str, list[str]] = {}
        for entry, path in conflicts:
            by_manager.setdefault(_manager_text(entry), []).append(path_string(path))
        lines = []
        for manager in sorted(by_manager):
            lines.append(f"conflicts with {manager}:")
            lines.extend(f"- {p}" for p in by_manager[manager])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return st.status(409, "Conflict", message, {"causes": causes})


def server_side_apply(live: dict, applied: dict, manager: str, force: bool, api_version: str, plural: str, time: str | None = None) -> dict:
    """Merge an applied configuration into the live object (raises PatchError 409 on conflicts)."""
    applied_paths = paths(applied, plural, "spec")
    entries = _entries(live)
    conflicts = []
    for entry in entries:
        if (entry["manager"] == manager and entry["operation"] == "Apply") or entry["subresource"]:
            continue
        for path in sorted(applied_paths & entry["fields"]):
            if path[-1] == ".":
                continue
            if not _json_equal(value_at(live, path), value_at(applied, path)):
                conflicts.append((entry, path))
    if conflicts and not force:
        raise PatchError(conflict_status(conflicts))
    for entry, path in conflicts:
        entry["fields"].discard(path)
    patch_doc = {k: v for k, v in applied.items() if k not in ("status",)}
    patch_doc["metadata"] = {k: v for k, v in (applied.get("metadata") or {}).items() if k not in _META_UNOWNED}
    merged = strategic_merge_patch(live, patch_doc, plural)
    mine = next((e for e in entries if e["manager"] == manager and e["operation"] == "Apply" and not e["subresource"]), None)
    previous = mine["fields"] if mine else set()
    others = set()
    for entry in entries:
        if entry is not mine:
            others |= entry["fields"]
    for path in sorted(previous - applied_paths, key=len, reverse=True):
        if path not in others and path[-1] != ".":
            remove_path(merged, path)
        elif path[-1] == "." and not any(p[: len(path) - 1] == path[:-1] for p in others | applied_paths if p != path):
            remove_path(merged, path)
    if mine is None:
        mine = {"manager": manager, "operation": "Apply", "apiVersion": api_version, "subresource": "", "fields": set()}
        entries.append(mine)
    mine["fields"] = set(applied_paths)
    mine["apiVersion"] = api_version
    mine["time"] = time
    _store_entries(merged, entries)
    return merged
