"""Label selectors, node selectors and tolerations, parsed once into tuples and matched fast.

    sel = label_selector({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]})
    matches(sel, {"app": "web", "tier": "a"})     True
    matches(None, {...})                          False: a nil selector selects nothing
    matches(EVERYTHING, {...})                    True:  an empty selector ({}) selects everything

A selector is a tuple of requirements (key, op, values) with op one of "in", "notin",
"exists", "!exists" and values a frozenset. Node selector terms add "gt" and "lt" (integer
comparison) and field requirements on metadata.name. Tolerations are (key, operator, value,
effect) tuples; taints are (key, value, effect).
"""

EVERYTHING: tuple = ()

_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists", "Gt": "gt", "Lt": "lt"}


class SelectorError(ValueError):
    pass


def label_selector(selector, *, extra: tuple = ()) -> tuple | None:
    """A metav1.LabelSelector: None (nil) selects nothing, {} everything. `extra` requirements
    (from matchLabelKeys) are added. A malformed selector raises SelectorError."""
    if selector is None:
        return None if not extra else tuple(extra)
    if not isinstance(selector, dict):
        raise SelectorError("a label selector must be an object")
    reqs = []
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, dict):
        raise SelectorError("matchLabels must be an object")
    for key in sorted(match_labels):
        reqs.append((key, "in", frozenset((str(match_labels[key]),))))
    for expr in selector.get("matchExpressions") or []:
        reqs.append(_requirement(expr, allow_numeric=False))
    return tuple(reqs) + tuple(extra)


def _requirement(expr, allow_numeric: bool) -> tuple:
    if not isinstance(expr, dict) or not isinstance(expr.get("key"), str):
        raise SelectorError("a match expression needs a key")
    op = _OPS.get(expr.get("operator"))
    if op is None or (op in ("gt", "lt") and not allow_numeric):
        raise SelectorError(f"{expr.get('operator')!r} is not a valid operator")
    values = expr.get("values") or []
    if not isinstance(values, list):
        raise SelectorError("values must be a list")
    if op in ("gt", "lt"):
        if len(values) != 1:
            raise SelectorError(f"{expr['operator']} needs exactly one value")
        try:
            return (expr["key"], op, int(values[0]))
        except (TypeError, ValueError):
            raise SelectorError(f"{expr['operator']} needs an integer value") from None
    return (expr["key"], op, frozenset(str(v) for v in values))


def matches(selector, labels: dict) -> bool:
    if selector is None:
        return False
    for key, op, values in selector:
        if op == "in":
            if labels.get(key) not in values:
                return False
        elif op == "notin":
            if key in labels and labels[key] in values:
                return False
        elif op == "exists":
            if key not in labels:
                return False
        elif op == "!exists":
            if key in labels:
                return False
        else:
            have = labels.get(key)
            try:
                number = int(have)
            except (TypeError, ValueError):
                return False
            if (op == "gt" and not number > values) or (op == "lt" and not number < values):
                return False
    return True


def selects_everything(selector) -> bool:
    return selector is not None and len(selector) == 0


# --- node selector terms (NodeAffinity) ----------------------------------------------------------
def node_selector_terms(terms) -> tuple:
    """requiredDuringScheduling nodeSelectorTerms: a tuple of (label requirements, field
    requirements). A term with neither matches no node (as in Kubernetes)."""
    out = []
    for term in terms or []:
        out.append(node_selector_term(term))
    return tuple(out)


def node_selector_term(term) -> tuple:
    if not isinstance(term, dict):
        raise SelectorError("a node selector term must be an object")
    exprs = tuple(_requirement(e, allow_numeric=True) for e in term.get("matchExpressions") or [])
    fields = []
    for f in term.get("matchFields") or []:
        req = _requirement(f, allow_numeric=False)
        if req[0] != "metadata.name" or req[1] not in ("in", "notin"):
            raise SelectorError("matchFields supports metadata.name with In or NotIn only")
        fields.append(req)
    return (exprs, tuple(fields))


def term_matches(term: tuple, name: str, labels: dict) -> bool:
    exprs, fields = term
    if not exprs and not fields:
        return False
    if exprs and not matches(exprs, labels):
        return False
    if fields and not matches(fields, {"metadata.name": name}):
        return False
    return True


def any_term_matches(terms: tuple, name: str, labels: dict) -> bool:
    for term in terms:
        if term_matches(term, name, labels):
            return True
    return False


# --- taints and tolerations ----------------------------------------------------------------------
def taints_of(node: dict) -> tuple:
    spec = node.get("spec") if isinstance(node.get("spec"), dict) else {}
    out = []
    for t in spec.get("taints") or []:
        if isinstance(t, dict) and isinstance(t.get("key"), str):
            out.append((t["key"], str(t.get("value") or ""), str(t.get("effect") or "")))
    return tuple(out)


def tolerations_of(spec: dict) -> tuple:
    out = []
    for t in (spec.get("tolerations") or []) if isinstance(spec, dict) else []:
        if isinstance(t, dict):
            out.append((str(t.get("key") or ""), str(t.get("operator") or "Equal"), str(t.get("value") or ""), str(t.get("effect") or "")))
    return tuple(out)


def tolerates(toleration: tuple, taint: tuple) -> bool:
    """v1.Toleration.ToleratesTaint: an empty effect matches every effect, an empty key with
    Exists matches every key, Equal compares values."""
    key, operator, value, effect = toleration
    t_key, t_value, t_effect = taint
    if effect and effect != t_effect:
        return False
    if key and key != t_key:
        return False
    if operator == "Exists":
        return True
    if operator in ("Equal", ""):
        return value == t_value
    return False


def tolerated(tolerations: tuple, taint: tuple) -> bool:
    for toleration in tolerations:
        if tolerates(toleration, taint):
            return True
    return False


def describe_taint(taint: tuple) -> str:
    """As kube-scheduler prints it in "had untolerated taint {key: value}"."""
    return "{" + f"{taint[0]}: {taint[1]}" + "}"
