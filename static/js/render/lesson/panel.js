// The narration panel: a live lesson run on this cluster, step by step.
//
//   who:  the presenter's page carries ?lesson=<id>&run=<run> (the picker opens it); any other
//         page of a cluster that belongs to a live run learns the run from the server (the
//         page's "lesson-run" script) and follows it read-only: the audience view.
//   data: GET /api/scenarios/<id> once (every step's texts in both languages: the step being
//         played is narrated from it) and GET …/runs/<run>?lang= polled (each second; faster
//         while a step runs): finished steps with their checks, the revealed answer and the
//         server's account of what the simulation did (cluster/scenario/account.py).
//   acts: Next (POST …/next with the class's prediction), back to the start (a new run).
//
// Everything from the server is text (textContent); glossary terms (glossary.js) are marked
// in the narration; the components the step names are marked on the diagram (highlight.js).

import { api } from "../../api.js";
import { eventKindInfo, kindIcon } from "../../theme.js";
import { withTerms } from "./glossary.js";
import { createHighlighter } from "./highlight.js";
import { lessonLang, pick, words } from "./i18n.js";
import { presenterUrl, startLesson } from "./picker.js";

const POLL_MS = 1000;
const POLL_RUNNING_MS = 400;

/** {scenario, run, role: "presenter" | "audience"} or null when no lesson runs here. A class's
 * presenter page (`classroom.presenter`) presents the run the server names. */
