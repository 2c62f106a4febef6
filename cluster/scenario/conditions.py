"""Conditions: what a step waits for and what it asserts. `check` answers (held, detail);
`describe` says in English and Chinese what was expected, for the run's report.

A condition reads the state of one cluster (state.py) and, for `event`, the events of the
current step. `$name` in a condition stands for something an action remembered (`as:`).
"""

import re

from ..apiserver.resources import lookup
from ..client.objects import is_pod_ready
from ..etcd.members import find_leader
from . import paths
from .schema import Condition, Selector
from .state import api_objects

TERMINAL_PHASES = ("Succeeded", "Failed")


def labels_of(selector: Selector | None) -> dict:
    if selector is None:
        return {}
    if isinstance(selector, dict):
        return dict(selector)
    out = {}
    for part in selector.split(","):
        key, _, value = part.partition("=")
        out[key.strip()] = value.strip()
    return out


def selector_text(selector: Selector | None) -> str:
    return ",".join(f"{k}={v}" for k, v in labels_of(selector).items())


def matching_pods(cluster, query) -> list[dict]:
    want = labels_of(query.selector)
    out = []
    for pod in api_objects(cluster, lookup("", "pods"), query.namespace):
        meta = pod.get("metadata") or {}
        labels = meta.get("labels") or {}
        if meta.get("deletionTimestamp") or (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
            continue
        if all(labels.get(k) == v for k, v in want.items()):
            out.append(pod)
    return out


def _count_ok(n: int, query, *, default_all_of: int | None = None) -> bool:
    if query.count is not None:
        return n == query.count
    if query.at_least is not None:
        return n >= query.at_least
    return n >= 1 and (default_all_of is None or n == default_all_of)


def _node_ready(cluster, name: str) -> str | None:
    node = next((n for n in api_objects(cluster, lookup("", "nodes")) if n["metadata"]["name"] == name), None)
    if node is None:
        return None
    ready = next((c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), {})
    return ready.get("status") or "Unknown"


def resolve(value, remembered: dict):
    if isinstance(value, str) and value.startswith("$"):
        name = value[1:]
        if name not in remembered:
            raise KeyError(f"nothing was remembered as {name} (an action's `as: {name}` sets it)")
        got = remembered[name]
        return got[0] if isinstance(got, list) and len(got) == 1 else got
    return value


def check(cond: Condition, cluster, state, events: list[dict], remembered: dict) -> tuple[bool, str]:
    kind = cond.kind
    if kind in ("pods ready", "pods pending"):
        q = cond.pods_ready or cond.pods_pending
        pods = matching_pods(cluster, q)
        if kind == "pods ready":
            ready = [p for p in pods if is_pod_ready(p)]
            return _count_ok(len(ready), q, default_all_of=len(pods)), f"{len(ready)} of {len(pods)} pods ready"
        pending = [p for p in pods if (p.get("status") or {}).get("phase", "Pending") == "Pending" and not (p.get("spec") or {}).get("nodeName")]
        return _count_ok(len(pending), q), f"{len(pending)} pods pending (unscheduled)"
    if kind in ("leader elected", "no leader"):
        leader = find_leader(cluster.etcd_members)
        name = leader.name if leader else None
        if kind == "no leader":
            return leader is None, f"leader: {name or 'none'}"
        q = cond.leader_elected
        excluded = resolve(q.not_, remembered) if q is not True and q.not_ else None
        return name is not None and name != excluded, f"leader: {name or 'none'}" + (f" (term {leader.raft.term})" if leader else "")
    if kind in ("node NotReady", "node Ready"):
        node = cond.node_not_ready or cond.node_ready
        status = _node_ready(cluster, node)
        held = status == "True" if kind == "node Ready" else status is not None and status != "True"
        return held, f"{node} Ready={status}" if status else f"no Node {node}"
    if kind == "event":
        q = cond.event
        found = [e for e in events if _event_matches(e, q)]
        ok = len(found) == q.count if q.count is not None else len(found) >= (q.at_least if q.at_least is not None else 1)
        detail = f"{len(found)} matching event(s)" + (f"; first #{found[0]['seq']}: {found[0]['summary']}" if found else "")
        return ok, detail
    return _check_path(cond, state, remembered)


def _event_matches(event: dict, q) -> bool:
    kind = event["kind"]
    if not (kind == q.kind or (q.kind.endswith(".") and kind.startswith(q.kind))):
        return False
    if q.source is not None and event.get("source") != q.source:
        return False
    if q.target is not None and event.get("target") != q.target:
        return False
    if q.summary_contains is not None and q.summary_contains not in (event.get("summary") or ""):
        return False
    data = event.get("data") or {}
    return all(paths._same(data.get(k), v) if not isinstance(v, (dict, list)) else data.get(k) == v for k, v in (q.data or {}).items())


_REMEMBERED = re.compile(r"\$([a-z0-9]([-a-z0-9]*[a-z0-9])?)")


def substitute(path: str, remembered: dict) -> str:
    """$name in a path stands for what an action remembered (a pod's name, a member)."""
    return _REMEMBERED.sub(lambda m: str(resolve(m.group(0), remembered)), path)


def _check_path(cond: Condition, state, remembered: dict) -> tuple[bool, str]:
    found, many = paths.select(state, substitute(cond.path, remembered))
    [op] = cond.comparisons()
    shown = _show(found if many else (found[0] if found else "(absent)"))
    if op == "exists":
        return bool(found) == bool(cond.exists), f"{'found' if found else 'absent'}"
    if op == "count":
        n = len(found) if many else (len(found[0]) if found and isinstance(found[0], (list, dict)) else len(found))
        return n == cond.count, f"count {n}"
    if not found:
        return op in ("not equals", "not contains"), "absent"
    if op in ("equals", "not equals"):
        want = resolve(cond.equals if op == "equals" else cond.not_equals, remembered)
        same = all(paths._same(v, want) for v in found)
        return same if op == "equals" else not any(paths._same(v, want) for v in found), shown
    if op in ("contains", "not contains"):
        want = resolve(cond.contains if op == "contains" else cond.not_contains, remembered)
        values = [x for v in found for x in (v if isinstance(v, list) else [v])] if many else (found[0] if isinstance(found[0], (list, str, dict)) else [found[0]])
        held = want in values if not isinstance(values, str) else str(want) in values
        return held == (op == "contains"), shown
    limit = resolve({"at least": cond.at_least, "at most": cond.at_most, "more than": cond.more_than, "less than": cond.less_than}[op], remembered)
    numbers = [v for v in found if paths._number(v)]
    if len(numbers) != len(found) or not paths._number(limit):
        return False, f"not a number: {shown} against {limit!r}"
    holds = {"at least": lambda v: v >= limit, "at most": lambda v: v <= limit, "more than": lambda v: v > limit, "less than": lambda v: v < limit}[op]
    return all(holds(v) for v in numbers), shown


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


# --- words --------------------------------------------------------------------------------
def _num(q, en_noun: str, zh_noun: str) -> tuple[str, str]:
    """("exactly 1 pod", "恰好 1 个 Pod"): a space between Chinese and a Latin word, as typeset."""
    singular = en_noun[:-1] if en_noun.endswith("s") else en_noun
    if q.count is not None:
        return f"exactly {q.count} {singular if q.count == 1 else en_noun}", f"恰好 {q.count} 个 {zh_noun}"
    if q.at_least is not None:
        return f"at least {q.at_least} {singular if q.at_least == 1 else en_noun}", f"至少 {q.at_least} 个 {zh_noun}"
    return f"every {singular}", f"所有 {zh_noun}"


def describe(cond: Condition, lang: str, cluster_label: str = "", remembered: dict | None = None) -> str:
    """The condition in words (the `text:` of the file when it gives one); $names that are
    remembered by now are shown as what they stand for."""
    if cond.text is not None:
        return cond.text.pick(lang)
    en, zh = _words(cond)
    if remembered:
        en, zh = (_REMEMBERED.sub(lambda m: str(resolve(m.group(0), remembered)) if m.group(1) in remembered else m.group(0), text) for text in (en, zh))
    prefix = f"[{cluster_label}] " if cluster_label else ""
    return prefix + (zh if lang == "zh-Hans" else en)


def _words(cond: Condition) -> tuple[str, str]:
    kind = cond.kind
    if kind in ("pods ready", "pods pending"):
        q = cond.pods_ready or cond.pods_pending
        sel = selector_text(q.selector)
        where_en = f" matching {sel}" if sel else ""
        where_zh = f"（标签 {sel}）" if sel else ""
        if kind == "pods ready":
            en, zh = _num(q, "pods", "Pod")
            return f"{en}{where_en} ready in {q.namespace}", f"命名空间 {q.namespace} 中{zh}{where_zh}已就绪"
        en, zh = _num(q, "pods", "Pod")
        return f"{en}{where_en} pending, not scheduled", f"{zh}{where_zh}处于 Pending，尚未调度"
    if kind == "leader elected":
        q = cond.leader_elected
        if q is not True and q.not_:
            return f"etcd has a leader other than {q.not_}", f"etcd 选出了 {q.not_} 以外的领导者"
        return "etcd has a leader", "etcd 已有领导者"
    if kind == "no leader":
        return "etcd has no leader", "etcd 没有领导者"
    if kind == "node NotReady":
        return f"node {cond.node_not_ready} is NotReady", f"节点 {cond.node_not_ready} 处于 NotReady"
    if kind == "node Ready":
        return f"node {cond.node_ready} is Ready", f"节点 {cond.node_ready} 处于 Ready"
    if kind == "event":
        q = cond.event
        if q.count is not None:
            en, zh = f"exactly {q.count}", f"恰好 {q.count} 个"
        elif q.at_least is not None:
            en, zh = f"at least {q.at_least}", f"至少 {q.at_least} 个"
        else:
            en, zh = "at least one", "出现"
        extra = "".join(f" {k}={v}" for k, v in (q.data or {}).items())
        by = f" from {q.source}" if q.source else ""
        return f"{en} {q.kind} event{by}{extra} during this step", f"本步骤中{zh} {q.kind} 事件{'（来自 ' + q.source + '）' if q.source else ''}{extra}"
    [op] = cond.comparisons()
    value = {"equals": cond.equals, "not equals": cond.not_equals, "at least": cond.at_least, "at most": cond.at_most, "more than": cond.more_than,
             "less than": cond.less_than,
             "count": cond.count, "exists": cond.exists, "contains": cond.contains, "not contains": cond.not_contains}[op]
    zh_op = {"equals": "等于", "not equals": "不等于", "at least": "至少为", "at most": "至多为", "more than": "大于", "less than": "小于", "count": "的数量为",
             "exists": "存在:",
             "contains": "包含", "not contains": "不包含"}[op]
    return f"{cond.path} {op} {value!r}", f"{cond.path} {zh_op} {value!r}"
