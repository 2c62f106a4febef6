"""What the simulation just did, in plain words: a step's events told as a few sentences.

Between two steps of a lesson the narration panel shows this account ("the scheduler bound
web-1 to node-2", "etcd-1 became the leader in term 3"). It is written here, on the server,
from the step's own events, so that it is deterministic (the same events, the same words),
tested, the same for the presenter and a student who joined late (a browser only holds the
events it saw), and part of a fast run's report too.

    account(events, seconds)  ->  [{"kind": "scheduler", "texts": {"en": "…", "zh-Hans": "…"}}, …]

`kind` is the event group (raft, scheduler, controller…) so the page can show the component's
shape beside the sentence. Similar events are told once with a count ("3 pods became Ready:
…"); sentences keep the order in which their first event happened; at most MAX_SENTENCES, then
one saying how many more kinds of thing happened. The last sentence counts the traffic.
"""

from collections import Counter

MAX_SENTENCES = 10
MAX_NAMES = 3  # names listed in one sentence before "and N more"

# controller names as Kubernetes writes them, for the generic sentence
CONTROLLER_NAMES = {
    "replicaset": "ReplicaSet", "deployment": "Deployment", "endpoints": "Endpoints", "endpointslice": "EndpointSlice",
    "garbagecollector": "garbage collector", "namespace": "Namespace", "nodelifecycle": "node lifecycle", "podgc": "pod GC", "eventgc": "event GC",
}
QUIET_ACTIONS = {"none", "wait"}  # a reconcile that found nothing to do is not news
CLIENT_WRITES = {"etcd.put", "etcd.delete", "etcd.txn"}


def _short(pod: str) -> str:
    """default/web-1 -> web-1 (a lesson's pods live in default unless it says otherwise)."""
    return pod[len("default/"):] if pod.startswith("default/") else pod


def _names(items: list[str], lang: str) -> str:
    shown = items[:MAX_NAMES]
    rest = len(items) - len(shown)
    if lang == "en":
        text = ", ".join(shown)
        return f"{text} and {rest} more" if rest else text
    text = "、".join(shown)
    return f"{text} 等 {len(items)} 个" if rest else text


def _why(summary: str) -> str:
    """The reason an English summary gives after its first ': ' (or nothing)."""
    _, sep, why = summary.partition(": ")
    return why if sep else ""


class _Story:
    """Sentences keyed by what they are about, in the order their first event came."""

    def __init__(self):
        self.order: list = []
        self.items: dict = {}

    def add(self, key, kind: str, value=None):
        if key not in self.items:
            self.order.append(key)
            self.items[key] = {"kind": kind, "values": []}
        if value is not None:
            self.items[key]["values"].append(value)


