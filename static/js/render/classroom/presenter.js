// The presenter's classroom bar: the join code in big type, the QR code and the address, the
// live viewer count and the viewer list (hand control, take it back, their sandboxes), lock
// destructive actions, allow forks, the lesson's next step, end the class.
//
//   const view = createPresenterBar({ bar, code, name, api, announce, showNotice, refresh });
//   view.show(state)      // the GET /api/classrooms/<code> body (null: the class has ended)
//   view.problem(text)    // a line that says what is wrong (no presenter key)
//
// The count comes with every classroom frame; the list (names, who is connected, sandboxes) is
// presenter-only REST (GET …/viewers), fetched when the count or the controller changes and
// every few seconds while the list is open.

import { gettext, interpolate, ngettext } from "../../i18n.js";
import { button, el, joinUrl, setText, toggle } from "./dom.js";

const LIST_POLL_MS = 4000;

export function createPresenterBar({ bar, code, name, api, announce, showNotice, refresh }) {
  let state = null;
  let viewers = [];
  let listKey = "";
  let listTimer = null;

  // the join block: QR (a button: shows it large), the code, the address
  const qrUrl = `/api/classrooms/${encodeURIComponent(code)}/qr.svg`;
  const qrButton = el("button", "cr-qr-button");
  qrButton.type = "button";
  qrButton.title = gettext("Show the join code and QR code large");
  const qr = el("img", "cr-qr");
  qr.src = qrUrl;
  qr.alt = interpolate(gettext("QR code of %(url)s"), { url: joinUrl(code) });
  qrButton.append(qr);
  const join = el("div", "cr-join");
  const url = el("a", "cr-url", joinUrl(code).replace(/^https?:\/\//, ""));
  url.href = joinUrl(code);
  url.target = "_blank";
  join.append(el("span", "cr-kicker", gettext("Join the class")), el("span", "cr-code", code), url);

  // viewers: the live count and the list
  const people = el("div", "cr-people");
  const count = el("p", "cr-count");
  count.setAttribute("role", "status");
  count.setAttribute("aria-live", "polite");
  const control = el("p", "cr-control");
  const list = el("details", "cr-list");
  const summary = el("summary", null, gettext("Viewers"));
  const rows = el("ol", "cr-viewers");
  list.append(summary, rows);
  list.addEventListener("toggle", () => list.open && loadViewers());
  people.append(count, control, list);

  // the switches and actions
  const actions = el("div", "cr-actions");
  const lock = toggle(gettext("Lock destructive actions"), "cr-lock", (on, input) => patch({ locked: on }, input));
  lock.label.title = gettext("Only you may crash, delete or partition; the class's cluster also rate-limits them");
  const forks = toggle(gettext("Allow forks"), "cr-forks", (on, input) => patch({ forks_allowed: on }, input));
  forks.label.title = gettext("Viewers may fork their own copy of the cluster at the current moment");
  const next = button(gettext("Next step ▶"), "btn-primary cr-next", () => nextStep());
  next.hidden = true;
  const end = button(gettext("End class"), "btn-danger cr-end", () => endClass());
  end.title = gettext("End the class: the cluster becomes open again; sandboxes stay their viewers'");
  actions.append(lock.label, forks.label, next, end);
  const problem = el("p", "cr-problem");
  problem.hidden = true;
  bar.replaceChildren(qrButton, join, people, actions, problem);

  // the join code, large (for the room: a projector's back row reads it)
  const big = el("dialog", "help cr-big");
  big.setAttribute("aria-label", interpolate(gettext("Join class %(code)s"), { code }));
  const bigQr = el("img", "cr-big-qr");
  bigQr.src = qrUrl;
  bigQr.alt = qr.alt;
  const bigClose = el("form", "dialog-actions");
  bigClose.method = "dialog";
  const closeButton = el("button", "btn btn-primary", gettext("Close"));
  closeButton.value = "close";
  bigClose.append(closeButton);
  big.append(el("p", "cr-kicker", gettext("Join the class")), el("p", "cr-big-code", code), bigQr, el("p", "cr-big-url", joinUrl(code)), bigClose);
  document.body.append(big);
  qrButton.addEventListener("click", () => big.showModal());

  async function patch(body, input) {
    input.disabled = true;
    try {
      show(await api.patchClassroom(code, body));
    } catch (err) {
      showNotice(interpolate(gettext("Could not change the class: %(error)s"), { error: err.message }));
      refresh();
    } finally {
      input.disabled = false;
    }
  }

  async function nextStep() {
    const lessonNext = document.querySelector(".lesson-next");
    if (lessonNext && !lessonNext.disabled) {
      lessonNext.click(); // the panel's Next sends the class's prediction with it
      return;
    }
    next.disabled = true;
    try {
      await api.classroomStep(code, {});
      announce(gettext("The next step runs"));
    } catch (err) {
      showNotice(interpolate(gettext("Could not run the next step: %(error)s"), { error: err.message }));
    } finally {
      next.disabled = false;
    }
  }

  async function endClass() {
    if (!end.classList.contains("confirming")) {
      end.classList.add("confirming");
      end.textContent = gettext("End class? Click again");
      setTimeout(() => {
        end.classList.remove("confirming");
        end.textContent = gettext("End class");
      }, 4000);
      return;
    }
    end.disabled = true;
    try {
      await api.endClassroom(code);
      window.location.assign(`/clusters/${encodeURIComponent(name)}/`);
    } catch (err) {
      end.disabled = false;
      showNotice(interpolate(gettext("Could not end the class: %(error)s"), { error: err.message }));
    }
  }

  async function handControl(viewer) {
    try {
      show(await api.patchClassroom(code, { controller: viewer }));
      announce(viewer ? interpolate(gettext("%(who)s has control"), { who: nameOf(viewer) }) : gettext("You have control again"));
    } catch (err) {
      showNotice(interpolate(gettext("Could not hand over control: %(error)s"), { error: err.message }));
    }
  }

  function nameOf(viewer) {
    const v = viewers.find((x) => x.viewer === viewer);
    return v?.name ? `${v.name} (${viewer})` : interpolate(gettext("viewer %(id)s"), { id: viewer });
  }

  async function loadViewers() {
    clearTimeout(listTimer);
    try {
      viewers = (await api.viewers(code)).viewers ?? [];
      drawList();
    } catch {
      // the count still comes with the stream; the list waits for the next try
    }
    if (list.open) listTimer = setTimeout(loadViewers, LIST_POLL_MS);
  }

  function drawList() {
    const key = JSON.stringify([viewers, state?.controller]);
    if (key === listKey) return;
    listKey = key;
    rows.replaceChildren();
    if (viewers.length === 0) rows.append(el("li", "hint", gettext("Nobody has joined yet.")));
    for (const v of viewers) {
      const li = el("li", "cr-viewer");
      li.dataset.viewer = v.viewer;
      li.dataset.connected = String(v.connected);
      const who = el("span", "cr-who");
      who.append(el("span", "cr-online", v.connected ? `● ${gettext("here")}` : `○ ${gettext("away")}`), document.createTextNode(` ${v.name || interpolate(gettext("viewer %(id)s"), { id: v.viewer })}`));
      li.append(who);
      if (v.sandbox) {
        const a = el("a", "cr-sandbox", `⎇ ${v.sandbox}`);
        a.href = `/clusters/${encodeURIComponent(v.sandbox)}/`;
        a.target = "_blank";
        a.title = gettext("Their own copy: open it to show the class");
        li.append(a);
      }
      const has = state?.controller === v.viewer;
      const b = button(has ? gettext("Take back") : gettext("Hand control"), `btn-small ${has ? "cr-take" : "cr-hand"}`, () => handControl(has ? null : v.viewer));
      b.setAttribute("aria-label", has ? interpolate(gettext("Take control back from %(who)s"), { who: nameOf(v.viewer) }) : interpolate(gettext("Hand control to %(who)s"), { who: nameOf(v.viewer) }));
      li.append(b);
      rows.append(li);
    }
  }

  function show(next_) {
    const before = state;
    state = next_;
    if (state === null) {
      problemLine(gettext("This class has ended: the cluster is open again."));
      for (const c of [lock.input, forks.input, next, end]) c.disabled = true;
      return;
    }
    setText(count, `◉ ${interpolate(ngettext("%(n)s viewer", "%(n)s viewers", state.viewers), { n: state.viewers })}`);
    count.dataset.viewers = String(state.viewers);
    lock.input.checked = state.locked;
    forks.input.checked = state.forks_allowed;
    next.hidden = !state.run;
    if (state.controller) {
      control.replaceChildren(el("span", "cr-has", `☛ ${interpolate(gettext("%(who)s has control"), { who: nameOf(state.controller) })}`),
        button(gettext("Take back"), "btn-small cr-take", () => handControl(null)));
    } else {
      control.replaceChildren(el("span", "hint", gettext("You have control")));
    }
    control.dataset.controller = state.controller ?? "";
    if (!before || before.viewers !== state.viewers || before.controller !== state.controller || list.open) loadViewers();
    else drawList();
  }

  function problemLine(text) {
    problem.textContent = `✕ ${text}`;
    problem.hidden = false;
  }

  return { show, problem: problemLine };
}
