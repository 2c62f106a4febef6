"""The user's etcd client: requests typed in the dashboard or sent to the REST API.

It is an endpoint on the simulated network like any other, so its requests and the
answers travel, get delayed, lost and partitioned like every other message. Each request
is remembered with what became of it:

    pending ──answer──▶ done (ok or error from the member)
       │
       └─dropped on the way (the member never saw it)──▶ failed, outcome "failed"

A request that is neither answered nor dropped is the caller's to time out: a write may
then have taken effect ("unknown"), a read has not ("failed").
"""

from ..kernel import Component

WRITE_OPS = ("put", "delete", "cas")
EXPIRE_US = 300_000_000  # a request unanswered for 5 virtual minutes is given up (outcome unknown)
KEEP_FINISHED = 1000  # finished requests remembered for callers to read (oldest forgotten first)


class EtcdCtl(Component):
    kind = "etcdctl"

    def __init__(self, sim, name: str = "etcdctl"):
        super().__init__(sim, name)
        self.next_id = 0
        self.requests: dict[int, dict] = {}  # id -> {"request", "member", "state", "response"}
        self.finished: list[int] = []  # ids in the order they finished

    def submit(self, request: dict, member: str) -> int:
        self.next_id += 1
        rid = self.next_id
        payload = dict(request, id=rid)
        self.requests[rid] = {"request": payload, "member": member, "state": "pending", "response": None, "sent": self.now}
        op = request["op"]
        what = f"{op} {request['key']}" + (f"={request['value']}" if op in ("put", "cas") and request.get("value") is not None else "")
        self.set_timer(EXPIRE_US, "expire", rid)
        self.send(member, "etcd.request", payload, summary=f"etcdctl → {member}: {what}", info={"rpc": "Client", "op": op, "key": request["key"], "request": rid})
        return rid

    def on_message(self, msg) -> None:
        if msg.kind != "etcd.response":
            return
        entry = self.requests.get(msg.payload.get("id"))
        if entry is None or entry["state"] != "pending":
            return
        self._finish(entry, "done", msg.payload)

    def on_timer(self, tag: str, data) -> None:
        entry = self.requests.get(data) if tag == "expire" else None
        if entry is not None and entry["state"] == "pending":
            outcome = "unknown" if entry["request"]["op"] in WRITE_OPS else "failed"
            self._finish(entry, "failed", {"id": data, "ok": False, "error": "no answer from the member within 5 virtual minutes", "outcome": outcome})

    def on_undeliverable(self, msg, reason: str) -> None:
        if msg.kind != "etcd.request":
            return
        entry = self.requests.get(msg.payload["id"])
        if entry is not None and entry["state"] == "pending":
            self._finish(entry, "failed", {"id": msg.payload["id"], "ok": False, "error": f"request not delivered to {msg.target}: {reason}", "outcome": "failed"})

    def _finish(self, entry: dict, state: str, response: dict) -> None:
        # Reading a result never changes state (the dashboard only reads), so finished
        # requests are forgotten here, deterministically, oldest first.
        entry["state"], entry["response"] = state, response
        self.finished.append(entry["request"]["id"])
        while len(self.finished) > KEEP_FINISHED:
            self.requests.pop(self.finished.pop(0), None)

    def result(self, rid: int) -> dict | None:
        """The member's answer (or the delivery failure), or None while pending."""
        entry = self.requests.get(rid)
        return None if entry is None or entry["state"] == "pending" else entry["response"]

    def view(self) -> dict:
        return {**super().view(), "pending": sum(1 for e in self.requests.values() if e["state"] == "pending")}
