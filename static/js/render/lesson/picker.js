// The lesson picker: every lesson from GET /api/scenarios (title, summary, level, duration,
// steps) with a Start button that creates a live run (POST /api/scenarios/<id>/runs, teaching
// timing) and opens its cluster as the presenter: /clusters/<cluster>/?lesson=<id>&run=<run>.
// Used inline on the cluster list and in a dialog on the cluster page.

import { api } from "../../api.js";
import { gettext } from "../../i18n.js";
import { lessonLang, words } from "./i18n.js";

export function presenterUrl(run) {
  const q = new URLSearchParams({ lesson: run.scenario, run: run.run });
  return `/clusters/${encodeURIComponent(run.cluster)}/?${q}`;
}

/** Start a live run of a lesson in the reader's language; resolves to the run's report. */
export function startLesson(id, lang) {
  return api.startLessonRun(id, { mode: "live", lang, profile: "teaching" });
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

/**
 * Fill `root` with the picker, in the UI's language. `go(url)` opens the
 * started lesson (location.assign by default).
 */
export function mountLessonPicker(root, { go = (url) => window.location.assign(url), headingLevel = "h3" } = {}) {
  const lang = lessonLang();
  let items = null;
  let failure = null;
  const status = el("p", "lesson-picker-status");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");

  async function load() {
    try {
      items = (await api.scenarios(lang)).items;
      failure = null;
    } catch (err) {
      failure = err.message;
    }
    render();
  }

  function render() {
    const w = words(lang);
    root.replaceChildren();
    const head = el("div", "lesson-picker-head");
    head.append(el("p", "lede", w.pickerLede)); // the language: the header's switch
    root.append(head);
    if (failure) {
      root.append(el("p", "field-error", failure));
      return;
    }
    if (!items) {
      root.append(el("p", "hint", w.loading));
      return;
    }
    const list = el("ul", "lesson-list");
    for (const item of items) {
      const li = el("li", "lesson-item");
      li.dataset.lesson = item.id;
      li.lang = lang;
      const title = el(headingLevel, "lesson-item-title", item.title);
      const meta = el("p", "lesson-item-meta");
      const levelTag = el("span", `lesson-level level-${item.level}`, w.level[item.level] ?? item.level);
      meta.append(levelTag, el("span", null, w.minutes(item.duration)), el("span", null, w.steps(item.steps)));
      if (item.clusters > 1) meta.append(el("span", null, w.clusters(item.clusters)));
      const start = el("button", "btn btn-primary lesson-start", w.startShort);
      start.type = "button";
      start.setAttribute("aria-label", w.start(item.title));
      start.dataset.lesson = item.id;
      start.addEventListener("click", () => begin(item, start));
      const summary = el("p", "lesson-item-summary", item.summary);
      summary.title = item.summary;
      li.append(title, meta, summary, start);
      list.append(li);
    }
    root.append(list, status);
  }

  async function begin(item, button) {
    const w = words(lang);
    for (const b of root.querySelectorAll(".lesson-start")) b.disabled = true;
    button.textContent = w.starting;
    status.textContent = w.starting;
    try {
      const run = await startLesson(item.id, lang);
      go(presenterUrl(run));
    } catch (err) {
      status.textContent = `${item.title}: ${err.message}`;
      for (const b of root.querySelectorAll(".lesson-start")) b.disabled = false;
      button.textContent = w.startShort;
    }
  }

  render();
  load();
}

/** The picker in a dialog, opened by `button` (the cluster page's "Start a lesson"). */
export function bindLessonDialog(button, dialog) {
  let mounted = false;
  button.addEventListener("click", () => {
    if (!mounted) {
      const w = words(lessonLang());
      const head = el("header", "lesson-dialog-head");
      const title = el("h2", null, w.pickerTitle);
      title.id = "lesson-picker-title";
      const close = el("button", "btn btn-icon", "✕");
      close.type = "button";
      close.setAttribute("aria-label", gettext("Close"));
      close.addEventListener("click", () => dialog.close());
      head.append(title, close);
      const body = el("div", "lesson-picker");
      dialog.setAttribute("aria-labelledby", title.id);
      dialog.append(head, body);
      mountLessonPicker(body);
      mounted = true;
    }
    dialog.showModal();
  });
}
