// The audience's classroom bar: which class this is and that the page follows it read-only (the
// reason in words), the lesson's step, "Fork my own copy" (a sandbox this browser's key owns,
// opened in a new tab) and, while the presenter hands this viewer control, that it may act and
// the lesson's next step.
//
//   const view = createAudienceBar({ bar, code, name, seat, key, api, announce, showNotice });
//   view.show(state)      // the GET /api/classrooms/<code> body (null: the class has ended)

import { gettext, interpolate } from "../../i18n.js";
import { rememberFork, rememberKey, sandboxOf } from "../../keys.js";
import { button, el, setText } from "./dom.js";

export function createAudienceBar({ bar, code, name, seat, key, api, announce, showNotice }) {
  let state;
  let hadControl = false;

  const who = el("div", "cr-join");
  who.append(el("span", "cr-kicker", gettext("Class")), el("span", "cr-code cr-code-small", code));
  if (seat) who.append(el("span", "cr-me", seat.name ? interpolate(gettext("you: %(name)s"), { name: seat.name }) : interpolate(gettext("you: viewer %(id)s"), { id: seat.viewer })));
  const mode = el("p", "cr-mode");
  mode.setAttribute("role", "status");
  mode.setAttribute("aria-live", "polite");
  const step = el("p", "cr-step");
  const actions = el("div", "cr-actions");
  const fork = button(gettext("⎇ Fork my own copy"), "cr-fork", () => forkCopy());
  const next = button(gettext("Next step ▶"), "btn-primary cr-next", () => nextStep());
  next.hidden = true;
  const forkNote = el("span", "hint cr-fork-note");
  forkNote.id = `cr-fork-note-${code}`;
  fork.setAttribute("aria-describedby", forkNote.id);
  actions.append(fork, forkNote, next);
  bar.replaceChildren(who, mode, step, actions);

  function sandboxUrl(cluster) {
    return `/clusters/${encodeURIComponent(cluster)}/`;
  }

  function open(cluster) {
    // a new tab keeps the class in this one; where tabs are refused, go there
    const tab = window.open(sandboxUrl(cluster), "_blank");
    if (!tab) window.location.assign(sandboxUrl(cluster));
  }

  async function forkCopy() {
    const mine = sandboxOf(code);
    if (mine) {
      open(mine);
      return;
    }
    fork.disabled = true;
    try {
      const { cluster } = await api.forkClassroom(code, key());
      rememberKey(cluster, key()); // the sandbox belongs to this viewer's key
      rememberFork(cluster, code);
      announce(interpolate(gettext("Your own copy %(cluster)s is ready"), { cluster }));
      draw();
      open(cluster);
    } catch (err) {
      showNotice(interpolate(gettext("Could not fork: %(error)s"), { error: err.message }));
    } finally {
      draw();
    }
  }

  async function nextStep() {
    next.disabled = true;
    try {
      await api.classroomStep(code, {});
    } catch (err) {
      showNotice(interpolate(gettext("Could not run the next step: %(error)s"), { error: err.message }));
    } finally {
      next.disabled = false;
    }
  }

  function draw() {
    const mine = sandboxOf(code);
    if (state === null) {
      bar.dataset.mode = "ended";
      setText(mode, `■ ${gettext("This class has ended: the cluster is open again.")}`);
      setText(step, "");
      next.hidden = true;
      fork.hidden = !mine;
      setText(forkNote, "");
      return;
    }
    if (!state) return;
    const control = Boolean(seat) && state.controller === seat.viewer;
    bar.dataset.mode = control ? "control" : "watching";
    setText(mode, control ? `☛ ${gettext("You have control: what you do changes the class's cluster.")}` : `◉ ${gettext("Watching, read-only: the presenter drives this cluster.")}`);
    if (control !== hadControl) announce(control ? gettext("The presenter handed you control") : gettext("The presenter took control back"));
    hadControl = control;
    setText(step, state.run ? (state.step == null ? gettext("The lesson has not started yet.") : interpolate(gettext("Lesson: step %(n)s started"), { n: state.step + 1 })) : "");
    step.hidden = !state.run;
    next.hidden = !(control && state.run);
    fork.disabled = !mine && !state.forks_allowed;
    setText(forkNote, fork.disabled ? gettext("The presenter has not allowed forks.") : "");
    setText(fork, mine ? interpolate(gettext("⎇ Open my copy (%(cluster)s)"), { cluster: mine }) : gettext("⎇ Fork my own copy"));
    fork.title = mine ? gettext("Your own copy of the cluster: only you can change it") : gettext("Copy the cluster as it is now into a sandbox only you can change");
  }

  return {
    show(incoming) {
      state = incoming;
      draw();
    },
  };
}