def account(events: list[dict], seconds: float | None = None) -> list[dict]:
    """The step's events told as sentences in every language (see the module's docstring)."""
    story = _Story()
    kubectl: dict[str, dict] = {}  # kubectl's requests by id, to pair them with their answers
    counts = Counter()
    revisions = set()
    for e in events:
        kind, src, data = e["kind"], e["source"], e.get("data") or {}
        counts["events"] += 1
        if kind == "net.send":
            counts["messages"] += 1
        elif kind == "net.crash":
            story.add(("crash", src), "net")
        elif kind == "net.restart":
            story.add(("restart", src), "net")
        elif kind == "net.partition":
            story.add(("partition", len(story.order)), "net", data.get("groups") or [])
        elif kind == "net.heal":
            story.add(("heal", len(story.order)), "net")
        elif kind == "raft.role" and data.get("role") == "leader":
            story.add(("leader", src, data.get("term")), "raft")
        elif kind == "raft.step_down":
            story.add(("step_down", src, data.get("term")), "raft")
        elif kind in CLIENT_WRITES and e.get("target") == "etcdctl":
            story.add(("etcd_write", data.get("key"), data.get("revision")), "etcd", (src, data.get("op")))
        elif kind == "etcd.error" and e.get("target") == "etcdctl":
            story.add(("etcd_error", src, data.get("error")), "etcd")
        elif kind == "api.request":
            counts["api"] += 1
            if e.get("target") == "kubectl" and data.get("request"):  # the API server receives from kubectl
                kubectl[data["request"]] = data
        elif kind == "api.response" and e.get("target") == "kubectl":
            request = kubectl.get(data.get("request"), {})
            if request.get("verb") not in (None, "get", "list", "watch") or data.get("code", 200) >= 400:
                story.add(("kubectl", data.get("request")), "api", (request, data))
        elif kind == "scheduler.bound":
            story.add(("bound",), "scheduler", (_short(data.get("pod", "")), data.get("node"), _why(e.get("summary", "").split(" to ", 1)[-1])))
        elif kind == "scheduler.attempt" and data.get("result") == "unschedulable":
            story.add(("unschedulable", data.get("pod")), "scheduler", _why(e.get("summary", "")))
        elif kind == "scheduler.preempt":
            story.add(("preempt", data.get("victim")), "scheduler", (data.get("pod"), data.get("node")))
        elif kind == "controller.reconcile" and data.get("action") not in QUIET_ACTIONS:
            story.add(("reconcile", data.get("controller"), data.get("key"), data.get("action")), "controller", (data, e.get("summary", "")))
        elif kind == "controller.evict":
            story.add(("evict",), "controller", (_short(data.get("key", "")), data.get("node")))
        elif kind == "kubelet.step" and data.get("step") == "ready":
            story.add(("ready",), "kubelet", (_short(data.get("pod", "")), src.split("/", 1)[0]))
        elif kind == "kubelet.backoff":
            crash = data.get("backoff") is not None  # an image pull's back-off carries no delay
            story.add(("backoff" if crash else "pull_backoff", data.get("pod"), data.get("container")), "kubelet", data.get("backoff"))
        elif kind == "kubelet.oom":
            story.add(("oom", data.get("pod"), data.get("container")), "kubelet")
        elif kind == "kubelet.pull_failed":
            story.add(("pull_failed", data.get("pod"), data.get("image")), "kubelet", src.split("/", 1)[0])
        elif kind == "kubelet.pod_removed":
            story.add(("removed",), "kubelet", _short(data.get("pod", "")))
        elif kind == "node.added":
            story.add(("node_added", data.get("node")), "kubelet")
        elif kind == "node.removed":
            story.add(("node_removed", data.get("node")), "kubelet")
        elif kind == "proxy.sync":
            story.add(("proxy",), "proxy", (data.get("node"), data.get("version")))
        elif kind == "watch.relist":
            story.add(("relist", src, data.get("resource")), "watch")
        elif kind == "traffic.done":
            story.add(("traffic", data.get("generator")), "traffic", data)
        if kind in CLIENT_WRITES and data.get("revision") is not None:
            revisions.add(data["revision"])  # every member applies each write: count revisions
    out = [{"kind": story.items[key]["kind"], "texts": _tell(key, story.items[key]["values"])} for key in story.order]
    if len(out) > MAX_SENTENCES:
        rest = len(out) - (MAX_SENTENCES - 1)
        out = out[: MAX_SENTENCES - 1] + [{"kind": "other", "texts": {
            "en": f"… and {rest} more things: the event log has every one.", "zh-Hans": f"……还有 {rest} 件事：事件日志里都有。"}}]
    if counts["events"]:
        span_en = f"In {round(seconds, 1):g} virtual seconds: " if seconds is not None else ""
        span_zh = f"在 {round(seconds, 1):g} 秒虚拟时间里：" if seconds is not None else ""
        out.append({"kind": "other", "texts": {
            "en": f"{span_en}{counts['messages']} messages on the network, {counts['api']} API requests, {len(revisions)} new etcd revisions.",
            "zh-Hans": f"{span_zh}网络上 {counts['messages']} 条消息，{counts['api']} 个 API 请求，{len(revisions)} 个新的 etcd 修订版本。"}})
    return out


