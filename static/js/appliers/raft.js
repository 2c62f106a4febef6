// Keeps etcd members' boxes current between snapshots by applying the raft.* events their
// views summarise (cluster/etcd/member.py emits them with these data fields). Provisional: the
// etcd panel (issue 3) owns this and may replace it; it only uses model.registerApplier.
//
//   raft.role     {role, term, leader}      raft.leader   {leader, term}
//   raft.vote     {term}, target = candidate raft.commit   {commit, term}
//   raft.append   {last}                     raft.truncate {index}
//   raft.restart  {term}

import { registerApplier } from "../model.js";

function patch(model, name, fields) {
  const view = model.components.get(name);
  if (!view) return;
  const next = { ...view };
  let changed = false;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || next[key] === value) continue;
    next[key] = value;
    changed = true;
  }
  if (changed) {
    model.components.set(name, next);
    model.versions.components += 1;
  }
}

const pick = (data, ...keys) => Object.fromEntries(keys.filter((k) => data[k] !== undefined).map((k) => [k, data[k]]));

export function registerRaftAppliers() {
  registerApplier("raft.role", (model, e) => patch(model, e.source, pick(e.data ?? {}, "role", "term", "leader")));
  registerApplier("raft.leader", (model, e) => patch(model, e.source, pick(e.data ?? {}, "leader", "term")));
  registerApplier("raft.vote", (model, e) => patch(model, e.source, { vote: e.target ?? undefined, ...pick(e.data ?? {}, "term") }));
  registerApplier("raft.commit", (model, e) => {
    const d = e.data ?? {};
    const view = model.components.get(e.source);
    // applied follows commit within the same step in the simulation; show it with commit
    patch(model, e.source, { ...pick(d, "commit", "term"), applied: d.commit !== undefined && view && view.applied !== undefined ? d.commit : undefined });
  });
  registerApplier("raft.append", (model, e) => patch(model, e.source, { log_length: e.data?.last }));
  registerApplier("raft.truncate", (model, e) => {
    const index = e.data?.index;
    if (typeof index === "number") patch(model, e.source, { log_length: index - 1 });
  });
  registerApplier("raft.restart", (model, e) => patch(model, e.source, { ...pick(e.data ?? {}, "term"), role: "follower" }));
}
