// Fresh member views between snapshots, from GET /api/clusters/<name>/state.
//
// Some of what a panel draws is not in any event: the random election timeout each Raft
// member draws at a role change, the store revision of members that did not answer a client.
// When the model asks for it (model.etcd.wantRefresh, set by appliers/etcd.js; or
// wantLazyRefresh, a confirmation that may wait LAZY_INTERVAL_MS), this fetches the state, at
// most one request at a time and at most every MIN_INTERVAL_MS of wall time, and
// hands it to `apply(model, state)`, which answers "applied", "stale" or "wait" (the stream
// has not reached that state's seq yet: it is kept and offered again on the next frame).
//
//   const refresher = createRefresher({ model, fetchState: () => api.state(name), apply: applyEtcdRefresh });
//   refresher.tick(performance.now());   // every animation frame
//
// The panels' views (appliers/views.js) use a second refresher: whenever the cluster moved, at
// most every VIEWS_INTERVAL_MS.

export const MIN_INTERVAL_MS = 400;
export const VIEWS_INTERVAL_MS = 1000;
export const LAZY_INTERVAL_MS = 3000; // "now and then" (model.etcd.wantLazyRefresh): a check
const WAIT_LIMIT_MS = 3000; // a state the stream never catches up with is dropped

const wantedNow = (m) => Boolean(m.etcd?.wantRefresh);
const wantedLazily = (m) => Boolean(m.etcd?.wantLazyRefresh);
const clearWants = (m) => {
  if (m.etcd) m.etcd.wantRefresh = m.etcd.wantLazyRefresh = false;
};

export function createRefresher({ model, fetchState, apply, wanted = wantedNow, lazily = wantedLazily, clear = clearWants, interval = MIN_INTERVAL_MS }) {
  let inFlight = false;
  let last = -Infinity;
  let held = null; // {state, since}

  return {
    tick(now) {
      if (held) {
        const outcome = apply(model, held.state);
        if (outcome !== "wait" || now - held.since > WAIT_LIMIT_MS) held = null;
      }
      if (inFlight || held || !model.live || !model.hasSnapshot || model.awaitingSnapshot) return;
      const since = now - last;
      // a large cluster's state is megabytes (cluster/compact.py): a second apart per 1,000 nodes
      const every = interval * Math.max(1, (model.extra?.scale?.compact && model.extra.scale.nodes / 1000) || 1);
      if (!((wanted(model) && since >= every) || (lazily(model) && since >= LAZY_INTERVAL_MS))) return;
      clear(model);
      inFlight = true;
      last = now;
      fetchState()
        .then((state) => {
          held = { state, since: performance.now() };
        })
        .catch(() => {
          // the stream still moves; the next event that needs a refresh asks again
        })
        .finally(() => {
          inFlight = false;
        });
    },
  };
}
