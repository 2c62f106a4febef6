// Keys, not cookies (the classroom contract): every key is an opaque string the server handed
// out, sent as the header X-Clusterscope-Key (api.js) and as ?key= on the WebSocket (stream.js).
// A browser keeps them in localStorage:
//   clusterscope.keys      {classroom code or cluster name: key}   the presenter's key, a viewer's
//                                                                  key, a sandbox owner's key
//   clusterscope.viewers   {code: {viewer, name}}                  who this browser is in a class
//   clusterscope.forks     {sandbox cluster: code}                 the sandboxes forked here
// Storage may be unavailable (private windows, a locked-down kiosk): then keys live as long as
// the page.

const memory = new Map();

function read(store) {
  try {
    const parsed = JSON.parse(window.localStorage.getItem(store) ?? "{}");
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    return memory.get(store) ?? {};
  }
}

function write(store, id, value) {
  const all = read(store);
  if (value == null) delete all[id];
  else all[id] = value;
  memory.set(store, all);
  try {
    window.localStorage.setItem(store, JSON.stringify(all));
  } catch {
    // kept in memory only
  }
}

export const keyFor = (id) => (typeof read("clusterscope.keys")[id] === "string" ? read("clusterscope.keys")[id] : null);
export const rememberKey = (id, key) => write("clusterscope.keys", id, key);
export const viewerOf = (code) => read("clusterscope.viewers")[code] ?? null;
export const rememberViewer = (code, seat) => write("clusterscope.viewers", code, seat);
export const forkedFrom = (cluster) => read("clusterscope.forks")[cluster] ?? null;
export const rememberFork = (cluster, code) => write("clusterscope.forks", cluster, code);

/** A presenter link carries its key once in the fragment (#key=…, never sent to a server): keep it, then drop it from the address. */
export function takeKeyFromFragment(id) {
  const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  const key = fragment.get("key");
  if (!key) return null;
  rememberKey(id, key);
  window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search);
  return key;
}

/** The sandbox this browser forked from a class, if it remembers one. */
export function sandboxOf(code) {
  const forks = read("clusterscope.forks");
  return Object.keys(forks).find((cluster) => forks[cluster] === code) ?? null;
}
