// The lesson glossary: terms of the architecture explained on hover and on keyboard focus, in
// English and Simplified Chinese. `withTerms(text, lang)` returns the text as DOM nodes (text
// nodes only: the server's words never become HTML) with each term's first mention marked.

const TERMS = [
  { id: "etcd", forms: ["etcd"], en: "etcd: the key-value store that holds every Kubernetes object. Its members agree on each write through Raft.",
    zh: "etcd：保存所有 Kubernetes 对象的键值存储。成员之间通过 Raft 就每次写入达成一致。" },
  { id: "quorum", forms: ["quorum", "majority", "法定人数", "多数派"], en: "Quorum: more than half of the etcd members. A write commits only when a quorum has it, so 3 members survive 1 failure and 5 survive 2.",
    zh: "法定人数（多数派）：超过一半的 etcd 成员。只有多数派收到写入才会提交，所以 3 个成员能容忍 1 个故障，5 个能容忍 2 个。" },
  { id: "term", forms: ["Raft term", "term", "任期"], en: "Raft term: an election number. Each election starts a new term; a member follows only a leader of its current term or a newer one.",
    zh: "Raft 任期：选举的编号。每次选举开始一个新任期；成员只追随当前或更新任期的 leader。" },
  { id: "leader", forms: ["leader", "领导者"], en: "Leader: the one etcd member that orders every write and replicates it to the followers. Elected by a quorum for one term.",
    zh: "Leader（领导者）：为所有写入排序并复制给跟随者的那个 etcd 成员，由多数派在一个任期内选出。" },
  { id: "follower", forms: ["follower", "跟随者"], en: "Follower: an etcd member that accepts the leader's log and votes in elections when the leader goes silent.",
    zh: "跟随者：接受 leader 日志的 etcd 成员；leader 沉默时参与选举投票。" },
  { id: "partition", forms: ["partition", "分区"], en: "Network partition: the network splits into sides that cannot reach each other; only a side with a quorum can elect a leader and commit.",
    zh: "网络分区：网络分裂成互相无法通信的几部分；只有拥有多数派的一侧才能选出 leader 并提交写入。" },
  { id: "watch", forms: ["watch", "watcher"], en: "Watch: a long request that streams every change to a kind of object from a revision on, instead of asking again and again.",
    zh: "Watch：一个长连接请求，从某个修订版本开始推送某类对象的每次变更，而不必反复查询。" },
  { id: "informer", forms: ["informer"], en: "Informer: a client's local cache of objects, filled by a list and kept current by a watch; controllers read from it.",
    zh: "Informer：客户端本地的对象缓存，先 list 填充，再由 watch 保持最新；控制器从中读取。" },
  { id: "relist", forms: ["re-list", "relist", "重新 list"], en: "Re-list: when a watch breaks or falls too far behind, the client lists everything again and repairs its cache.",
    zh: "重新 list：watch 断开或落后太多时，客户端重新列出全部对象并修复缓存。" },
  { id: "reconcile", forms: ["reconciles", "reconciled", "reconcile", "reconciling", "调谐", "调和"], en: "Reconcile: a controller compares the desired state with the actual one and acts on the difference, whatever caused it.",
    zh: "调谐：控制器比较期望状态与实际状态，并针对差异采取行动，不管差异从何而来。" },
  { id: "apiserver", forms: ["API server", "API 服务器", "kube-apiserver"], en: "API server: the only door to etcd. Every request passes authentication, authorization, admission and validation first.",
    zh: "API 服务器：通往 etcd 的唯一入口。每个请求都先经过认证、授权、准入和校验。" },
  { id: "admission", forms: ["admission", "准入"], en: "Admission: plugins that may change or refuse a request after it is authorized and before it is stored.",
    zh: "准入：在请求通过授权之后、写入之前，可以修改或拒绝请求的插件。" },
  { id: "rbac", forms: ["RBAC"], en: "RBAC: role-based access control. Roles list what may be done; RoleBindings give roles to users.",
    zh: "RBAC：基于角色的访问控制。Role 列出允许的操作，RoleBinding 把角色授予用户。" },
  { id: "scheduler", forms: ["scheduler", "调度器"], en: "Scheduler: picks a node for each new pod: filters out nodes that cannot run it, scores the rest, binds the pod to the best.",
    zh: "调度器：为每个新 Pod 选择节点：先过滤掉不能运行它的节点，再给其余节点打分，把 Pod 绑定到得分最高的节点。" },
  { id: "taint", forms: ["taint", "污点"], en: "Taint: a mark on a node that repels pods; only pods with a matching toleration may run there.",
    zh: "污点：节点上排斥 Pod 的标记；只有带有匹配容忍的 Pod 才能在那里运行。" },
  { id: "toleration", forms: ["toleration", "容忍"], en: "Toleration: a pod's permission to run on nodes with a matching taint.",
    zh: "容忍：Pod 允许运行在带有匹配污点的节点上。" },
  { id: "preemption", forms: ["preemption", "preempts", "preempt", "抢占"], en: "Preemption: a pending pod of higher priority evicts lower-priority pods to make room on a node.",
    zh: "抢占：优先级更高的待调度 Pod 驱逐优先级较低的 Pod，以在节点上腾出空间。" },
  { id: "kubelet", forms: ["kubelet"], en: "Kubelet: the agent on each node. It watches the pods bound to its node and asks the container runtime to run them.",
    zh: "kubelet：每个节点上的代理。它监视绑定到本节点的 Pod，并请容器运行时运行它们。" },
  { id: "proxy", forms: ["kube-proxy"], en: "kube-proxy: writes each node's rules (iptables or IPVS) that send a Service's traffic to its ready pods.",
    zh: "kube-proxy：在每个节点上写入规则（iptables 或 IPVS），把 Service 的流量转发到就绪的 Pod。" },
  { id: "endpointslice", forms: ["EndpointSlice"], en: "EndpointSlice: the list of a Service's pod addresses and whether each is ready; kube-proxy builds its rules from it.",
    zh: "EndpointSlice：Service 的 Pod 地址列表以及各自是否就绪；kube-proxy 据此生成规则。" },
  { id: "crashloop", forms: ["CrashLoopBackOff"], en: "CrashLoopBackOff: a container keeps exiting; the kubelet waits 10 s, 20 s, 40 s… (up to 5 min) before each restart.",
    zh: "CrashLoopBackOff：容器反复退出；kubelet 在每次重启前等待 10 秒、20 秒、40 秒……（最多 5 分钟）。" },
  { id: "oom", forms: ["OOMKilled"], en: "OOMKilled: the kernel killed the container because it used more memory than its limit (exit code 137).",
    zh: "OOMKilled：容器使用的内存超过限制，被内核杀死（退出码 137）。" },
  { id: "gc", forms: ["garbage collector", "垃圾回收器", "属主"], en: "Garbage collector: deletes objects whose owner (ownerReferences) is gone, so deleting a Deployment removes its ReplicaSets and pods.",
    zh: "垃圾回收器：删除属主（ownerReferences）已不存在的对象，所以删除 Deployment 会连带删除它的 ReplicaSet 和 Pod。" },
  { id: "namespace", forms: ["namespace", "命名空间"], en: "Namespace: a named group of objects; deleting it deletes everything in it before it disappears.",
    zh: "命名空间：一组对象的名字空间；删除它时会先删除其中的所有对象，然后它才消失。" },
  { id: "lease", forms: ["Lease", "租约"], en: "Lease: a small object renewed as a heartbeat (kubelets every 10 s) or to hold leadership (the controller manager).",
    zh: "Lease（租约）：作为心跳定期续约的小对象（kubelet 每 10 秒一次），或用来持有领导权（控制器管理器）。" },
  { id: "iptables", forms: ["iptables"], en: "iptables mode: kube-proxy writes chains that pick a pod at random, with a probability per rule.",
    zh: "iptables 模式：kube-proxy 写入规则链，按每条规则的概率随机选择 Pod。" },
  { id: "ipvs", forms: ["IPVS"], en: "IPVS mode: the kernel's load balancer; kube-proxy sets a virtual server per Service, round-robin by default.",
    zh: "IPVS 模式：内核的负载均衡器；kube-proxy 为每个 Service 设置一个虚拟服务器，默认轮询。" },
];