def _tell(key: tuple, values: list) -> dict:
    what = key[0]
    if what == "crash":
        return {"en": f"{key[1]} crashed.", "zh-Hans": f"{key[1]} 崩溃了。"}
    if what == "restart":
        return {"en": f"{key[1]} restarted.", "zh-Hans": f"{key[1]} 重新启动。"}
    if what == "partition":
        sides = " | ".join(", ".join(g) for g in (values[0] if values else []))
        return {"en": f"The network was split: {sides}.", "zh-Hans": f"网络被分割：{sides}。"}
    if what == "heal":
        return {"en": "The network healed: every link works again.", "zh-Hans": "网络恢复：所有链路重新连通。"}
    if what == "leader":
        return {"en": f"{key[1]} became the etcd leader in term {key[2]}.", "zh-Hans": f"{key[1]} 在任期 {key[2]} 成为 etcd 的 leader。"}
    if what == "step_down":
        return {"en": f"{key[1]} stepped down as leader (term {key[2]}): it could no longer hear a majority.",
                "zh-Hans": f"{key[1]} 卸任 leader（任期 {key[2]}）：它联系不到多数成员了。"}
    if what == "etcd_write":
        member, op = values[0]
        return {"en": f"etcd ({member}) applied etcdctl's {op} of {key[1]}: revision {key[2]}.",
                "zh-Hans": f"etcd（{member}）应用了 etcdctl 对 {key[1]} 的 {op}：修订版本 {key[2]}。"}
    if what == "etcd_error":
        return {"en": f"etcdctl's request to {key[1]} failed: {key[2]}.", "zh-Hans": f"etcdctl 发往 {key[1]} 的请求失败：{key[2]}。"}
    if what == "kubectl":
        request, response = values[0]
        verb, resource, name = request.get("verb", "?"), request.get("resource", "?"), request.get("name")
        target = f"{resource}/{name}" if name else resource
        code = response.get("code")
        if code is not None and code >= 400:
            stage = {"authn": "authentication", "authz": "authorization", "admission": "admission", "validation": "validation"}.get(
                response.get("rejected_by"), response.get("rejected_by") or "the API server")
            zh_stage = {"authn": "认证", "authz": "授权", "admission": "准入", "validation": "校验"}.get(response.get("rejected_by"), "API 服务器")
            return {"en": f"The API server refused kubectl's {verb} {target}: {code} {response.get('reason', '')} at {stage}.".replace("  ", " "),
                    "zh-Hans": f"API 服务器拒绝了 kubectl 的 {verb} {target}：{code} {response.get('reason', '')}（在{zh_stage}阶段）。"}
        return {"en": f"kubectl's {verb} {target} went through the API server into etcd ({code}).",
                "zh-Hans": f"kubectl 的 {verb} {target} 经 API 服务器写入了 etcd（{code}）。"}
    if what == "bound":
        pods = [f"{pod} to {node}" for pod, node, _ in values]
        zh = [f"{pod} → {node}" for pod, node, _ in values]
        why = values[0][2] if len(values) == 1 and values[0][2] else ""
        return {"en": f"The scheduler bound {_names(pods, 'en')}" + (f": {why}." if why else "."),
                "zh-Hans": f"调度器绑定了 {_names(zh, 'zh-Hans')}。"}
    if what == "unschedulable":
        pod = _short(key[1] or "")
        why = values[-1] if values else ""
        return {"en": f"The scheduler could not place {pod}" + (f": {why.rstrip('.')}." if why else "."),
                "zh-Hans": f"调度器无法放置 {pod}：没有可用的节点。"}
    if what == "preempt":
        pod, node = values[0]
        return {"en": f"The scheduler preempted {_short(key[1] or '')} on {node} to make room for {_short(pod or '')}.",
                "zh-Hans": f"调度器抢占了 {node} 上的 {_short(key[1] or '')}，为 {_short(pod or '')} 腾出位置。"}
    if what == "reconcile":
        return _reconcile(key, values)
    if what == "evict":
        pods = [pod for pod, _ in values]
        return {"en": f"The node lifecycle controller evicted {_names(pods, 'en')} from {values[0][1]}.",
                "zh-Hans": f"节点生命周期控制器从 {values[0][1]} 驱逐了 {_names(pods, 'zh-Hans')}。"}
    if what == "ready":
        pods = list(dict.fromkeys(f"{pod} ({node})" for pod, node in values))  # a restarted container makes its pod ready again
        n = len(pods)
        return {"en": f"{n} pod{'s' if n > 1 else ''} became Ready: {_names(pods, 'en')}.", "zh-Hans": f"{n} 个 Pod 就绪：{_names(pods, 'zh-Hans')}。"}
    if what == "backoff":
        pod = _short(key[1] or "")
        wait = f"{values[-1]:g}"
        return {"en": f"{pod}'s container {key[2]} keeps crashing: CrashLoopBackOff, the kubelet waits {wait} s before the next restart.",
                "zh-Hans": f"{pod} 的容器 {key[2]} 反复崩溃：CrashLoopBackOff，kubelet 等 {wait} 秒再重启。"}
    if what == "pull_backoff":
        pod = _short(key[1] or "")
        return {"en": f"{pod}'s image cannot be pulled: ImagePullBackOff, the kubelet waits longer before each new try.",
                "zh-Hans": f"{pod} 的镜像拉取失败：ImagePullBackOff，kubelet 每次重试前等待更久。"}
    if what == "oom":
        pod = _short(key[1] or "")
        return {"en": f"The kernel OOM-killed {pod}'s container {key[2]}: it used more memory than its limit.",
                "zh-Hans": f"内核因内存超限杀死了 {pod} 的容器 {key[2]}（OOMKilled）。"}
    if what == "pull_failed":
        return {"en": f"{values[0]} cannot pull {key[2]} for {_short(key[1] or '')}: ErrImagePull.",
                "zh-Hans": f"{values[0]} 无法为 {_short(key[1] or '')} 拉取镜像 {key[2]}：ErrImagePull。"}
    if what == "removed":
        n = len(values)
        return {"en": f"{n} pod{'s' if n > 1 else ''} cleaned up by {'their kubelets' if n > 1 else 'its kubelet'}: {_names(values, 'en')}.",
                "zh-Hans": f"kubelet 清理了 {n} 个 Pod：{_names(values, 'zh-Hans')}。"}
    if what == "node_added":
        return {"en": f"Node {key[1]} joined the cluster.", "zh-Hans": f"节点 {key[1]} 加入了集群。"}
    if what == "node_removed":
        return {"en": f"Node {key[1]} was removed.", "zh-Hans": f"节点 {key[1]} 被移除。"}
    if what == "proxy":
        nodes = sorted({node for node, _ in values})
        return {"en": f"kube-proxy rewrote the Service rules on {_names(nodes, 'en')} ({len(values)} update{'s' if len(values) > 1 else ''}).",
                "zh-Hans": f"kube-proxy 在 {_names(nodes, 'zh-Hans')} 上重写了 Service 规则（{len(values)} 次更新）。"}
    if what == "relist":
        return {"en": f"{key[1]} re-listed {key[2]}: its watch had broken, so it read everything again.",
                "zh-Hans": f"{key[1]} 重新列举了 {key[2]}：它的 watch 断了，于是重新读取全部对象。"}
    if what == "traffic":
        d = values[-1]
        return {"en": f"{key[1]} sent {d.get('requests')} requests to {d.get('service')}: {d.get('errors')} errors.",
                "zh-Hans": f"{key[1]} 向 {d.get('service')} 发送了 {d.get('requests')} 个请求：{d.get('errors')} 个错误。"}
    raise ValueError(f"no words for {what}")


