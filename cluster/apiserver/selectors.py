"""Label and field selectors, parsed once into plain data and matched against objects.

    parse_labels("app=web,tier in (a, b),!canary")
        -> [["app", "=", ["web"]], ["tier", "in", ["a", "b"]], ["canary", "!", []]]
    parse_fields("spec.nodeName=n1,status.phase!=Running")
        -> [["spec.nodeName", "=", "n1"], ["status.phase", "!=", "Running"]]

Both raise SelectorError (a 400 BadRequest for the caller) on bad syntax. Field
selectors are checked against the fields each resource supports, as the real server
does (`field label not supported: foo`).
"""

from .meta import dig
from .validation_names import is_label_value, qualified_name_errors


class SelectorError(ValueError):
    pass


# --- label selectors ---------------------------------------------------------------------------
_SPECIAL = "=!(),<> \t\n"


def _tokens(text: str) -> list[str]:
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\n":
            i += 1
        elif c in "(),":
            out.append(c)
            i += 1
        elif c == "=":
            if text.startswith("==", i):
                out.append("==")
                i += 2
            else:
                out.append("=")
                i += 1
        elif c == "!":
            if text.startswith("!=", i):
                out.append("!=")
                i += 2
            else:
                out.append("!")
                i += 1
        elif c in "<>":
            out.append(c)
            i += 1
        else:
            j = i
            while j < n and text[j] not in _SPECIAL:
                j += 1
            out.append(text[i:j])
            i = j
    return out


def _is_identifier(token: str | None) -> bool:
    return token is not None and token not in ("(", ")", ",", "=", "==", "!=", "!", "<", ">")


def parse_labels(text) -> list:
    if text is None or text == "":
        return []
    if not isinstance(text, str):
        raise SelectorError("labelSelector must be a string")
    tokens = _tokens(text)
    reqs = []
    i = 0

    def peek(offset=0):
        return tokens[i + offset] if i + offset < len(tokens) else None

    while i < len(tokens):
        token = peek()
        if token == "!":
            key = peek(1)
            if not _is_identifier(key):
                raise SelectorError(f"unable to parse requirement: found '{key or 'EOS'}', expected: identifier")
            reqs.append([_check_key(key), "!", []])
            i += 2
        elif _is_identifier(token):
            key = _check_key(token)
            op = peek(1)
            if op is None or op == ",":
                reqs.append([key, "exists", []])
                i += 1
            elif op in ("=", "==", "!="):
                value = peek(2)
                if value is None or value == ",":
                    value, step = "", 2
                elif _is_identifier(value):
                    step = 3
                else:
                    raise SelectorError(f"unable to parse requirement: found '{value}', expected: identifier")
                reqs.append([key, "!=" if op == "!=" else "=", [_check_value(value)]])
                i += step
            elif op in ("in", "notin"):
                if peek(2) != "(":
                    raise SelectorError(f"unable to parse requirement: found '{peek(2) or 'EOS'}', expected: '('")
                i += 3
                values = []
                while True:
                    token = peek()
                    if token == ")":
                        i += 1
                        break
                    if token == ",":
                        i += 1
                        continue
                    if not _is_identifier(token):
                        raise SelectorError(f"unable to parse requirement: found '{token or 'EOS'}', expected: ',', ')' or identifier")
                    values.append(_check_value(token))
                    i += 1
                if op == "in" and not values:
                    raise SelectorError("unable to parse requirement: for 'in', 'notin' operators, values set can't be empty")
                reqs.append([key, op, sorted(set(values))])
            elif op in ("<", ">"):
                value = peek(2)
                try:
                    int(value)
                except (TypeError, ValueError):
                    raise SelectorError(f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer, got {value!r}") from None
                reqs.append([key, op, [value]])
                i += 3
            else:
                raise SelectorError(f"unable to parse requirement: found '{op}', expected: '=', '!=', '==', 'in', notin'")
        else:
            raise SelectorError(f"unable to parse requirement: found '{token}', expected: !, identifier, or 'end of string'")
        if i < len(tokens):
            if tokens[i] != ",":
                raise SelectorError(f"found '{tokens[i]}', expected: ',' or 'end of string'")
            i += 1
            if i == len(tokens):
                raise SelectorError("found 'EOS', expected: identifier")
    return reqs


def _check_key(key: str) -> str:
    problems = qualified_name_errors(key)
    if problems:
        raise SelectorError(f'unable to parse requirement: values[0][{key}]: Invalid value: "{key}": {problems[0]}')
    return key


def _check_value(value: str) -> str:
    if not is_label_value(value):
        raise SelectorError(f'unable to parse requirement: Invalid value: "{value}": a valid label must be an empty string or consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character')
    return value


def labels_match(reqs: list, labels) -> bool:
    if not reqs:
        return True
    if not isinstance(labels, dict):
        labels = {}
    for key, op, values in reqs:
        present = key in labels
        value = labels.get(key)
        if op == "=" or op == "in":
            if not present or value not in values:
                return False
        elif op == "!=" or op == "notin":
            if present and value in values:
                return False
        elif op == "exists":
            if not present:
                return False
        elif op == "!":
            if present:
                return False
        else:  # < and >
            try:
                have, want = int(value), int(values[0])
            except (TypeError, ValueError):
                return False
            if (op == ">" and not have > want) or (op == "<" and not have < want):
                return False
    return True


def selector_from_label_selector(selector) -> list | None:
    """A metav1.LabelSelector ({matchLabels, matchExpressions}) as parsed requirements;
    None for an empty or malformed one (callers decide what that means)."""
    if not isinstance(selector, dict):
        return None
    reqs = []
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, dict):
        return None
    for key, value in sorted(match_labels.items()):
        reqs.append([key, "=", [value]])
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, dict):
            return None
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}.get(expr.get("operator"))
        if op is None or not isinstance(expr.get("key"), str):
            return None
        values = expr.get("values") or []
        if not isinstance(values, list):
            return None
        reqs.append([expr["key"], op, sorted({str(v) for v in values})])
    return reqs