export function lessonContext(doc = document, search = window.location.search, classroom = null) {
  const q = new URLSearchParams(search);
  if (q.get("lesson") && q.get("run")) return { scenario: q.get("lesson"), run: q.get("run"), role: "presenter" };
  const script = doc.getElementById("lesson-run");
  const known = script ? JSON.parse(script.textContent) : null;
  return known ? { scenario: known.scenario, run: known.run, role: classroom?.presenter ? "presenter" : "audience" } : null;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function button(text, className, onClick) {
  const b = el("button", `btn ${className ?? ""}`.trim(), text);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

export function createLessonPanel({ root, name, announce, showNotice, classroom = null }) {
  const ctx = lessonContext(document, window.location.search, classroom);
  if (!ctx) {
    root.hidden = true;
    return { update() {} };
  }
  document.body.classList.add("lesson-on");
  root.hidden = false;
  root.dataset.role = ctx.role;
  const body = el("div", "lesson-body");
  root.replaceChildren(body);
  const highlighter = createHighlighter();
  const predictions = new Map(); // step index -> the choice made on this page
  const lang = lessonLang();
  let scenario = null;
  let report = null;
  let failure = null;
  let busy = false;
  let drawnKey = "";
  let timer = null;
  let seenSteps = null;

  async function poll() {
    clearTimeout(timer);
    try {
      if (!scenario) scenario = await api.scenario(ctx.scenario);
      report = await api.lessonRun(ctx.scenario, ctx.run, lang);
      failure = null;
    } catch (err) {
      failure = err.status === 404 ? words(lang).gone : err.message;
    }
    draw();
    timer = setTimeout(poll, report?.state === "running" || busy ? POLL_RUNNING_MS : POLL_MS);
  }

  function draw(force = false) {
    // the run's clock ticks in every report: redraw only when something shown changed
    const key = JSON.stringify([lang, failure, busy, report && { ...report, time: null }]);
    if (!force && key === drawnKey) return;
    drawnKey = key;
    const scrolled = body.scrollTop;
    const focused = document.activeElement && root.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
    render();
    body.scrollTop = scrolled;
    if (focused) body.querySelector(`[data-focus-key="${focused}"]`)?.focus();
    tell();
  }

  /** Say what changed to screen readers: a step finished, a step started. */
  function tell() {
    if (!report) return;
    const done = report.steps.length;
    if (seenSteps !== null && done > seenSteps) {
      const last = report.steps[done - 1];
      announce(words(lang).announceDone(done, last.passed));
    }
    seenSteps = done;
  }

  function render() {
    const w = words(lang);
    root.lang = lang;
    body.replaceChildren();
    const head = el("div", "lesson-head");
    const title = el("h2", "lesson-title");
    title.id = "lesson-title";
    title.append(el("span", "lesson-kicker", w.lesson), el("span", "lesson-name", scenario ? pick(scenario.title, lang) : ctx.scenario));
    const role = el("span", `lesson-role role-${ctx.role}`, ctx.role === "presenter" ? w.presenter : w.audience);
    head.append(title, role); // the language: the header's switch (static/js/i18n.js)
    body.append(head);
    if (failure) {
      body.append(el("p", "lesson-error", `✕ ${failure}`));
      highlighter.set([], w.here);
      return;
    }
    if (!report || !scenario) return;
    const total = scenario.steps.length;
    const done = report.steps.length;
    body.append(progress(w, total));
    if (report.state === "abandoned") body.append(el("p", "lesson-error", `✕ ${w.abandoned} ${report.error ?? ""}`));
    const running = report.state === "running";
    if (done > 0 && !running) body.append(finished(w, report.steps[done - 1]));
    if (report.state === "done") {
      const passed = report.steps.filter((s) => s.passed).length;
      const end = el("p", `lesson-complete ${passed === total ? "ok" : "bad"}`, `${passed === total ? "✓" : "✕"} ${w.complete(passed, total)}`);
      body.append(end);
      highlighter.set([], w.here);
    } else if (done < total && report.state !== "abandoned") {
      body.append(current(w, done, total, running));
    } else {
      highlighter.set([], w.here);
    }
    body.append(tools(w));
  }

  function progress(w, total) {
    const list = el("ol", "lesson-progress");
    list.setAttribute("aria-label", w.progress);
    const running = report.state === "running";
    for (let i = 0; i < total; i += 1) {
      const result = report.steps[i];
      const state = result ? (result.passed ? "passed" : "failed") : i === report.steps.length && report.state !== "done" ? (running ? "running" : "current") : "todo";
      const glyph = { passed: "✓", failed: "✕", current: "●", running: "⏳", todo: "○" }[state];
      const li = el("li", `lesson-dot is-${state}`, glyph);
      li.dataset.state = state;
      li.title = `${i + 1}. ${pick(scenario.steps[i].title, lang)}: ${w.stepState[state]}`;
      li.append(el("span", "visually-hidden", ` ${i + 1}. ${pick(scenario.steps[i].title, lang)}: ${w.stepState[state]}`));
      list.append(li);
    }
    return list;
  }

  /** The step that just ran: the revealed answer, its checks, what the simulation did. */
  function finished(w, step) {
    const section = el("section", `lesson-done ${step.passed ? "ok" : "bad"}`);
    section.dataset.step = String(step.index);
    const h = el("h3", "lesson-step-title");
    h.append(el("span", "lesson-verdict", step.passed ? w.passed : w.failed), document.createTextNode(` ${w.justDone(step.index + 1, step.title)}`));
    section.append(h);
    if (step.question) section.append(reveal(w, step));
    if (step.errors?.length) {
      const errors = el("ul", "lesson-errors");
      errors.setAttribute("aria-label", w.errors);
      for (const e of step.errors) errors.append(el("li", null, `✕ ${e}`));
      section.append(errors);
    }
    const checks = el("ul", "lesson-checks");
    checks.setAttribute("aria-label", w.checks);
    for (const a of step.assertions) {
      const li = el("li", a.passed ? "ok" : "bad");
      li.dataset.passed = String(a.passed);
      li.append(el("span", "lesson-check-word", a.passed ? w.checkPassed : w.checkFailed), document.createTextNode(` ${a.text}`));
      if (a.detail) li.append(el("span", "lesson-check-detail", a.detail));
      checks.append(li);
    }
    section.append(el("h4", null, w.checks), checks);
    if (step.account?.length) {
      const account = el("ul", "lesson-account");
      for (const line of step.account) {
        const li = el("li");
        li.dataset.kind = line.kind;
        li.append(kindIcon(eventKindInfo(`${line.kind}.x`), 14), el("span", null, line.text));
        account.append(li);
      }
      section.append(el("h4", null, w.whatHappened), account);
    }
    return section;
  }

  function reveal(w, step) {
    const q = step.question;
    const box = el("div", "lesson-reveal");
    box.append(el("p", "lesson-question-text", q.text));
    const mine = predictions.get(step.index) ?? (ctx.role === "presenter" ? step.choice : undefined);
    if (mine != null) {
      const right = mine === q.answer;
      const p = el("p", `lesson-prediction ${right ? "ok" : "bad"}`);
      p.dataset.correct = String(right);
      p.append(el("strong", null, `${w.yourPrediction}: `), document.createTextNode(`${q.choices[mine]} `), el("span", "lesson-verdict", right ? w.right : w.wrong));
      box.append(p);
    } else {
      box.append(el("p", "hint", w.noPrediction));
    }
    if (ctx.role === "audience" && step.choice != null) box.append(el("p", "hint", `${w.classAnswer} ${q.choices[step.choice]}`));
    const answer = el("p", "lesson-answer");
    answer.append(el("strong", null, `${w.answerWas} `), document.createTextNode(q.choices[q.answer]));
    box.append(answer);
    if (q.explain) box.append(el("p", "lesson-explain", q.explain));
    return box;
  }

  /** The step about to run (or running): its narration, its question, Next. */
  function current(w, index, total, running) {
    const step = scenario.steps[index];
    const section = el("section", `lesson-now${running ? " is-running" : ""}`);
    section.dataset.step = String(index);
    section.append(el("p", "lesson-step-of", `${w.stepOf(index + 1, total)} · ${running ? w.running : w.nextUp}`));
    section.append(el("h3", "lesson-step-title", pick(step.title, lang)));
    const seen = new Set();
    if (step.narrate) {
      const p = el("p", "lesson-narration");
      p.append(withTerms(pick(step.narrate, lang), lang, seen));
      section.append(p);
    }
    const highlight = step.narrate?.highlight ?? [];
    highlighter.set(highlight, w.here);
    if (highlight.length) {
      const look = el("p", "lesson-look");
      look.append(el("strong", null, `${w.lookAt} `));
      highlight.forEach((n, i) => look.append(document.createTextNode(i ? ", " : ""), el("code", null, n)));
      section.append(look);
    }
    if (step.ask) section.append(question(w, step.ask, index, running, seen));
    if (running) {
      section.append(el("p", "lesson-running", `⏳ ${w.runningHint}`));
    } else if (ctx.role === "presenter") {
      const run = button(w.runStep, "btn-primary lesson-next", () => runStep(index));
      run.dataset.focusKey = "next";
      run.disabled = busy;
      section.append(run);
    } else {
      section.append(el("p", "hint lesson-follow", w.waitPresenter));
    }
    return section;
  }

  function question(w, ask, index, running, seen) {
    const set = el("fieldset", "lesson-question");
    const legend = el("legend", null, w.question);
    set.append(legend);
    const text = el("p", "lesson-question-text");
    text.append(withTerms(pick(ask.question, lang), lang, seen));
    set.append(text);
    ask.choices.forEach((choice, i) => {
      const label = el("label", "lesson-choice");
      const input = document.createElement("input");
      input.type = "radio";
      input.name = `lesson-choice-${index}`;
      input.value = String(i);
      input.dataset.focusKey = `choice-${i}`;
      input.checked = predictions.get(index) === i;
      input.disabled = running;
      input.addEventListener("change", () => predictions.set(index, i));
      label.append(input, document.createTextNode(` ${pick(choice, lang)}`));
      set.append(label);
    });
    return set;
  }

  async function runStep(index) {
    if (busy) return;
    busy = true;
    draw(true);
    const choice = predictions.get(index);
    try {
      const body = choice == null ? {} : { choice };
      report = await (classroom ? classroom.next(ctx, body) : api.nextLessonStep(ctx.scenario, ctx.run, body)); // a class tells its viewers
      const step = scenario.steps[index];
      announce(words(lang).announceStep(index + 1, pick(step.title, lang)));
    } catch (err) {
      showNotice(`${words(lang).runStep}: ${err.message}`);
    } finally {
      busy = false;
      draw(true);
      poll();
    }
  }

  function tools(w) {
    const bar = el("div", "lesson-tools");
    if (report && Object.keys(report.clusters ?? {}).length > 1) {
      const p = el("p", "lesson-compared");
      p.append(el("span", null, `${w.compared} `));
      for (const [key, cluster] of Object.entries(report.clusters)) {
        if (key === "main" || cluster === name) continue;
        const a = el("a", null, cluster);
        a.href = ctx.role === "presenter" ? presenterUrl({ scenario: ctx.scenario, run: ctx.run, cluster }) : `/clusters/${encodeURIComponent(cluster)}/`;
        a.target = "_blank";
        p.append(a, document.createTextNode(" "));
      }
      bar.append(p);
    }
    if (ctx.role !== "presenter") return bar;
    const restart = button(w.restart, "btn-small lesson-restart", async () => {
      restart.disabled = true;
      try {
        window.location.assign(presenterUrl(await startLesson(ctx.scenario, lang)));
      } catch (err) {
        restart.disabled = false;
        showNotice(`${w.restart}: ${err.message}`);
      }
    });
    restart.title = w.restartTitle;
    const link = document.createElement("input");
    link.type = "text";
    link.readOnly = true;
    link.className = "lesson-audience-link";
    link.value = `${window.location.origin}/clusters/${encodeURIComponent(name)}/`;
    link.setAttribute("aria-label", w.audienceLinkTitle);
    link.title = w.audienceLinkTitle;
    const copy = button(w.audienceLink, "btn-small", async () => {
      link.select();
      try {
        await navigator.clipboard.writeText(link.value);
        announce(w.copied);
      } catch {
        // no clipboard over plain http: the link stays selected for Ctrl+C
      }
    });
    bar.append(restart, copy, link);
    return bar;
  }

  let lastApply = 0;
  poll();
  return {
    update(_model, _t, { now }) {
      // a renderer may rebuild a box: put the marks back twice a second
      if (now - lastApply > 500) {
        lastApply = now;
        highlighter.apply();
      }
    },
  };
}