const FORMS = TERMS.flatMap((t) => t.forms.map((form) => ({ form, term: t }))).sort((a, b) => b.form.length - a.form.length);
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
// latin forms match whole words (not "term" in "determine"); Chinese forms match anywhere
const PATTERN = new RegExp(
  FORMS.map(({ form }) => (/^[\x20-\x7e]+$/.test(form) ? `(?<![A-Za-z-])${escape(form)}(?![A-Za-z])` : escape(form))).join("|"),
  "gi",
);
const BY_FORM = new Map(FORMS.map(({ form, term }) => [form.toLowerCase(), term]));

export function glossaryTerms() {
  return TERMS;
}

let tipCounter = 0;

/** One marked term: focusable, its definition in a tooltip (role=tooltip, aria-describedby). */
export function termElement(shown, term, lang) {
  const span = document.createElement("span");
  span.className = "lesson-term";
  span.tabIndex = 0;
  span.dataset.term = term.id;
  span.textContent = shown;
  const tip = document.createElement("span");
  tip.className = "lesson-tip";
  tip.setAttribute("role", "tooltip");
  tip.id = `lesson-tip-${++tipCounter}`;
  tip.textContent = lang === "zh-Hans" ? term.zh : term.en;
  span.setAttribute("aria-describedby", tip.id);
  span.appendChild(tip);
  return span;
}

/** The text as nodes, the first mention of each term marked (`seen` carries over between blocks). */
export function withTerms(text, lang, seen = new Set()) {
  const out = document.createDocumentFragment();
  let last = 0;
  for (const match of String(text).matchAll(PATTERN)) {
    const term = BY_FORM.get(match[0].toLowerCase());
    if (!term || seen.has(term.id)) continue;
    seen.add(term.id);
    out.append(document.createTextNode(text.slice(last, match.index)), termElement(match[0], term, lang));
    last = match.index + match[0].length;
  }
  out.append(document.createTextNode(String(text).slice(last)));
  return out;
}
