// The scheduler panel (#scheduler-body): the queue, the decision table of the attempt being
// shown, a pod's scheduling history, and a live line in the scheduler's box.
//
// Which attempt the table shows: the newest (a scheduler.attempt event opens it at once with
// the event's compact rows; the full record follows from GET …/scheduler/pods/<ns>/<pod>).
// While the clock is paused nothing new arrives, so the table stays; "Hold this table" keeps
// it while the clock runs; an attempt picked in a pod's history is held the same way.
// Clicking any [data-pod] (queue, table, history, the pods in node cards) opens its history.

import { describeSubset, renderCompactTable, renderDecisionTable, SCORING_WORDS, victimsLine } from "./table.js";
import { gettext, interpolate } from "../../i18n.js";
import { el, podButton, seconds } from "./dom.js";
import { renderHistory } from "./history.js";
import { queueCountsText, renderQueue } from "./queue.js";

const SCHEDULER = "kube-scheduler";
const MAX_RECORDS = 60;

const keyOf = (pod, attempt) => `${pod}#${attempt}`;
const split = (pod) => {
  const i = pod.indexOf("/");
  return i > 0 ? [pod.slice(0, i), pod.slice(i + 1)] : ["default", pod];
};

export function createSchedulerPanel({ root, note, model, name, api, announce = () => {}, showNotice = () => {} }) {
  // --- the frame ------------------------------------------------------------------------------
  const queueRoot = el("div", "sched-queue");
  const decision = el("section", "sched-decision");
  decision.setAttribute("aria-labelledby", "sched-decision-title");
  const head = el("div", "sched-decision-head");
  const title = el("h3", "sched-h", gettext("Decision table"));
  title.id = "sched-decision-title";
  const hold = el("button", "btn btn-small btn-toggle sched-hold", gettext("⚓ Hold this table"));
  hold.type = "button";
  hold.setAttribute("aria-pressed", "false");
  hold.title = gettext("Keep this table while the clock runs (a paused clock keeps it anyway)");
  const mode = el("span", "sched-mode");
  mode.setAttribute("role", "status");
  head.append(title, mode, hold);
  const outcome = el("p", "sched-outcome");
  const failed = el("p", "k8s-message sched-failed");
  const subset = el("p", "sched-subset hint");
  const scoring = el("p", "sched-scoring hint");
  const scroll = el("div", "sched-table-scroll");
  scroll.tabIndex = 0;
  scroll.setAttribute("aria-label", gettext("Decision table (scrolls)"));
  const table = el("table", "sched-table");
  scroll.append(table);
  const omitted = el("p", "sched-omitted hint");
  const extra = el("div", "sched-extra");
  const binding = el("p", "sched-binding");
  binding.setAttribute("aria-live", "polite");
  decision.append(head, outcome, failed, binding, subset, scoring, scroll, omitted, extra);
  const historyRoot = el("section", "sched-history");
  historyRoot.hidden = true;
  const grid = el("div", "sched-grid");
  grid.append(queueRoot, decision, historyRoot);
  root.replaceChildren(grid);

  // --- state ----------------------------------------------------------------------------------
  let held = false;
  let shown = null; // {pod, attempt}
  let history = null; // {pod, attempts, error}
  const records = new Map(); // "pod#attempt" -> record
  let fetching = null; // pod being fetched
  let local = 0; // bumps on fetch results and user actions
  let lastSig = "";
  let queueSig = "";
  let liveSig = "";
  let historySig = "";
  let drawnSig = "";
  let bindingSig = "";

  function remember(pod, attempts) {
    for (const a of attempts) records.set(keyOf(pod, a.attempt), { pod, ...a });
    while (records.size > MAX_RECORDS) records.delete(records.keys().next().value);
  }

  async function fetchPod(pod) {
    fetching = pod;
    const asked = shown; // an attempt that arrives during the fetch is not "missing"

    const [ns, podName] = split(pod);
    try {
      const body = await api.schedulerPod(name, ns, podName);
      const attempts = Array.isArray(body?.attempts) ? body.attempts : [];
      remember(pod, attempts);
      if (history?.pod === pod) history = { pod, attempts, error: null };
      if (shown && shown === asked && shown.pod === pod && !records.has(keyOf(pod, shown.attempt))) shown.missing = true; // forgotten: no refetch loop
    } catch (err) {
      if (history?.pod === pod) {
        history = { pod, attempts: null, error: err.status === 404 ? interpolate(gettext("%(pod)s has no scheduling attempts on record: a pod created with spec.nodeName skips the scheduler, and records of long-gone pods are forgotten."), { pod }) : interpolate(gettext("Could not fetch the history of %(pod)s: %(error)s"), { pod, error: err.message }) };
      }
      if (err.status === 404 && shown && shown === asked) shown.missing = true;
    } finally {
      fetching = null;
      local += 1;
    }
  }

  function want(pod) {
    if (!fetching) fetchPod(pod);
  }

  function setHeld(value) {
    held = value;
    hold.setAttribute("aria-pressed", String(held));
    hold.textContent = held ? gettext("⚓ Held: follow the newest") : gettext("⚓ Hold this table");
    local += 1;
  }
  hold.addEventListener("click", () => {
    setHeld(!held);
    announce(held ? gettext("The decision table is held") : gettext("The decision table follows the newest attempt"));
  });

  function openHistory(pod, { scroll: scrollTo = false } = {}) {
    history = { pod, attempts: null, error: null };
    historyRoot.hidden = false;
    fetchPod(pod);
    local += 1;
    if (scrollTo) root.closest(".panel")?.scrollIntoView({ block: "nearest", behavior: matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth" });
    announce(interpolate(gettext("Scheduling history of %(pod)s"), { pod }));
  }

  // any pod: in this panel, in the node cards (issue 7's data-pod), in the scheduler's box
  function onPodClick(e) {
    const target = e.target instanceof Element ? e.target.closest("[data-pod]") : null;
    if (!target || !target.dataset.pod.includes("/")) return;
    const inside = root.contains(target);
    if (!inside && !target.closest("#nodes-body, [data-panel='scheduler']")) return;
    openHistory(target.dataset.pod, { scroll: !inside });
  }
  root.addEventListener("click", onPodClick);
  document.getElementById("stage")?.addEventListener("click", (e) => {
    if (!root.contains(e.target)) onPodClick(e);
  });

  function closeHistory() {
    history = null;
    historySig = "";
    historyRoot.hidden = true;
    historyRoot.replaceChildren();
    local += 1;
  }

  function showAttempt(a) {
    shown = { pod: history?.pod ?? a.pod, attempt: a.attempt };
    setHeld(true);
    scroll.focus({ preventScroll: false }); // the history list redraws; land on the table it opened
    announce(interpolate(gettext("Showing attempt %(n)s of %(pod)s; the table is held"), { n: a.attempt, pod: shown.pod }));
  }

  // --- drawing --------------------------------------------------------------------------------
  function bindingOf(s, record) {
    const b = s?.bindings?.get(record.pod);
    if (b && b.sent != null && b.sent >= record.time - 1e-9) return b;
    return null;
  }

  function drawBinding(s, record) {
    const b0 = bindingOf(s, record);
    const sig = JSON.stringify([record.pod, record.attempt, record.result, record.binding, b0?.state, b0?.at, b0?.code]);
    if (sig === bindingSig) return;
    bindingSig = sig;
    binding.replaceChildren();
    binding.hidden = record.result !== "scheduled";
    if (binding.hidden) return;
    const b = bindingOf(s, record);
    const [, podName] = split(record.pod);
    const request = `POST pods/${podName}/binding {target: ${record.node}}`;
    let state = b?.state ?? (record.binding === "bound" ? "bound" : record.binding?.startsWith("failed") ? "failed" : "sent");
    binding.dataset.state = state;
    if (state === "sent") {
      binding.append(el("span", "b-glyph", "⇢"), el("b", "", gettext(" binding → kube-apiserver: ")), interpolate(gettext("%(request)s, in flight (the \"bind\" pill)"), { request }));
    } else if (state === "bound") {
      binding.append(el("span", "b-glyph", "✓"), el("b", "", gettext(" bound: ")), interpolate(b?.at != null ? gettext("kube-apiserver accepted %(request)s at %(time)s; the kubelet of %(node)s sees the pod through its watch") : gettext("kube-apiserver accepted %(request)s; the kubelet of %(node)s sees the pod through its watch"), { request, time: b?.at != null ? seconds(b.at) : "", node: record.node }));
    } else {
      state = "failed";
      binding.append(el("span", "b-glyph", "✕"), el("b", "", gettext(" binding failed: ")), b?.code ? interpolate(gettext("code %(code)s"), { code: b.code }) : String(record.binding ?? ""), gettext("; the pod goes back to the queue"));
    }
  }

  function drawRecord(record, view) {
    title.replaceChildren(gettext("Decision table: "), podButton(record.pod), interpolate(gettext(", attempt %(n)s"), { n: record.attempt }));
    outcome.replaceChildren();
    outcome.dataset.result = record.result;
    if (record.result === "scheduled") {
      outcome.append(el("span", "o-glyph", "★"), el("b", "", interpolate(gettext(" %(node)s chosen "), { node: record.node })), interpolate(gettext("at %(time)s: %(why)s"), { time: seconds(record.time), why: record.why ?? "" }));
    } else {
      outcome.append(el("span", "o-glyph", "✕"), el("b", "", ` ${record.result === "error" ? gettext("error") : gettext("no node fits")} `), interpolate(gettext("at %(time)s"), { time: seconds(record.time) }));
    }
    failed.hidden = !record.message;
    failed.replaceChildren();
    if (record.message) failed.append(el("span", "k8s-reason", "Warning  FailedScheduling  default-scheduler  "), el("span", "k8s-text", record.message));
    subset.textContent = describeSubset(record);
    subset.dataset.examined = String(record.examined);
    subset.dataset.total = String(record.total_nodes);
    const skippedScores = record.skipped?.score ?? [];
    const skippedFilters = record.skipped?.filter ?? [];
    scoring.textContent = [
      skippedFilters.length ? interpolate(gettext("PreFilter skipped %(plugins)s: nothing in this pod for them to check (no columns)."), { plugins: skippedFilters.join(", ") }) : "",
      interpolate(gettext("Scoring: %(how)s."), { how: SCORING_WORDS[record.scoring] ?? record.scoring }),
      skippedScores.length ? interpolate(gettext("PreScore skipped %(plugins)s (nothing to score for this pod)."), { plugins: skippedScores.join(", ") }) : "",
    ].filter(Boolean).join(" ");
    renderDecisionTable(table, record, view?.profile);
    omitted.hidden = !record.rows_omitted;
    omitted.textContent = record.rows_omitted
      ? interpolate(gettext("%(n)s more examined node(s) are not listed: the record keeps the chosen node, the best totals and the first node of each distinct rejection."), { n: record.rows_omitted })
      : "";
    extra.replaceChildren();
    if (record.nominated_node) extra.append(victimsLine(record));
  }

  function drawCompact(latest) {
    title.replaceChildren(gettext("Decision table: "), podButton(latest.pod), interpolate(gettext(", attempt %(n)s"), { n: latest.attempt }));
    outcome.replaceChildren();
    outcome.dataset.result = latest.result;
    outcome.append(el("span", "o-glyph", latest.result === "scheduled" ? "★" : "✕"), el("b", "", latest.result === "scheduled" ? interpolate(gettext(" %(node)s chosen"), { node: latest.node }) : ` ${gettext("no node fits")}`), ` ${interpolate(gettext("at %(time)s"), { time: seconds(latest.time) })}`);
    failed.hidden = true;
    subset.textContent = interpolate(gettext("Examined %(examined)s of %(total)s node(s), %(feasible)s feasible. Fetching every plugin's verdict…"), { examined: latest.examined, total: latest.total_nodes, feasible: latest.feasible });
    scoring.textContent = "";
    renderCompactTable(table, latest);
    binding.hidden = true;
    bindingSig = "";
    omitted.hidden = true;
    extra.replaceChildren();
    if (latest.nominated_node) extra.append(victimsLine(latest));
  }

  function drawEmpty(view, text) {
    title.textContent = gettext("Decision table");
    outcome.replaceChildren(el("span", "", text ?? (view ? gettext("No pod scheduled yet. Create one (kubectl run, a Deployment) and its decision opens here.") : gettext("This cluster has no kube-scheduler."))));
    outcome.dataset.result = "none";
    for (const part of [failed, binding, omitted]) part.hidden = true;
    bindingSig = "";
    subset.textContent = "";
    scoring.textContent = "";
    table.replaceChildren();
    extra.replaceChildren();
  }

  function drawLive(view, s) {
    const box = document.querySelector(`[data-component="${SCHEDULER}"]`);
    if (!box) return;
    let live = box.querySelector(".comp-live[data-panel='scheduler']");
    if (!live) {
      live = el("div", "comp-live sched-live");
      live.dataset.panel = "scheduler";
      const text = el("span", "live-text");
      const bind = el("span", "live-bind");
      const details = el("button", "live-details", gettext("details ↓"));
      details.type = "button";
      details.title = gettext("Scroll to the scheduler panel: its queue and decision table");
      details.addEventListener("click", () => root.closest(".panel")?.scrollIntoView({ block: "start", behavior: matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth" }));
      live.append(text, bind, details);
      box.append(live);
      liveSig = "";
    }
    const inFlight = [...(s?.bindings?.values() ?? [])].filter((b) => b.state === "sent");
    const sig = JSON.stringify([view?.queue?.counts, inFlight.map((b) => b.pod)]);
    if (sig === liveSig) return;
    liveSig = sig;
    live.querySelector(".live-text").textContent = queueCountsText(view);
    const bind = live.querySelector(".live-bind");
    bind.textContent = inFlight.length ? interpolate(gettext("⇢ binding %(pod)s → kube-apiserver"), { pod: inFlight[inFlight.length - 1].pod }) : "";
    bind.hidden = !inFlight.length;
  }

  return {
    update(m) {
      const view = m.components.get(SCHEDULER);
      const s = m.scheduler;
      drawLive(view, s);
      const sig = `${m.versions.scheduler ?? 0}|${m.versions.views ?? 0}|${m.versions.reset}|${local}`;
      if (sig === lastSig) return;
      lastSig = sig;

      const qs = JSON.stringify([view?.queue, view?.decisions?.length && view.decisions[view.decisions.length - 1]]);
      if (qs !== queueSig) {
        queueSig = qs;
        renderQueue(queueRoot, view);
      }

      // which attempt to show
      if (!held) {
        const latest = s?.latest ?? (view?.cycle ? { pod: view.cycle.pod, attempt: view.cycle.attempt } : null);
        if (latest && (!shown || shown.pod !== latest.pod || shown.attempt !== latest.attempt)) {
          shown = { pod: latest.pod, attempt: latest.attempt };
          if (view?.cycle && view.cycle.pod === latest.pod && view.cycle.attempt === latest.attempt && !view.cycle.rows_omitted) remember(latest.pod, [view.cycle]);
        }
      }
      mode.textContent = held ? gettext("held") : m.clock.paused ? gettext("paused: the newest attempt stays") : gettext("following the newest attempt");
      mode.dataset.mode = held ? "held" : "live";
      hold.disabled = !shown;
      if (!shown) {
        drawnSig = "";
        drawEmpty(view);
      } else {
        const record = records.get(keyOf(shown.pod, shown.attempt));
        if (record) {
          const drawn = `${keyOf(record.pod, record.attempt)}|${Boolean(view?.profile)}`;
          if (drawn !== drawnSig) {
            drawnSig = drawn; // a table is rebuilt only when it is another one: no jumps, no lost focus
            drawRecord(record, view);
          }
          drawBinding(s, record);
        } else {
          drawnSig = "";
          const latest = s?.latest;
          if (latest && latest.pod === shown.pod && latest.attempt === shown.attempt) drawCompact(latest);
          else if (shown.missing) drawEmpty(view, interpolate(gettext("The record of attempt %(n)s of %(pod)s is no longer kept."), { n: shown.attempt, pod: shown.pod }));
          if (!shown.missing) want(shown.pod);
        }
        decision.dataset.pod = shown.pod;
        decision.dataset.attempt = String(shown.attempt);
      }

      // the history follows new attempts of its pod
      if (history) {
        if (history.attempts && s?.latest?.pod === history.pod && !history.attempts.some((a) => a.attempt === s.latest.attempt)) want(history.pod);
        const live = s?.bindings?.get(history.pod) ?? null;
        const hs = JSON.stringify([history, shown?.pod === history.pod ? shown.attempt : null, live?.state]);
        if (hs !== historySig) {
          historySig = hs;
          renderHistory(historyRoot, history, {
            binding: live,
            shownAttempt: shown?.pod === history.pod ? shown.attempt : null,
            onShow: showAttempt,
            onClose: closeHistory,
          });
        }
      }

      const c = view?.counters;
      note.textContent = c ? interpolate(gettext("%(cycles)s cycle(s) · %(bound)s bound · %(unschedulable)s unschedulable · %(preemptions)s preemption(s)"), { cycles: c.cycles, bound: c.bound, unschedulable: c.unschedulable, preemptions: c.preemptions }) : "";
    },
    openHistory,
    showNotice,
  };
}
