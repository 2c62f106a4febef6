// The browser's half of Django's translations (locale/<lang>/LC_MESSAGES/djangojs.po).
//
//   import { gettext, ngettext, interpolate } from "./i18n.js";
//   el.textContent = gettext("Worker nodes");
//   el.textContent = interpolate(ngettext("%(n)s pod", "%(n)s pods", n), { n });
//
// Write every msgid as a literal first argument: `manage.py makemessages -d djangojs` finds
// them by reading the source, not by running it.
//
// The page's language is the one the server rendered it in (<html lang>: the `django_language`
// cookie, else the browser's Accept-Language, and a `?lang=` in the address wins for kiosk links
// and screenshots; dashboard/i18n.py). The catalogue comes from Django's JSONCatalog view at
// /jsi18n/ once, before any module that imports this one runs (top-level await), so strings
// computed at a module's top level are translated too. English needs no catalogue: the msgids
// are the English text. A catalogue that fails to load leaves the page in English.

const root = document.documentElement;

/** The languages the UI speaks, as the server names them in `?lang=` (settings.LANGUAGES). */
export const LANGUAGES = [
  { code: "en", label: "English" },
  { code: "zh-Hans", label: "简体中文" },
];

/** `zh-hans`, `zh_Hans`, `zh-CN`… → "zh-Hans"; anything else → "en". */
export function normalizeLanguage(code) {
  const c = String(code ?? "").toLowerCase().replace("_", "-");
  return c === "zh" || c.startsWith("zh-hans") || c === "zh-cn" || c === "zh-sg" ? "zh-Hans" : "en";
}

/** The page's language: "en" or "zh-Hans". */
export function currentLanguage() {
  return normalizeLanguage(root.lang);
}

let catalog = {};
let pluralIndex = (n) => (n === 1 ? 0 : 1);

// Plural-Forms without eval (the page's CSP forbids it): the two rules our languages use.
function pluralRule(expression) {
  const e = String(expression ?? "").replace(/\s+/g, "");
  if (e === "0") return () => 0; // Chinese: one form
  if (e === "n!=1" || e === "(n!=1)") return (n) => (n === 1 ? 0 : 1);
  if (e === "n>1" || e === "(n>1)") return (n) => (n > 1 ? 1 : 0);
  if (expression != null) console.warn("i18n: unknown plural rule", expression);
  return (n) => (n === 1 ? 0 : 1);
}

/** The translation of msgid, or msgid itself. */
export function gettext(msgid) {
  const t = catalog[msgid];
  if (t == null) return msgid;
  return typeof t === "string" ? t : t[0] || msgid;
}

/** The form of singular/plural for n. */
export function ngettext(singular, plural, n) {
  const t = catalog[singular];
  if (Array.isArray(t)) {
    const form = t[pluralIndex(n)];
    if (form) return form;
  } else if (typeof t === "string" && t) {
    return t;
  }
  return n === 1 ? singular : plural;
}

/** gettext with a context (msgctxt), for a word that translates differently in two places. */
export function pgettext(context, msgid) {
  const t = catalog[`${context}\x04${msgid}`];
  if (t == null) return msgid;
  return typeof t === "string" ? t : t[0] || msgid;
}

/** Django's interpolate: `%(name)s` from an object, or `%s` in order from an array. */
export function interpolate(text, values) {
  if (Array.isArray(values)) {
    let i = 0;
    return text.replace(/%s/g, () => String(values[i++]));
  }
  return text.replace(/%\((\w+)\)s/g, (whole, key) => (values && key in values ? String(values[key]) : whole));
}

// --- the language switch (templates/dashboard/_language_switch.html) -------------------------------
// The choice is Django's `django_language` cookie, written by its set_language view (the form),
// and a copy in localStorage: a browser whose cookie was cleared gets its choice back.
const STORE = "clusterscope.lang";
const COOKIE = "django_language";

function remembered() {
  try {
    return localStorage.getItem(STORE);
  } catch {
    return null; // storage disabled: the cookie alone remembers
  }
}

function remember(code) {
  try {
    localStorage.setItem(STORE, code);
  } catch {
    // the cookie still remembers
  }
}

/** Once per tab: a remembered choice the server did not get (no cookie) is sent back, and the page reloaded. */
function restoreChoice() {
  if (new URLSearchParams(location.search).has("lang")) return false; // a kiosk link's language, not a choice
  const hasCookie = document.cookie.split(/;\s*/).some((c) => c.startsWith(`${COOKIE}=`));
  const stored = remembered();
  if (hasCookie || !stored) {
    if (hasCookie) remember(currentLanguage());
    return false;
  }
  if (normalizeLanguage(stored) === currentLanguage()) return false;
  document.cookie = `${COOKIE}=${normalizeLanguage(stored).toLowerCase()}; path=/; max-age=31536000; samesite=lax`;
  try {
    if (sessionStorage.getItem(STORE)) return false; // tried already: the cookie did not stick
    sessionStorage.setItem(STORE, "restored");
  } catch {
    return false;
  }
  location.reload();
  return true;
}

/** The header's select: a change is remembered and sent to set_language, which reloads the page. */
function bindSwitch() {
  const form = document.getElementById("lang-switch");
  if (!form || form.dataset.bound) return;
  form.dataset.bound = "true";
  const select = form.querySelector("select");
  form.querySelector(".lang-go")?.setAttribute("hidden", ""); // without script the button submits
  select.addEventListener("change", () => {
    remember(normalizeLanguage(select.value));
    const back = new URL(location.href);
    back.searchParams.delete("lang"); // else the address would overrule the choice
    form.elements.next.value = back.pathname + back.search + back.hash;
    form.requestSubmit();
  });
}

async function load() {
  if (restoreChoice()) return;
  bindSwitch();
  const lang = currentLanguage();
  if (lang === "en") return;
  try {
    const response = await fetch(`/jsi18n/?lang=${encodeURIComponent(lang)}`, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = await response.json();
    catalog = body.catalog ?? {};
    pluralIndex = pluralRule(body.plural);
  } catch (err) {
    console.warn("i18n: the catalogue did not load; the page stays in English", err);
  }
}

/** Resolved once the catalogue is in (already so for any module that imports this one). */
export const ready = load();
await ready;
