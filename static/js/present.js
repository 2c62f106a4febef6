// Presentation mode: the cluster page for a projector. Large type, high contrast, no chrome
// (tool bars, timeline, event log, legend), and keys a presentation clicker sends.
//
//   const presentation = createPresentation({ tools, onAction, announce });  // adds its button to `tools`
//   presentation.on                       // is the page presenting?
//   presentation.handleKey(event)         // from the page's keydown: true when it took the key
//
// Entered by the header's button, the key `p`, or `?present=1` in the address (kiosk.js sets the
// class before the first paint; `manage.py screenshot --present` uses it). The address follows
// the mode (history.replaceState), so a reload keeps it.
//
// Clickers send PageDown / PageUp (or the arrows), `b` or `.` for their "blank screen" button,
// and F5 / Esc for "start / end the show". Lessons only go forward, so the back button pauses:
// a teacher with a two-button clicker can run a step and hold the picture still to talk.

import { gettext } from "./i18n.js";

const CLASS = "present-mode";

/** The keys of presentation mode, in the order the help lists them (one row per action). */
export const PRESENT_KEYS = [
  { action: "next", keys: ["PageDown", "ArrowRight", "n"], shown: ["PgDn", "→", "N"], label: gettext("Run the next lesson step") },
  { action: "pause", keys: ["PageUp", "ArrowLeft", " ", "b", "B", "."], shown: ["PgUp", "←", "Space", "B", "."], label: gettext("Pause or resume the clock") },
  { action: "faster", keys: ["ArrowUp", "+", "="], shown: ["↑", "+"], label: gettext("Faster") },
  { action: "slower", keys: ["ArrowDown", "-", "_"], shown: ["↓", "−"], label: gettext("Slower") },
  { action: "help", keys: ["?"], shown: ["?"], label: gettext("Show or hide these keys") },
  { action: "exit", keys: ["p", "P", "Escape"], shown: ["P", "Esc"], label: gettext("Leave presentation mode") },
];

/** The presentation action a key stands for, or null (modifiers other than Shift: none). */
export function presentAction(e) {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  for (const row of PRESENT_KEYS) if (row.keys.includes(e.key)) return row.action;
  return null;
}

/** Does the focused element use this key itself (typing, a radio's arrows, a button's Space)? */
function focusWants(e) {
  const t = e.target instanceof Element ? e.target : null;
  if (!t) return false;
  if (t.closest("textarea, select, [contenteditable='true'], input:not([type=range]):not([type=checkbox]):not([type=radio]):not([type=button])")) return true;
  if (e.key.startsWith("Arrow") && t.closest("input[type=radio], input[type=range], [role=menu], [role=listbox], [role=tablist], [role=slider]")) return true;
  if (e.key === " " && t.closest("button, a, summary, [role=button], [role=menuitem], input, details")) return true;
  return false;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

/** The help dialog's content: every key, in large type. */
function fillHelp(dialog) {
  const title = el("h2", null, gettext("Presentation keys"));
  title.id = "present-help-title";
  dialog.setAttribute("aria-labelledby", title.id);
  const list = el("dl", "shortcuts present-keys");
  for (const row of PRESENT_KEYS) {
    const dt = el("dt");
    row.shown.forEach((k, i) => {
      if (i) dt.append(" ");
      dt.append(el("kbd", null, k));
    });
    list.append(dt, el("dd", null, row.label));
  }
  const note = el("p", "hint", gettext("A presentation clicker works too: its forward button runs the next step, its back and blank-screen buttons pause."));
  const actions = el("form", "dialog-actions");
  actions.method = "dialog";
  const close = el("button", "btn btn-primary", gettext("Close"));
  close.value = "close";
  actions.append(close);
  dialog.replaceChildren(title, list, note, actions);
}

/** The header's toggle: "⛶ Present", pressed while presenting. */
function makeButton() {
  const button = el("button", "btn btn-present");
  button.type = "button";
  button.id = "btn-present";
  button.setAttribute("aria-keyshortcuts", "P");
  button.append(el("span", "present-glyph", "▣"), el("span", "present-word"));
  button.firstChild.setAttribute("aria-hidden", "true");
  return button;
}

export function createPresentation({ tools, onAction, announce = () => {} }) {
  const root = document.documentElement;
  const button = makeButton();
  tools.insertBefore(button, tools.querySelector("#btn-help"));
  const help = el("dialog", "help present-help");
  help.id = "present-help";
  document.body.append(help);
  fillHelp(help);
  const keys = el("button", "btn btn-present-keys", gettext("? Keys"));
  keys.type = "button";
  keys.title = gettext("The keys of presentation mode (?)");
  keys.setAttribute("aria-haspopup", "dialog");
  tools.insertBefore(keys, button);

  function sync() {
    const on = root.classList.contains(CLASS);
    button.setAttribute("aria-pressed", String(on));
    button.title = on ? gettext("Leave presentation mode (P or Esc)") : gettext("Presentation mode: large type, high contrast, no tool bars (P)");
    button.querySelector(".present-word").textContent = on ? gettext("Exit presentation") : gettext("Present");
  }

  function set(on) {
    if (root.classList.contains(CLASS) === on) return;
    root.classList.toggle(CLASS, on);
    const url = new URL(window.location.href);
    if (on) url.searchParams.set("present", "1");
    else url.searchParams.delete("present");
    window.history.replaceState(window.history.state, "", url);
    if (!on && help.open) help.close();
    sync();
    announce(on ? gettext("Presentation mode: press ? for the keys") : gettext("Presentation mode off"));
  }

  button.addEventListener("click", () => set(!root.classList.contains(CLASS)));
  keys.addEventListener("click", () => help.showModal());
  sync();

  return {
    button,
    help,
    get on() {
      return root.classList.contains(CLASS);
    },
    set,
    toggleHelp() {
      if (help.open) help.close();
      else help.showModal();
    },
    /** Take a key while presenting (true: handled). `p` enters the mode from the normal page. */
    handleKey(e) {
      if (e.defaultPrevented || e.isComposing || focusWants(e)) return false;
      if ([...document.querySelectorAll("dialog[open]")].some((d) => d !== help)) return false; // a dialog keeps its keys
      const action = presentAction(e);
      if (!this.on) {
        if (action === "exit" && e.key !== "Escape") {
          e.preventDefault();
          set(true);
          return true;
        }
        return false;
      }
      if (!action) return false;
      if (help.open && action !== "help" && action !== "exit") return false;
      e.preventDefault();
      if (action === "exit") {
        if (help.open) help.close();
        else set(false);
      } else if (action === "help") {
        this.toggleHelp();
      } else {
        onAction(action);
      }
      return true;
    },
  };
}
