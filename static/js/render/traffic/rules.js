// A node's kube-proxy rules as the page reads them: the text of
// GET /api/clusters/<name>/proxy/<node>/rules (`iptables-save` or `ipvsadm -Ln`), parsed just
// enough to show one Service's path and to number rules as `iptables -L --line-numbers` does
// (the numbers traffic.request's `trace` uses).
//
//   parseIptables(text) -> {nat: {CHAIN: [{num, text, target, probability, comment}]}, filter: {...}}
//   serviceChain(parsed, svcChain) -> [{num, probability, target, endpoint, affinity, text}]  (KUBE-SVC-… rules;
//                                     affinity: the seconds of a sessionAffinity `recent` check)
//   parseIpvs(text) -> [{proto, vip, scheduler, persistent, reals: [{addr, weight, active, inactive}]}]

const TARGET = /\s-j\s+(\S+)/;
const PROBABILITY = /--probability\s+([0-9.]+)/;
const COMMENT = /--comment\s+"([^"]*)"/;
const DNAT_TO = /--to-destination\s+(\S+)/;
const RECENT = /-m recent --rcheck --seconds (\d+)/; // sessionAffinity: ClientIP (the client's last pod, for that long)

export function parseIptables(text) {
  const tables = {};
  let table = null;
  for (const line of String(text ?? "").split("\n")) {
    if (line.startsWith("*")) {
      table = line.slice(1).trim();
      tables[table] = {};
    } else if (table && line.startsWith(":")) {
      tables[table][line.slice(1).split(" ", 1)[0]] ??= [];
    } else if (table && line.startsWith("-A ")) {
      const chain = line.slice(3).split(" ", 1)[0];
      const rules = (tables[table][chain] ??= []);
      rules.push({
        num: rules.length + 1,
        text: line,
        target: TARGET.exec(line)?.[1] ?? null,
        probability: PROBABILITY.test(line) ? Number(PROBABILITY.exec(line)[1]) : null,
        comment: COMMENT.exec(line)?.[1] ?? null,
        to: DNAT_TO.exec(line)?.[1] ?? null,
        affinity: RECENT.test(line) ? Number(RECENT.exec(line)[1]) : null,
      });
    }
  }
  return tables;
}

/** The endpoint a KUBE-SEP chain sends to (its DNAT rule). */
export function sepEndpoint(parsed, sep) {
  return (parsed?.nat?.[sep] ?? []).find((r) => r.to)?.to ?? null;
}

/** A Service chain's rules (KUBE-SVC-… or KUBE-SVL-…): masquerade marks and one jump per endpoint. */
export function serviceChain(parsed, chain) {
  return (parsed?.nat?.[chain] ?? []).map((r) => ({
    num: r.num,
    probability: r.probability,
    target: r.target,
    endpoint: r.target?.startsWith("KUBE-SEP-") ? sepEndpoint(parsed, r.target) : null,
    affinity: r.affinity,
    text: r.text,
  }));
}

/** The probability the nth endpoint jump really gets: p_k times what the earlier ones left
 * (for a client no affinity rule has seen yet: those rules come first and are skipped). */
export function effectiveShares(rules) {
  let left = 1;
  const out = new Map();
  for (const r of rules) {
    if (!r.endpoint || r.affinity != null) continue;
    const p = r.probability ?? 1;
    out.set(r.num, left * p);
    left *= 1 - p;
  }
  return out;
}

export function parseIpvs(text) {
  const services = [];
  for (const line of String(text ?? "").split("\n")) {
    const vs = /^(TCP|UDP|SCTP)\s+(\S+)\s+(\w+)(?:\s+persistent\s+(\d+))?/.exec(line);
    if (vs) {
      services.push({ proto: vs[1], vip: vs[2], scheduler: vs[3], persistent: vs[4] ? Number(vs[4]) : null, reals: [] });
      continue;
    }
    const real = /^\s+->\s+(\d\S*)\s+(\w+)\s+(\d+)\s+(\d+)\s+(\d+)/.exec(line);
    if (real && services.length) services[services.length - 1].reals.push({ addr: real[1], weight: Number(real[3]), active: Number(real[4]), inactive: Number(real[5]) });
  }
  return services;
}

/** Short chain names for the stage: KUBE-SVC-LOLE4ISW44XBNF3G -> KUBE-SVC-LOLE4… */
export function shortChain(name) {
  const s = String(name ?? "");
  const m = /^(KUBE-(?:SVC|SVL|SEP|EXT|FW)-)(\w{5})\w+$/.exec(s);
  return m ? `${m[1]}${m[2]}…` : s;
}

export function formatShare(p) {
  if (p == null || !Number.isFinite(p)) return "";
  return `${(p * 100).toFixed(p * 100 < 10 ? 1 : 0)} %`;
}