def _reconcile(key: tuple, values: list) -> dict:
    _, controller, obj, action = key
    data, summary = values[-1]
    name = CONTROLLER_NAMES.get(controller, controller)
    times = len(values)
    if controller == "replicaset" and action in ("create", "delete"):
        n = sum(d.get("count", 0) for d, _ in values)
        en_verb, zh_verb = ("created", "创建") if action == "create" else ("deleted", "删除")
        return {"en": f"The ReplicaSet controller {en_verb} {n} pod{'s' if n != 1 else ''} for {obj} (want {data.get('want')}).",
                "zh-Hans": f"ReplicaSet 控制器为 {obj} {zh_verb}了 {n} 个 Pod（期望 {data.get('want')} 个）。"}
    if controller == "nodelifecycle" and action == "unknown":
        return {"en": f"The node lifecycle controller heard nothing from {obj} for {data.get('silent', 0):.0f} s: it marked it NotReady (Unknown).",
                "zh-Hans": f"节点生命周期控制器 {data.get('silent', 0):.0f} 秒没有收到 {obj} 的心跳：将它标记为 NotReady（Unknown）。"}
    if controller == "nodelifecycle" and action == "taint":
        return {"en": f"The node lifecycle controller tainted {obj} {data.get('taint')}:NoExecute.",
                "zh-Hans": f"节点生命周期控制器给 {obj} 加上污点 {data.get('taint')}:NoExecute。"}
    if controller == "garbagecollector":
        return {"en": f"The garbage collector deleted {data.get('kind')} {data.get('name')}: its owner is gone.",
                "zh-Hans": f"垃圾回收器删除了 {data.get('kind')} {data.get('name')}：它的属主已经不在了。"}
    return {"en": summary if times == 1 else f"{summary} ({times} times)",
            "zh-Hans": f"{name} 控制器调和了 {obj}（{action}{f'，{times} 次' if times > 1 else ''}）。"}
