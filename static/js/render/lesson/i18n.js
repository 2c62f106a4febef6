// The lesson panel's and picker's words, in the UI's language (static/js/i18n.js: the header's
// language switch, a kiosk link's ?lang=). The lessons' own texts come from the server in the
// same language (`?lang=` on the scenario API), or from `pick` for texts given in every language.

import { currentLanguage, gettext, interpolate, ngettext } from "../../i18n.js";

const fmt = (text, values) => interpolate(text, values);

const WORDS = {
  lesson: gettext("Lesson"),
  startLesson: gettext("Start a lesson"),
  pickerTitle: gettext("Start a lesson"),
  pickerLede: gettext("Each lesson starts its own cluster, then runs step by step as you press Next: narration, a question for the class, the simulation, and checks that say what happened."),
  loading: gettext("Loading the lessons…"),
  start: (t) => fmt(gettext("Start “%(title)s”"), { title: t }),
  startShort: gettext("▶ Start"),
  starting: gettext("Starting…"),
  steps: (n) => fmt(ngettext("%(n)s step", "%(n)s steps", n), { n }),
  minutes: (n) => fmt(gettext("%(n)s min"), { n }),
  clusters: (n) => fmt(ngettext("%(n)s cluster side by side", "%(n)s clusters side by side", n), { n }),
  level: { beginner: gettext("beginner"), intermediate: gettext("intermediate"), advanced: gettext("advanced") },
  presenter: gettext("presenter"),
  audience: gettext("audience: follows the presenter"),
  stepOf: (i, n) => fmt(gettext("Step %(i)s of %(n)s"), { i, n }),
  progress: gettext("Steps"),
  stepState: { passed: gettext("passed"), failed: gettext("failed"), current: gettext("now"), todo: gettext("to come"), running: gettext("running") },
  nextUp: gettext("Next step"),
  running: gettext("Running this step…"),
  runningHint: gettext("The simulation is playing the step; its checks follow when its waits hold."),
  runStep: gettext("Next ▶ run this step"),
  waitPresenter: gettext("The presenter runs the next step; this panel follows."),
  justDone: (i, t) => fmt(gettext("Step %(i)s done: %(title)s"), { i, title: t }),
  passed: gettext("✓ passed"),
  failed: gettext("✕ failed"),
  lookAt: gettext("Look at:"),
  question: gettext("Predict before it runs"),
  yourPrediction: gettext("Your prediction"),
  noPrediction: gettext("No prediction was made."),
  right: gettext("✓ right"),
  wrong: gettext("✕ not this time"),
  answerWas: gettext("The answer:"),
  classAnswer: gettext("The class answered:"),
  checks: gettext("Checks"),
  checkPassed: gettext("✓ passed:"),
  checkFailed: gettext("✕ failed:"),
  whatHappened: gettext("What the simulation just did"),
  errors: gettext("Refused actions"),
  complete: (p, n) => fmt(gettext("Lesson complete: %(passed)s of %(n)s steps passed."), { passed: p, n }),
  restart: gettext("↺ Back to the start"),
  restartTitle: gettext("Start this lesson again on a fresh cluster"),
  otherLessons: gettext("Other lessons…"),
  audienceLink: gettext("Audience link"),
  audienceLinkTitle: gettext("The address students open to follow this lesson (read-only narration)"),
  copied: gettext("Audience link copied"),
  compared: gettext("Compared clusters:"),
  abandoned: gettext("This lesson run was stopped:"),
  gone: gettext("This lesson run is no longer known to the server (it restarted?)."),
  glossary: gettext("Glossary"),
  announceStep: (i, t) => fmt(gettext("Step %(i)s: %(title)s"), { i, title: t }),
  announceDone: (i, ok) => fmt(ok ? gettext("Step %(i)s passed") : gettext("Step %(i)s failed"), { i }),
  here: gettext("◉ this step"),
};

/** The reader's language: the UI's ("en" or "zh-Hans"). */
export function lessonLang() {
  return currentLanguage();
}

/** The panel's words (the UI's language; the argument is kept for callers that pass one). */
export function words(_lang) {
  return WORDS;
}

/** A text given in every language ({en, "zh-Hans"}) in the reader's. */
export function pick(texts, lang) {
  if (texts == null) return "";
  if (typeof texts === "string") return texts;
  return texts[lang] ?? texts.en ?? "";
}
