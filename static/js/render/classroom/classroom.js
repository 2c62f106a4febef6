// Classrooms on the cluster page (issue 9, item 6; REST in dashboard/views/classrooms.py).
//
//   const classroom = createClassroom({ name, tools, announce, showNotice });
//   classroom.ready                 resolves once this page knows its key (a viewer has joined):
//                                   the stream opens after it, with classroom.streamParams()
//   classroom.take(frame)           a {"type": "classroom"} frame from the stream
//   classroom.lesson                what the lesson panel needs: {presenter, next(ctx, body)}
//   classroom.canStep() / next()    the lesson's next step from this page (presenter, controller)
//
// Who is who (the page's `classroom` script, from dashboard/views/pages.py):
//   /c/<code>/present  {code, role: "presenter"}  the classroom bar (presenter.js); the key comes
//                      from `#key=` once (then leaves the address) or from localStorage
//   /c/<code>          {code, role: "audience"}   joins as a viewer (its key and viewer id kept in
//                      localStorage), follows read-only, forks, acts when handed control (audience.js)
//   /clusters/<name>/  no script: an open cluster gets "Teach this cluster"; a sandbox this
//                      browser forked gets a line back to its class
// Keys: keys.js. Writes from a read-only page are refused at once with the reason (api.js).

import { api, setReadOnly, useKey } from "../../api.js";
import { currentLanguage, gettext, interpolate } from "../../i18n.js";
import { forkedFrom, keyFor, rememberKey, rememberViewer, takeKeyFromFragment, viewerOf } from "../../keys.js";
import { createAudienceBar } from "./audience.js";
import { button, el } from "./dom.js";
import { createPresenterBar } from "./presenter.js";

const POLL_MS = 5000; // the stream's frames carry every change; this only heals a missed one

/** {code, role} from the page, or null. */
export function classroomOfPage(doc = document) {
  const script = doc.getElementById("classroom");
  if (!script) return null;
  const data = JSON.parse(script.textContent);
  return data && typeof data.code === "string" ? { code: data.code, role: data.role === "presenter" ? "presenter" : "audience" } : null;
}