def selector_string(selector) -> str:
    """kubectl's rendering of a LabelSelector (`app=web,tier in (a,b)`)."""
    if not isinstance(selector, dict):
        return ""
    parts = []
    labels = selector.get("matchLabels")
    for key, value in sorted(labels.items() if isinstance(labels, dict) else []):
        parts.append(f"{key}={value}")
    expressions = selector.get("matchExpressions")
    for expr in expressions if isinstance(expressions, list) else []:
        if not isinstance(expr, dict):
            continue
        op = expr.get("operator")
        values = ",".join(sorted(str(v) for v in expr.get("values") or []))
        if op == "In":
            parts.append(f"{expr.get('key')} in ({values})")
        elif op == "NotIn":
            parts.append(f"{expr.get('key')} notin ({values})")
        elif op == "Exists":
            parts.append(f"{expr.get('key')}")
        elif op == "DoesNotExist":
            parts.append(f"!{expr.get('key')}")
    return ",".join(parts)


# --- field selectors ---------------------------------------------------------------------------
def parse_fields(text) -> list:
    if text is None or text == "":
        return []
    if not isinstance(text, str):
        raise SelectorError("fieldSelector must be a string")
    reqs = []
    for part in _split_unescaped(text, ","):
        if not part:
            continue
        for op in ("!=", "==", "="):
            index = _find_unescaped(part, op)
            if index >= 0:
                field = part[:index].strip()
                value = _unescape(part[index + len(op):])
                reqs.append([field, "!=" if op == "!=" else "=", value])
                break
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
    return reqs


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, current, escaped = [], [], False
    for c in text:
        if escaped:
            current.append("\\" + c)
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    parts.append("".join(current))
    return parts


def _find_unescaped(text: str, op: str) -> int:
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(op, i):
            return i
        i += 1
    return -1


def _unescape(text: str) -> str:
    out, escaped = [], False
    for c in text:
        if escaped:
            out.append(c)
            escaped = False
        elif c == "\\":
            escaped = True
        else:
            out.append(c)
    return "".join(out)


def _s(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pod_fields(obj) -> dict:
    return {
        "spec.nodeName": _s(dig(obj, "spec", "nodeName")),
        "spec.restartPolicy": _s(dig(obj, "spec", "restartPolicy")),
        "spec.schedulerName": _s(dig(obj, "spec", "schedulerName")),
        "spec.serviceAccountName": _s(dig(obj, "spec", "serviceAccountName")),
        "spec.hostNetwork": _s(bool(dig(obj, "spec", "hostNetwork"))),
        "status.phase": _s(dig(obj, "status", "phase")),
        "status.podIP": _s(dig(obj, "status", "podIP")),
        "status.nominatedNodeName": _s(dig(obj, "status", "nominatedNodeName")),
    }


def _event_fields(obj) -> dict:
    out = {f"involvedObject.{k}": _s(dig(obj, "involvedObject", k)) for k in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")}
    out.update(
        reason=_s(obj.get("reason")),
        reportingComponent=_s(obj.get("reportingComponent")),
        source=_s(dig(obj, "source", "component")),
        type=_s(obj.get("type")),
    )
    return out


EXTRA_FIELDS = {
    "pods": _pod_fields,
    "events": _event_fields,
    "nodes": lambda obj: {"spec.unschedulable": _s(bool(dig(obj, "spec", "unschedulable")))},
    "namespaces": lambda obj: {"status.phase": _s(dig(obj, "status", "phase"))},
    "secrets": lambda obj: {"type": _s(obj.get("type"))},
    "replicasets": lambda obj: {"status.replicas": _s(dig(obj, "status", "replicas", default=0))},
    "jobs": lambda obj: {"status.successful": _s(dig(obj, "status", "successful", default=0))},
}
SUPPORTED_FIELDS = {
    "pods": sorted(_pod_fields({})),
    "events": sorted(_event_fields({})),
    "nodes": ["spec.unschedulable"],
    "namespaces": ["status.phase"],
    "secrets": ["type"],
    "replicasets": ["status.replicas"],
    "jobs": ["status.successful"],
}


def check_fields(reqs: list, plural: str) -> None:
    allowed = {"metadata.name", "metadata.namespace"} | set(SUPPORTED_FIELDS.get(plural, ()))
    for field, _op, _value in reqs:
        if field not in allowed:
            raise SelectorError(f'field label not supported: {field}')


def object_fields(plural: str, obj: dict) -> dict:
    meta = obj.get("metadata") or {}
    fields = {"metadata.name": _s(meta.get("name")), "metadata.namespace": _s(meta.get("namespace"))}
    extra = EXTRA_FIELDS.get(plural)
    if extra is not None:
        fields.update(extra(obj))
    return fields


def fields_match(reqs: list, plural: str, obj: dict) -> bool:
    if not reqs:
        return True
    fields = object_fields(plural, obj)
    for field, op, value in reqs:
        have = fields.get(field, "")
        if (op == "=") != (have == value):
            return False
    return True
