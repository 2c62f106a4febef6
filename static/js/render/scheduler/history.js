// A pod's scheduling history: every attempt the scheduler recorded (oldest first), each with
// its outcome in words, the FailedScheduling message as Kubernetes prints it, and a button
// that holds that attempt's decision table.

import { gettext, interpolate } from "../../i18n.js";
import { el, podButton, seconds } from "./dom.js";

const RESULT_WORDS = { scheduled: gettext("✓ scheduled"), unschedulable: gettext("✕ unschedulable"), error: gettext("✕ error") };

/**
 * history: {pod, attempts: [record...] | null, error: string | null}
 * binding: the live binding of the pod from events ({state, node, at}) or null
 * onShow(attempt): hold that attempt's table
 */
export function renderHistory(root, history, { binding, shownAttempt, onShow, onClose }) {
  root.replaceChildren();
  const head = el("div", "sched-history-head");
  const h = el("h3", "sched-h");
  h.append(gettext("Scheduling history of "), el("code", "", history.pod));
  const close = el("button", "btn btn-small", gettext("Close"));
  close.type = "button";
  close.setAttribute("aria-label", interpolate(gettext("Close the scheduling history of %(pod)s"), { pod: history.pod }));
  close.addEventListener("click", onClose);
  head.append(h, close);
  root.append(head);
  if (history.error) {
    root.append(el("p", "hint sched-history-error", history.error));
    return;
  }
  if (!history.attempts) {
    root.append(el("p", "hint", gettext("Fetching its attempts…")));
    return;
  }
  const list = el("ol", "sched-attempts");
  list.setAttribute("aria-label", interpolate(gettext("Attempts for %(pod)s, oldest first"), { pod: history.pod }));
  const newest = history.attempts.length ? history.attempts[history.attempts.length - 1].attempt : null;
  for (const a of history.attempts) {
    const li = el("li", "sched-attempt");
    li.dataset.attempt = String(a.attempt);
    li.dataset.result = a.result;
    if (a.attempt === shownAttempt) li.classList.add("is-shown");
    const top = el("div", "attempt-top");
    top.append(el("b", "", interpolate(gettext("Attempt %(n)s"), { n: a.attempt })), el("span", "attempt-time", ` ${interpolate(gettext("at %(time)s"), { time: seconds(a.time) })} `), el("span", `attempt-result result-${a.result}`, RESULT_WORDS[a.result] ?? a.result));
    if (a.node) top.append(interpolate(gettext(" on %(node)s"), { node: a.node }));
    const show = el("button", "btn btn-small", a.attempt === shownAttempt ? gettext("table shown") : gettext("Show its table"));
    show.type = "button";
    show.disabled = a.attempt === shownAttempt;
    show.addEventListener("click", () => onShow(a));
    top.append(show);
    li.append(top);
    if (a.message) {
      const m = el("p", "k8s-message");
      m.append(el("span", "k8s-reason", "Warning FailedScheduling "), el("span", "", a.message));
      li.append(m);
    } else if (a.why) {
      li.append(el("p", "attempt-why", interpolate(gettext("Why %(node)s: %(why)s"), { node: a.node, why: a.why })));
    }
    const facts = [interpolate(gettext("examined %(n)s of %(total)s"), { n: a.examined, total: a.total_nodes }), interpolate(gettext("%(n)s feasible"), { n: a.feasible })];
    let bindingText = a.binding;
    if (a.attempt === newest && binding && a.result === "scheduled") bindingText = binding.state === "sent" ? gettext("in flight") : binding.state;
    if (bindingText) facts.push(interpolate(gettext("binding: %(state)s"), { state: bindingText }));
    li.append(el("p", "attempt-facts", facts.join(" · ")));
    if (a.nominated_node) {
      const p = el("p", "attempt-facts");
      p.append(interpolate(gettext("nominated %(node)s; victims: "), { node: a.nominated_node }));
      if (!a.victims?.length) p.append(gettext("none"));
      a.victims?.forEach((v, i) => p.append(...(i ? [", "] : []), podButton(v)));
      li.append(p);
    }
    list.append(li);
  }
  if (!history.attempts.length) root.append(el("p", "hint", gettext("No attempts recorded.")));
  root.append(list);
}
