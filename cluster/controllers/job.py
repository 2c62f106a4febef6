"""Job controller (pkg/controller/job): run pods to completion.

sync(key):
    finished (Complete or Failed condition) ─▶ nothing (active pods of a failed Job are deleted)
    succeeded >= completions ─────────────────▶ Complete (completionTime), delete leftover active pods
    failed > backoffLimit ────────────────────▶ Failed (BackoffLimitExceeded), delete active pods
    active < min(parallelism, completions - succeeded) ─▶ create the difference, but after a failure
        only once the back-off since the last failure has passed (10 s · 2^(failures-1), at most 6 min)
    active > that ────────────────────────────▶ delete the surplus
    status: startTime, active, ready, succeeded, failed, conditions, completionTime

Succeeded and failed are counted from the Job's pods (the real controller tracks them with a
finalizer so that deleted pods still count; here a count never goes down).
"""

from ..apiserver.meta import copy_json, dig, meta_of, parse_time, rfc3339
from ..client import is_pod_ready, key_of, split_key
from ..kernel import SECOND
from .base import Controller, Expectations, condition, plural, pod_from_template

BACKOFF_BASE_US = 10 * SECOND
BACKOFF_MAX_US = 360 * SECOND


class JobController(Controller):
    name = "job"
    label = "Job"

    def setup(self) -> None:
        self.expectations = Expectations()
        self.jobs = self.informer("jobs", "on_job", indexes=("namespace",))
        self.pods = self.informer("pods", "on_pod", indexes=("namespace", "controller", "node", "owner"))

    def stop(self) -> None:
        self.expectations = Expectations()

    def on_job(self, event, obj, old) -> None:
        self.queue.add(key_of(obj))

    def on_pod(self, event, pod, old) -> None:
        key = self.expectations.observe_pod(event, pod, "Job")
        if key is not None:
            self.queue.add(key)

    def sync(self, key: str):
        job = self.jobs.get(key)
        if job is None:
            self.expectations.forget(key)
            return True
        namespace, name = split_key(key)
        spec = job.get("spec") or {}
        status = copy_json(job.get("status") or {})
        pods = self.pods.by_index("controller", meta_of(job).get("uid"))
        active = [p for p in pods if dig(p, "status", "phase") not in ("Succeeded", "Failed") and not meta_of(p).get("deletionTimestamp")]
        succeeded = max(status.get("succeeded", 0), sum(1 for p in pods if dig(p, "status", "phase") == "Succeeded"))
        failed_pods = [p for p in pods if dig(p, "status", "phase") == "Failed"]
        failed = max(status.get("failed", 0), len(failed_pods))
        completions = spec.get("completions")
        parallelism = spec.get("parallelism", 1) if isinstance(spec.get("parallelism"), int) else 1
        backoff_limit = spec.get("backoffLimit", 6) if isinstance(spec.get("backoffLimit"), int) else 6
        what = f"Job {key}"
        conditions = list(status.get("conditions") or [])
        finished = next((c for c in conditions if c.get("type") in ("Complete", "Failed") and c.get("status") == "True"), None)
        status.setdefault("startTime", rfc3339(self.now))
        deletes, creates = [], 0
        if finished is not None:
            deletes = active
            self.reconcile(key, "none" if not deletes else "delete", f"{what}: {finished['type'].lower()}" + (f", deleting {plural(len(deletes), 'active pod')}" if deletes else ""))
        elif completions is not None and succeeded >= completions:
            deletes = active
            self._finish(status, "Complete", "CompletionsReached", "Reached expected number of succeeded pods")
            self.reconcile(key, "complete", f"{what}: {succeeded} of {completions} completions, complete")
        elif completions is None and succeeded > 0 and not active:
            self._finish(status, "Complete", "CompletionsReached", "Reached expected number of succeeded pods")
            self.reconcile(key, "complete", f"{what}: a pod succeeded and none is running, complete")
        elif failed > backoff_limit:
            deletes = active
            self._finish(status, "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
            self.reconcile(key, "fail", f"{what}: {failed} failed pod(s) > backoffLimit {backoff_limit}, failed" + (f"; deleting {plural(len(deletes), 'active pod')}" if deletes else ""))
        else:
            want = parallelism if completions is None else min(parallelism, completions - succeeded)
            if dig(spec, "suspend"):
                want = 0
            have = len(active)
            if not self.expectations.satisfied(key, self.now):
                self.reconcile(key, "wait", f"{what}: waiting to see earlier pod creations")
            elif have < want:
                wait_us = self._backoff_left(failed_pods, failed)
                if wait_us > 0:
                    self.reconcile(key, "backoff", f"{what}: {failed} failure(s); next pod in {wait_us / SECOND:.1f} s (back-off)", failed=failed)
                    self.queue.add_after(key, wait_us)
                else:
                    creates = want - have
                    self.reconcile(key, "create", f"{what}: want {want} running ({succeeded} of {completions if completions is not None else '∞'} done), have {have}, creating {plural(creates, 'pod')}",
                                   want=want, have=have, count=creates)
            elif have > want:
                deletes = sorted(active, key=lambda p: (is_pod_ready(p), meta_of(p).get("creationTimestamp") or ""))[: have - want]
                self.reconcile(key, "delete", f"{what}: want {want} running, have {have}, deleting {plural(len(deletes), 'pod')}")
            else:
                self.reconcile(key, "none", f"{what}: {have} running, {succeeded} succeeded, {failed} failed, nothing to do", want=want, have=have)
        if creates:
            self.expectations.expect(key, self.now, adds=creates)
            for _ in range(creates):
                body = pod_from_template(dig(job, "spec", "template", default={}), job, generate_name=f"{name}-")
                self.request("create", "pods", namespace=namespace, body=body, then=self.handler("created"), context=key)
        for pod in deletes:
            self.request("delete", "pods", namespace=namespace, name=meta_of(pod).get("name"), ok=(404,), body={"preconditions": {"uid": meta_of(pod).get("uid")}})
        status["active"] = len(active) - len(deletes) + creates
        status["ready"] = sum(1 for p in active if is_pod_ready(p))
        status["succeeded"] = succeeded
        status["failed"] = failed
        for field in ("active", "succeeded", "failed"):
            if not status[field]:
                status.pop(field)
        status.setdefault("uncountedTerminatedPods", {})
        if status != (job.get("status") or {}):
            body = copy_json(job)
            body["status"] = status
            self.request("update", "jobs", subresource="status", namespace=namespace, name=name, body=body, ok=(404, 409))
        return True

    def created(self, response, key) -> None:
        if response.get("code", 0) >= 300:
            self.expectations.creation_observed(key)

    def _backoff_left(self, failed_pods: list, failed: int) -> int:
        if not failed:
            return 0
        last = max((parse_time(self._finished_at(p)) or 0 for p in failed_pods), default=0)
        delay = min(BACKOFF_MAX_US, BACKOFF_BASE_US * 2 ** (failed - 1))
        return max(0, last + delay - self.now)

    @staticmethod
    def _finished_at(pod: dict) -> str | None:
        ready = condition(pod, "Ready")
        return ready.get("lastTransitionTime") if ready else meta_of(pod).get("creationTimestamp")

    def _finish(self, status: dict, kind: str, reason: str, message: str) -> None:
        stamp = rfc3339(self.now)
        status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != kind] + [
            {"type": kind, "status": "True", "reason": reason, "message": message, "lastProbeTime": stamp, "lastTransitionTime": stamp}]
        if kind == "Complete":
            status["completionTime"] = stamp