export function createClassroom({ name, tools, announce, showNotice }) {
  const page = classroomOfPage();
  const root = document.documentElement;
  let state; // the GET /api/classrooms/<code> body; null once the class has ended
  let seat = null; // {viewer, name} on the audience page
  let key = null;
  let view = null; // the bar: {show(state)}
  let timer = null;

  // --- an open cluster or a sandbox: no class on this page --------------------------------------
  if (!page) {
    key = keyFor(name);
    useKey(key);
    const source = forkedFrom(name);
    if (source) sandboxLine(source);
    else teachButton({ name, tools, showNotice });
    return {
      ready: Promise.resolve(),
      role: null,
      lesson: null,
      streamParams: () => ({ key }),
      take() {},
      canStep: () => false,
      next: async () => false,
    };
  }

  // --- a class ------------------------------------------------------------------------------
  const code = page.code;
  const bar = el("section", `classroom-bar card role-${page.role}`);
  bar.id = "classroom-bar";
  bar.setAttribute("aria-label", interpolate(gettext("Class %(code)s"), { code }));
  document.querySelector(".topbar").after(bar);
  document.body.classList.add("classroom-on");

  async function start() {
    if (page.role === "presenter") {
      key = takeKeyFromFragment(code) ?? keyFor(code);
      useKey(key);
      view = createPresenterBar({ bar, code, name, api, announce, showNotice, refresh: () => poll() });
      if (!key) view.problem(gettext("This browser has no presenter key for this class: open the presenter link in the browser that started the class."));
      return;
    }
    seat = viewerOf(code);
    key = keyFor(code);
    if (!seat || !key) {
      try {
        const wanted = new URLSearchParams(window.location.search).get("name") ?? "";
        const joined = await api.joinClassroom(code, { name: wanted.slice(0, 40) });
        seat = { viewer: joined.viewer, name: joined.name };
        key = joined.key;
        rememberKey(code, key);
        rememberViewer(code, seat);
      } catch (err) {
        showNotice(interpolate(gettext("Could not join class %(code)s: %(error)s"), { code, error: err.message }), { sticky: true });
      }
    }
    useKey(key);
    view = createAudienceBar({ bar, code, name, seat, key: () => key, api, announce, showNotice });
  }

  /** Read-only unless this page may change the cluster: the presenter, or the viewer handed control. */
  function applyRole() {
    const mine = page.role === "presenter" ? Boolean(key) : Boolean(state && seat && state.controller === seat.viewer);
    const ended = state === null;
    const reason = mine || ended ? null : gettext("Read-only: the presenter drives this cluster. Fork your own copy to try things.");
    setReadOnly(name, reason);
    root.classList.toggle("classroom-readonly", Boolean(reason));
    root.dataset.classroomRole = page.role === "presenter" ? "presenter" : mine ? "controller" : "audience";
  }

  function show(next) {
    state = next;
    applyRole();
    view?.show(state);
  }

  async function poll() {
    clearTimeout(timer);
    try {
      show(await api.classroom(code));
    } catch (err) {
      if (err.status === 404) {
        show(null);
        return; // the class has ended: nothing more to follow
      }
    }
    timer = setTimeout(poll, POLL_MS);
  }

  const started = start(); // a presenter's key is known at once; a viewer's after joining
  applyRole(); // read-only from the first frame for the audience, before the class's state arrives
  const ready = started.then(() => poll());

  return {
    ready,
    role: page.role,
    code,
    lesson: {
      presenter: page.role === "presenter",
      /** the lesson's Next through the class (it tells every viewer), else the run itself */
      next: (ctx, body) => (state?.run ? api.classroomStep(code, body) : api.nextLessonStep(ctx.scenario, ctx.run, body)),
    },
    streamParams: () => ({ key, viewer: seat?.viewer }),
    take(frame) {
      if (frame.classroom) show(frame.classroom);
      else if (frame.ended === code) show(null);
    },
    canStep: () => Boolean(state?.run) && root.dataset.classroomRole !== "audience",
    async next() {
      if (!this.canStep()) return false;
      try {
        await api.classroomStep(code, {});
        return true;
      } catch (err) {
        showNotice(interpolate(gettext("Could not run the next step: %(error)s"), { error: err.message }));
        return false;
      }
    },
  };
}

// --- the pages without a class ------------------------------------------------------------------
/** "Teach this cluster": a class on this open cluster, then its presenter page. */
function teachButton({ name, tools, showNotice }) {
  const teach = button(gettext("Teach this cluster"), "btn-teach", async () => {
    teach.disabled = true;
    try {
      const created = await api.createClassroom({ cluster: name, lang: currentLanguage() });
      rememberKey(created.code, created.presenter_key);
      window.location.assign(created.presenter_url);
    } catch (err) {
      teach.disabled = false;
      showNotice(interpolate(gettext("Could not start a class: %(error)s"), { error: err.message }));
    }
  });
  teach.title = gettext("Start a class on this cluster: a join code and a QR code for the audience, who follow it live and read-only");
  tools.insertBefore(teach, tools.firstChild);
}

/** A sandbox this browser forked: whose it is, and the way back to the class. */
function sandboxLine(source) {
  const line = el("p", "sandbox-line");
  line.setAttribute("role", "note");
  line.append(el("strong", null, `⎇ ${gettext("Your own copy")}`), document.createTextNode(" "),
    document.createTextNode(interpolate(gettext("of class %(code)s: only this browser can change it; the class's cluster is not touched."), { code: source })), document.createTextNode(" "));
  const back = el("a", null, interpolate(gettext("Back to class %(code)s"), { code: source }));
  back.href = `/c/${encodeURIComponent(source)}`;
  line.append(back);
  document.querySelector(".topbar").after(line);
}
